"""Parallel text for machine translation: fairseq's prepared IWSLT sets, and synthetic stand-ins of their shape.

`load(dataset, split, **options)` (`el_jax.data.load("translation:<dataset>", split, ...)`) returns a `Source` whose
record `i` is
  source      int32 `[max_source_length]`: the source sentence's ids, then EOS, then padding (0)
  target_in   int32 `[max_target_length]`: BOS, then the target ids, then padding (the decoder's input)
  label       int32 `[max_target_length]`: the target ids, then EOS, then padding (`target_in` shifted left)
  label_mask  bool  `[max_target_length]`: True on the target ids and the EOS, False on padding
so a model predicts `label[t]` from `source` and `target_in[:t + 1]`, and `num_classes` is the target vocabulary size.
Every sentence is padded to the fixed maximum lengths (options `max_source_length`, `max_target_length`, counting
the EOS); a longer pair raises a ValueError naming the option, unless `skip_too_long=True`, which drops such pairs as
fairseq's `--skip-invalid-size-inputs-valid-test` does and warns with their number.

Vocabulary (one id space per language, from fairseq's `dict.<lang>.txt`): pad 0, BOS 1, EOS 2, unknown 3, then the
dictionary file's symbols in file order from id 4, so the vocabulary has as many types as fairseq's dictionary.
(fairseq numbers its specials `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3 and starts the decoder with EOS; here padding
is 0, the convention of the model inputs, and the decoder starts with BOS.)

Datasets (`data_dir` holds the files of fairseq's `examples/translation` preparation, see `DATASETS`):
  iwslt14_de_en   `prepare-iwslt14.sh`: tokenised, lower-cased, subword-nmt BPE (10k joint merges), `@@ ` marks
                  a word that continues; dictionaries from `fairseq-preprocess` (8,848 German / 6,632 English types)
  iwslt17_fr_en   tokenised, cased, joint sentencepiece BPE of 16k (the EL paper's setting), one joint dictionary
                  of 16,240 types (EL paper, appendix B.1), used as `dict.fr.txt` and `dict.en.txt`
  synthetic:<dataset>  a stand-in with the dataset's vocabulary sizes, split sizes and mean sentence length (option
                  `seed`): the target is the source mapped token by token through a fixed random map, so a model can
                  learn it.
"""

import dataclasses
import functools
import os
import re
import warnings

import numpy as np

from el_jax.data.synthetic import GeneratedRecords

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
SPLITS = ("train", "valid", "test")
_OVERWRITE = "#fairseq:overwrite"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """What a prepared dataset holds: its languages, vocabulary sizes (fairseq's type counts, specials included),
  split sizes, mean sentence length in tokens (with EOS), the subword scheme, and how it is prepared."""

  source_lang: str
  target_lang: str
  source_vocab_size: int
  target_vocab_size: int
  sizes: dict
  mean_length: int
  bpe: str  # "subword_nmt" ("@@ " joins subwords) or "sentencepiece" ("▁" starts a word)
  prepare: str


DATASETS = {
  # Sizes: prepare-iwslt14.sh's splits; fairseq-preprocess reports 4,035,591 German tokens in 160,239 sentences
  # (25.2 per sentence with EOS).
  "iwslt14_de_en": DatasetSpec(
    "de",
    "en",
    8848,
    6632,
    {"train": 160_239, "valid": 7_283, "test": 6_750},
    25,
    "subword_nmt",
    "bash examples/translation/prepare-iwslt14.sh in a fairseq checkout, then fairseq-preprocess --source-lang de "
    "--target-lang en --trainpref $TEXT/train --validpref $TEXT/valid --testpref $TEXT/test --destdir $TEXT "
    "(TEXT=examples/translation/iwslt14.tokenized.de-en): data_dir is $TEXT",
  ),
  # The paper gives 233K training pairs and a 16,240-type target vocabulary; the valid and test sizes (IWSLT17's
  # dev2010 and tst2015 talks) and the mean length are approximate, used by the stand-in only.
  "iwslt17_fr_en": DatasetSpec(
    "fr",
    "en",
    16240,
    16240,
    {"train": 233_000, "valid": 887, "test": 1_210},
    28,
    "sentencepiece",
    "examples/translation/prepare-iwslt17-multilingual.sh of fairseq restricted to fr-en (a joint 16k sentencepiece "
    "BPE), files renamed to {train,valid,test}.{fr,en}, then fairseq-preprocess --source-lang fr --target-lang en "
    "--joined-dictionary ... --destdir data_dir",
  ),
}


