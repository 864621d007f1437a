"""The claims table is consistent with the studies, and `check` gives the verdicts worked out by hand."""

import collections
import dataclasses
import math

import pytest

from el_jax.studies import claims
from el_jax.studies.claims import CLAIMS, Claim, check

LOWER_IS_BETTER = ("nll", "ece", "mean_energy", "fpr95_msp", "fpr95_max_logit")


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
    assert {claim.treatment, claim.baseline} <= set(claims.PROBE_LABELS)


def test_studies_define_the_briefed_labels():
  assert claims.STUDY_LABELS["fashion_mnist"] == (
    "ce",
    "el_le0.5",
    "el_le0.75",
    "el_le1",
    "mix_f0",
    "mix_f0_05",
    "mix_f0_to_05",
    "focal",
    "hem",
    "mm",
    "logit_norm",
  )
  assert set(claims.STUDY_LABELS["uci"]) == {"ce", "mix_f0", "mix_f0_05", "mix_f0_to_05", "expectation", "focal"}
  assert set(claims.STUDY_LABELS["long_tail"]) == {"ce", "logit_adjusted", "hem", "hem_plus", "el_aggressive"}
  extra = set(claims.STUDY_LABELS["el_analyses"]) - set(claims.STUDY_LABELS["fashion_mnist"])
  assert extra == {"ce_half_lr", "el_le1_half_lr"}


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
    ({"treatment": "hem_plus"}, "no loss label 'hem_plus'"),
    ({"baseline": "el_le1"}, "two losses"),
    ({"models": ("resnet",)}, "no model or group"),
  ],
)
def test_bad_claim_is_rejected(changes, message):
  with pytest.raises(ValueError, match=message):
    _claim(**changes)


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


def test_fashion_mnist_study_trains_every_loss_on_every_model():
  from configs.studies import fashion_mnist

  study = fashion_mnist.get_study()
  cells = collections.Counter((run.labels["model"], run.labels["loss"]) for run in study.runs)
  models, losses = claims.STUDY_MODELS["fashion_mnist"], claims.STUDY_LABELS["fashion_mnist"]
  assert cells == {(m, loss): 3 for m in models for loss in losses}
  for run in study.runs:  # HEM's MNIST recipe: Adam 1e-3, batch 128, 20 epochs
    assert (run.config.optimizer.name, run.config.optimizer.learning_rate) == ("adam", 1e-3)
    assert (run.config.batch_size, run.config.num_epochs) == (128, 20)
    expected = 3_000 if run.labels["model"] == "convnet" else 10_000
    assert run.config.dataset.train_subset == expected
