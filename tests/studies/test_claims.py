"""The claims compare what the study configs train, and `check` gives the verdicts worked out by hand."""

import collections
import dataclasses
import importlib
import math

import pytest

from el_jax.studies import claims
from el_jax.studies.claims import CLAIMS, Claim, check

LOWER_IS_BETTER = ("nll", "ece", "mean_energy", "fpr95_msp", "fpr95_max_logit")
STUDIES = ("fashion_mnist", "uci", "long_tail", "el_analyses")  # configs/studies/<name>.py


def _claim(**changes):
  base = Claim(
    paper="encouraging_loss",
    statement="test",
    source="Table 1",
    study="fashion_mnist",
    metric="accuracy",
    treatment="el_le1",
    baseline="ce",
    higher_is_better=True,
  )
  return dataclasses.replace(base, **changes)


def _ids(claim):
  return f"{claim.paper}:{claim.study}:{claim.metric}:{claim.treatment}-vs-{claim.baseline}:{'+'.join(claim.models)}"


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_claim_names_known_metric_labels_and_models(claim):
  assert claim.paper in claims.PAPERS
  assert claim.metric in claims.METRICS
  assert claim.treatment in claims.STUDY_LABELS[claim.study]
  assert claim.baseline in claims.STUDY_LABELS[claim.study]
  assert claim.treatment != claim.baseline
  assert set(claim.models) <= set(claims.STUDY_MODELS[claim.study])
  assert claim.statement.strip() and claim.source.strip()


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_direction_matches_metric(claim):
  # Claims that a method is worse are written with the winner as treatment, so direction follows the metric.
  assert claim.higher_is_better == (claim.metric not in LOWER_IS_BETTER)


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_claim_fits_what_its_study_measures(claim):
  if claim.study == "uci":
    assert claim.metric == "accuracy"
  if claim.metric in claims.SHOT_METRICS:
    assert claim.study == "long_tail"
  if claim.metric in ("medium_shot", "few_shot"):
    assert claim.models == ("ratio100",)  # ratio 10 keeps >= 100 images per class
  if claim.metric == "probe_accuracy":
    assert claim.study in ("el_analyses", "fashion_mnist")


# ---- Claims against the runs the study configs build ---------------------------------------------------------------


def _trained(study) -> dict:
  """`{(model or group, loss label): evaluation options}` of what `study` trains, with its seeds under "seeds"."""
  if study.uci is not None:
    sweep = study.uci
    return {(network, label): {"seeds": sweep.seeds} for network in sweep.networks for label in sweep.losses}
  cells = {}
  for run in study.runs:
    group = run.labels["imbalance"] if study.name == "long_tail" else run.labels["model"]
    cell = cells.setdefault((group, run.labels["loss"]), dict(run.evaluation, seeds=()))
    cell["seeds"] += (run.seed,)
  return cells


def _trained_by_study(tiny: bool) -> dict:
  arg = "tiny" if tiny else None
  return {name: _trained(importlib.import_module(f"configs.studies.{name}").get_study(arg)) for name in STUDIES}


def _compared(trained: dict, study: str) -> dict:
  """What a claim of `study` compares: el_analyses' claims also read study (a)'s runs, as the report does."""
  return trained["fashion_mnist"] | trained["el_analyses"] if study == "el_analyses" else trained[study]


@pytest.fixture(scope="module")
def trained():
  return _trained_by_study(tiny=False)


def _comparisons(claim):
  models = claim.models or claims.STUDY_MODELS[claim.study]
  return [(model, label) for model in models for label in (claim.treatment, claim.baseline)]


@pytest.mark.parametrize("claim", CLAIMS, ids=_ids)
def test_every_comparison_has_runs_behind_it(claim, trained):
  # Each (model, loss) the report sets side by side is trained for the claim's study, with seeds for an error bar.
  runs = _compared(trained, claim.study)
  for cell in _comparisons(claim):
    assert cell in runs, f"{claim.study} trains no {cell}"
    assert len(runs[cell]["seeds"]) >= 2


def test_claim_models_are_the_groups_each_study_trains(trained):
  # A claim without `models` covers exactly what its study trains: no model is left out of the verdicts.
  for study in STUDIES:
    assert set(claims.STUDY_MODELS[study]) == {model for model, _ in trained[study]}, study


def test_claim_labels_are_the_losses_each_study_trains(trained):
  # A loss label a claim may name is one the study trains; el_analyses adds study (a)'s LeNet losses.
  for study in STUDIES:
    assert set(claims.STUDY_LABELS[study]) == {loss for _, loss in _compared(trained, study)}, study


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.metric == "probe_accuracy"], ids=_ids)
def test_probe_claims_compare_runs_that_get_the_probe(claim, trained):
  runs = _compared(trained, claim.study)
  for cell in _comparisons(claim):
    assert runs[cell]["probe"], f"{cell} is trained without the linear probe"


def test_the_tiny_studies_leave_some_claim_to_check():
  # `reproduce.py --tiny` checks the pipeline up to the verdicts: at least one claim must have both sides trained.
  tiny = _trained_by_study(tiny=True)
  assert any(all(cell in _compared(tiny, c.study) for cell in _comparisons(c)) for c in CLAIMS)