@dataclasses.dataclass(frozen=True, eq=False)
class Dictionary:
  """A vocabulary: `symbols[i]` is the string of id `i`; ids 0-3 are `SPECIALS` (pad, BOS, EOS, unknown)."""

  symbols: tuple[str, ...]

  def __post_init__(self):
    if self.symbols[:4] != SPECIALS:
      raise ValueError(f"a Dictionary starts with the specials {SPECIALS}, got {self.symbols[:4]}.")
    object.__setattr__(self, "_index", {s: i for i, s in enumerate(self.symbols)})

  def __len__(self) -> int:
    return len(self.symbols)

  def index(self, symbol: str) -> int:
    """The id of `symbol` (the unknown id 3 if it is not in the vocabulary)."""
    return self._index.get(symbol, UNK_ID)

  def encode(self, line: str) -> np.ndarray:
    """int32 ids of the whitespace-separated tokens of `line` (no EOS appended)."""
    return np.asarray([self.index(token) for token in line.split()], np.int32)

  def string(self, ids, *, escape_unk: bool = False) -> str:
    """The tokens of `ids` joined by spaces, up to the first EOS (excluded) and without padding.

    `escape_unk` writes the unknown id as `<<unk>>` (as fairseq does for references, so that an unknown word in the
    reference never matches one in the hypothesis).
    """
    tokens = []
    for i in np.asarray(ids).tolist():
      if i == EOS_ID:
        break
      if i == PAD_ID:
        continue
      tokens.append("<<unk>>" if escape_unk and i == UNK_ID else self.symbols[i])
    return " ".join(tokens)

  @classmethod
  def synthetic(cls, size: int) -> "Dictionary":
    """A vocabulary of `size` types named `w4`, `w5`, ... after the specials."""
    return cls(SPECIALS + tuple(f"w{i}" for i in range(4, size)))


def read_dictionary(path: str) -> Dictionary:
  """Reads a fairseq `dict.<lang>.txt`: one `<symbol> <count>` per line (optionally followed by
  `#fairseq:overwrite`), the symbols that follow the four specials, most frequent first."""
  symbols, seen = list(SPECIALS), {}
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      line = line.rstrip("\n")
      if not line.strip():
        continue
      overwrite = line.endswith(" " + _OVERWRITE)
      if overwrite:
        line = line[: -len(_OVERWRITE) - 1]
      symbol, _, count = line.rpartition(" ")
      if not symbol or not count.lstrip("-").isdigit():
        raise ValueError(f"{path}:{number}: expected '<symbol> <count>', got {line!r}; is this a fairseq dict file?")
      if symbol in seen and not overwrite:
        raise ValueError(f"{path}:{number}: duplicate symbol {symbol!r} (first on line {seen[symbol]}).")
      if symbol in SPECIALS:
        continue
      seen[symbol] = number
      symbols.append(symbol)
  return Dictionary(tuple(symbols))


def remove_bpe(line: str, bpe: str) -> str:
  """Joins subwords back into words: subword-nmt's `@@ ` continuation marks, or sentencepiece's `▁` word starts
  (fairseq's `--remove-bpe` and `--remove-bpe sentencepiece`)."""
  if bpe == "subword_nmt":
    return re.sub(r"@@( |$)", "", line).strip()
  if bpe == "sentencepiece":
    return line.replace(" ", "").replace("\u2581", " ").strip()
  if bpe == "none":
    return line
  raise ValueError(f"Unknown BPE scheme {bpe!r}. Valid: subword_nmt, sentencepiece, none.")