def test_every_paper_has_claims_and_notes():
  counts = collections.Counter(c.paper for c in CLAIMS)
  assert set(counts) == set(claims.PAPERS)
  assert all(n >= 8 for n in counts.values()), counts
  assert set(claims.CLAIM_NOTES) == set(claims.PAPERS)
  assert all(note.strip() for note in claims.CLAIM_NOTES.values())


def test_no_claim_is_listed_twice():
  keys = [(c.study, c.metric, c.treatment, c.baseline, c.models) for c in CLAIMS]
  assert len(keys) == len(set(keys))


def test_table2_half_learning_rate_claims_are_present():
  pairs = {(c.treatment, c.baseline) for c in CLAIMS if c.study == "el_analyses" and c.metric == "accuracy"}
  assert {("el_le1_half_lr", "el_le1"), ("el_le1_half_lr", "ce_half_lr")} <= pairs


def test_energy_claims_expect_lower_energy_for_el():
  energy = [c for c in CLAIMS if c.metric == "mean_energy"]
  assert energy and all(c.baseline == "ce" and c.treatment.startswith("el_") and not c.higher_is_better for c in energy)


@pytest.mark.parametrize(
  "changes, message",
  [
    ({"metric": "top1"}, "Unknown metric"),
    ({"paper": "focal"}, "Unknown paper"),
    ({"study": "cifar"}, "Unknown study"),
    ({"treatment": "hem_plus"}, "no loss label 'hem_plus'"),  # long_tail's
    ({"treatment": "el_le1_half_lr"}, "no loss label 'el_le1_half_lr'"),  # el_analyses'
    ({"study": "el_analyses", "treatment": "hem_plus"}, "no loss label 'hem_plus'"),
    ({"study": "uci", "treatment": "el_le1"}, "no loss label 'el_le1'"),
    ({"baseline": "el_le1"}, "two losses"),
    ({"models": ("resnet",)}, "no model or group"),
    ({"models": ("linear",)}, "no model or group"),  # uci's
    ({"study": "el_analyses", "models": ("mlp",)}, "no model or group"),
    ({"study": "long_tail", "treatment": "hem_plus", "models": ("ratio50",)}, "no model or group"),
  ],
)
def test_bad_claim_is_rejected(changes, message):
  with pytest.raises(ValueError, match=message):
    _claim(**changes)


def test_el_analyses_claims_may_compare_study_a_lenet_runs():
  _claim(study="el_analyses", treatment="el_le1_half_lr", baseline="el_le0.75", models=("lenet",))  # no error


def test_claim_is_frozen():
  with pytest.raises(dataclasses.FrozenInstanceError):
    _claim().metric = "nll"


def test_check_holds():
  # mean 2 - 0 = 2; var_t = 1 (ddof=1), var_b = 0: SE = sqrt(1/3) ~ 0.577 < 1.
  result = check(_claim(), [1, 2, 3], [0, 0, 0])
  assert result["difference"] == pytest.approx(2.0)
  assert result["standard_error"] == pytest.approx(math.sqrt(1 / 3))
  assert result["verdict"] == "holds"


def test_check_contradicted_when_lower_is_better():
  # ECE: treatment mean 2 above baseline mean 0 is worse, so the signed difference is -2 < -2 SE.
  result = check(_claim(metric="ece", higher_is_better=False), [1, 2, 3], [0, 0, 0])
  assert result["difference"] == pytest.approx(-2.0)
  assert result["standard_error"] == pytest.approx(math.sqrt(1 / 3))
  assert result["verdict"] == "contradicted"


def test_check_lower_is_better_holds():
  # Energy -10 against -4: lower for the treatment, difference +6; SE = sqrt(1/3 + 1/3) ~ 0.816.
  result = check(_claim(metric="mean_energy", higher_is_better=False), [-11, -10, -9], [-5, -4, -3])
  assert result["difference"] == pytest.approx(6.0)
  assert result["standard_error"] == pytest.approx(math.sqrt(2 / 3))
  assert result["verdict"] == "holds"


def test_check_not_significant():
  # difference 1, SE = sqrt(1/3) ~ 0.577: 2 SE ~ 1.155 > 1.
  result = check(_claim(), [1, 2, 3], [1, 1, 1])
  assert result["difference"] == pytest.approx(1.0)
  assert result["verdict"] == "not significant"


def test_check_unequal_seed_counts():
  # var_t = 2 with n_t = 2, var_b = 0 with n_b = 4: SE = sqrt(2/2) = 1.
  low = check(_claim(), [0, 2], [0, 0, 0, 0])
  assert low["standard_error"] == pytest.approx(1.0)
  assert low["verdict"] == "not significant"  # difference 1 < 2
  high = check(_claim(), [2, 4], [0, 0, 0, 0])
  assert high["difference"] == pytest.approx(3.0)
  assert high["verdict"] == "holds"  # difference 3 > 2


def test_check_single_seed():
  result = check(_claim(), [0.9], [0.8, 0.85])
  assert result["difference"] == pytest.approx(0.075)
  assert math.isnan(result["standard_error"])
  assert result["verdict"] == "not significant (n=1)"


def test_check_rejects_empty_values():
  with pytest.raises(ValueError, match="at least one value"):
    check(_claim(), [], [0.5, 0.6])