def padded_record(source_ids, target_ids, max_source_length: int, max_target_length: int) -> dict:
  """The record (see the module docstring) of one pair of ids without EOS, padded to the given lengths (which count
  the EOS, so `len(source_ids) < max_source_length` and `len(target_ids) < max_target_length`)."""
  source = np.zeros(max_source_length, np.int32)
  source[: len(source_ids)] = source_ids
  source[len(source_ids)] = EOS_ID
  target_in = np.zeros(max_target_length, np.int32)
  label = np.zeros(max_target_length, np.int32)
  n = len(target_ids)
  target_in[0], target_in[1 : n + 1] = BOS_ID, target_ids
  label[:n], label[n] = target_ids, EOS_ID
  return {"source": source, "target_in": target_in, "label": label, "label_mask": np.arange(max_target_length) <= n}


def _check_lengths(max_source_length: int, max_target_length: int) -> None:
  for name, value in (("max_source_length", max_source_length), ("max_target_length", max_target_length)):
    if int(value) != value or value < 1:
      raise ValueError(f"{name} must be a positive integer (tokens including EOS), got {value!r}.")


@dataclasses.dataclass(frozen=True, eq=False)
class ParallelText:
  """Sentence pairs held as two flat int32 token arrays with offsets; records are padded on access.

  Attributes beyond the `Source` interface: `source_dictionary`, `target_dictionary`, `bpe` (for detokenising
  hypotheses and references in BLEU), `max_source_length`, `max_target_length`.
  """

  name: str
  source_tokens: np.ndarray
  source_offsets: np.ndarray  # [N + 1]
  target_tokens: np.ndarray
  target_offsets: np.ndarray
  source_dictionary: Dictionary
  target_dictionary: Dictionary
  max_source_length: int
  max_target_length: int
  bpe: str = "none"

  def __len__(self) -> int:
    return len(self.source_offsets) - 1

  @property
  def num_classes(self) -> int:
    return len(self.target_dictionary)

  @property
  def input_shape(self) -> dict:
    return {"source": (self.max_source_length,), "target_in": (self.max_target_length,)}

  def pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The source and target ids of pair `index`, without EOS or padding."""
    if not 0 <= index < len(self):
      raise IndexError(f"{self.name}: index {index} out of range [0, {len(self)}).")
    s, t = self.source_offsets, self.target_offsets
    return self.source_tokens[s[index] : s[index + 1]], self.target_tokens[t[index] : t[index + 1]]

  def __getitem__(self, index: int) -> dict:
    return padded_record(*self.pair(int(index)), self.max_source_length, self.max_target_length)

  def token_lengths(self) -> np.ndarray:
    """int64 `[N]`: each pair's tokens as fairseq's `--max-tokens` counts them, `max(source, target)` with the EOS."""
    return np.maximum(np.diff(self.source_offsets), np.diff(self.target_offsets)) + 1

  def take(self, count: int | None) -> "ParallelText":
    """The first `count` pairs (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} sentence pairs.")
    s, t = self.source_offsets[: count + 1], self.target_offsets[: count + 1]
    return dataclasses.replace(
      self,
      source_tokens=self.source_tokens[: s[-1]],
      source_offsets=s,
      target_tokens=self.target_tokens[: t[-1]],
      target_offsets=t,
    )


def _flatten(sentences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  offsets = np.zeros(len(sentences) + 1, np.int64)
  offsets[1:] = np.cumsum([len(s) for s in sentences])
  tokens = np.concatenate(sentences).astype(np.int32) if sentences else np.zeros(0, np.int32)
  return tokens, offsets


def read_parallel_text(
  source_path: str,
  target_path: str,
  source_dictionary: Dictionary,
  target_dictionary: Dictionary,
  *,
  max_source_length: int,
  max_target_length: int,
  skip_too_long: bool = False,
  name: str = "",
  bpe: str = "none",
) -> ParallelText:
  """The sentence pairs of two line-aligned text files of whitespace-separated tokens.

  A pair whose source (target) has more than `max_source_length - 1` (`max_target_length - 1`) tokens, leaving no
  room for its EOS, raises a ValueError naming the line and the option to raise, or is dropped with a warning when
  `skip_too_long`.
  """
  _check_lengths(max_source_length, max_target_length)
  with open(source_path, encoding="utf-8") as f:
    source_lines = f.read().splitlines()
  with open(target_path, encoding="utf-8") as f:
    target_lines = f.read().splitlines()
  if len(source_lines) != len(target_lines):
    raise ValueError(
      f"{source_path} has {len(source_lines)} lines but {target_path} has {len(target_lines)}; parallel files must "
      "be line-aligned."
    )
  sources, targets, skipped = [], [], 0
  for number, (source_line, target_line) in enumerate(zip(source_lines, target_lines, strict=True), 1):
    source, target = source_dictionary.encode(source_line), target_dictionary.encode(target_line)
    for ids, limit, option, path in (
      (source, max_source_length, "max_source_length", source_path),
      (target, max_target_length, "max_target_length", target_path),
    ):
      if len(ids) + 1 > limit:
        if not skip_too_long:
          raise ValueError(
            f"{path}:{number}: {len(ids)} tokens + EOS exceed {option}={limit}; raise the option (e.g. "
            f"--config.dataset.options.{option}={len(ids) + 1}) or drop such pairs with skip_too_long=True."
          )
        break
    else:
      sources.append(source)
      targets.append(target)
      continue
    skipped += 1
  if skipped:
    warnings.warn(
      f"{name}: dropped {skipped} of {len(source_lines)} sentence pairs longer than max_source_length="
      f"{max_source_length} / max_target_length={max_target_length} (skip_too_long=True).",
      stacklevel=2,
    )
  if not sources:
    raise ValueError(f"{source_path}: no sentence pairs to read.")
  (source_tokens, source_offsets), (target_tokens, target_offsets) = _flatten(sources), _flatten(targets)
  return ParallelText(
    name,
    source_tokens,
    source_offsets,
    target_tokens,
    target_offsets,
    source_dictionary,
    target_dictionary,
    int(max_source_length),
    int(max_target_length),
    bpe,
  )


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticTranslation(GeneratedRecords):
  """`size` generated sentence pairs. Source ids follow Zipf's law over the non-special vocabulary, as words do
  (`P(id) ∝ 1 / (id - 3)` for `id >= 4`: fairseq's dictionaries list the most frequent symbol first); lengths are
  uniform in `[1, 2 mean_length - 3]` (mean `mean_length - 1` tokens + EOS, capped by the maximum lengths); the
  target is the source mapped token by token through a fixed random map into the target vocabulary, so frequent
  words are learnt first. Pair `i` depends only on `(seed, split, i)`."""

  name: str
  source_dictionary: Dictionary
  target_dictionary: Dictionary
  size: int
  mean_length: int
  max_source_length: int
  max_target_length: int
  split_id: int = 0
  seed: int = 0
  bpe: str = "none"
  unit = "sentence pairs"

  @property
  def num_classes(self) -> int:
    return len(self.target_dictionary)

  @property
  def input_shape(self) -> dict:
    return {"source": (self.max_source_length,), "target_in": (self.max_target_length,)}

  @functools.cached_property
  def _token_map(self) -> np.ndarray:
    rng = np.random.default_rng((self.seed, 7919))
    return rng.integers(4, len(self.target_dictionary), len(self.source_dictionary)).astype(np.int32)

  @functools.cached_property
  def _zipf_cdf(self) -> np.ndarray:
    weights = 1.0 / np.arange(1, len(self.source_dictionary) - 3)
    return np.cumsum(weights) / weights.sum()

  @property
  def _longest(self) -> int:
    return max(1, min(2 * self.mean_length - 3, self.max_source_length - 1, self.max_target_length - 1))

  def pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
    rng = self.record_rng(index)
    length = int(rng.integers(1, self._longest + 1))
    ranks = np.minimum(np.searchsorted(self._zipf_cdf, rng.random(length), side="right"), len(self._zipf_cdf) - 1)
    source = (4 + ranks).astype(np.int32)
    return source, self._token_map[source]

  def __getitem__(self, index: int) -> dict:
    return padded_record(*self.pair(int(index)), self.max_source_length, self.max_target_length)

  def token_lengths(self) -> np.ndarray:
    """int64 `[N]`: each pair's tokens as fairseq's `--max-tokens` counts them (source and target have the same
    length here, plus the EOS); the first draw of each pair's Generator, as in `pair`."""
    return np.asarray([self.record_rng(i).integers(1, self._longest + 1) + 1 for i in range(self.size)], np.int64)


def _split(split: str) -> str:
  split = {"validation": "valid"}.get(split, split)
  if split not in SPLITS:
    raise ValueError(f"Unknown split {split!r}. Valid: {', '.join(SPLITS)} (or 'validation').")
  return split


def load(
  dataset: str,
  split: str,
  *,
  data_dir: str | None = None,
  max_source_length: int = 256,
  max_target_length: int = 256,
  skip_too_long: bool = False,
  source_vocab_size: int | None = None,
  target_vocab_size: int | None = None,
  seed: int = 0,
):
  """Split `split` ("train", "valid" or "test") of `dataset` (a `DATASETS` name, or `synthetic:<name>`).

  The dictionaries must have the sizes of `DATASETS` (or `source_vocab_size` / `target_vocab_size` when given), as
  the model's embedding tables are built for them; a mismatch raises a ValueError naming the options to set.
  """
  synthetic = dataset.startswith("synthetic:")
  base = dataset.removeprefix("synthetic:")
  if base not in DATASETS:
    raise ValueError(
      f"Unknown translation dataset {dataset!r}. Valid: {', '.join(sorted(DATASETS))} and synthetic:<name>."
    )
  spec, split = DATASETS[base], _split(split)
  source_vocab_size = source_vocab_size or spec.source_vocab_size
  target_vocab_size = target_vocab_size or spec.target_vocab_size
  name = f"translation:{dataset}/{split}"
  if synthetic:
    if data_dir is not None:
      raise ValueError(f"{name}: a synthetic stand-in reads no files; drop the data_dir option.")
    _check_lengths(max_source_length, max_target_length)
    return SyntheticTranslation(
      name,
      Dictionary.synthetic(source_vocab_size),
      Dictionary.synthetic(target_vocab_size),
      spec.sizes[split],
      spec.mean_length,
      int(max_source_length),
      int(max_target_length),
      SPLITS.index(split),
      seed,
      spec.bpe,
    )
  if data_dir is None:
    raise ValueError(
      f"{name} reads fairseq's prepared files: set the data_dir option. To prepare them: {spec.prepare}."
    )
  paths = {
    "source": os.path.join(data_dir, f"{split}.{spec.source_lang}"),
    "target": os.path.join(data_dir, f"{split}.{spec.target_lang}"),
    "source_dict": os.path.join(data_dir, f"dict.{spec.source_lang}.txt"),
    "target_dict": os.path.join(data_dir, f"dict.{spec.target_lang}.txt"),
  }
  missing = [p for p in paths.values() if not os.path.exists(p)]
  if missing:
    raise FileNotFoundError(f"{name}: missing {', '.join(missing)}. To prepare them: {spec.prepare}.")
  dictionaries = read_dictionary(paths["source_dict"]), read_dictionary(paths["target_dict"])
  for dictionary, expected, option, path in zip(
    dictionaries,
    (source_vocab_size, target_vocab_size),
    ("source_vocab_size", "target_vocab_size"),
    (paths["source_dict"], paths["target_dict"]),
    strict=True,
  ):
    if len(dictionary) != expected:
      raise ValueError(
        f"{path} gives {len(dictionary)} types, but {expected} are expected for {dataset}. If your preparation "
        f"differs, set --config.dataset.options.{option}={len(dictionary)}"
        + (f" and --config.model.source_vocab_size={len(dictionary)}." if option == "source_vocab_size" else ".")
      )
  return read_parallel_text(
    paths["source"],
    paths["target"],
    *dictionaries,
    max_source_length=max_source_length,
    max_target_length=max_target_length,
    skip_too_long=skip_too_long,
    name=name,
    bpe=spec.bpe,
  )
