"""Text classification sources: the mixing paper's Women's Clothing E-Commerce Reviews (LSTM) and GLUE (BERT) data.

`load(dataset, split, **options)` (reached as `el_jax.data.load("text:<dataset>", split, ...)`) returns a `Source`
whose records are `{"tokens": int32 [T], "label": int}` (reviews) or `{"tokens": int32 [T], "segments": int32 [T],
"label": int}` (GLUE); `input_shape` is the dict of those per-example shapes. Every row is right-padded with token 0 to
the dataset's fixed length T, so a model recovers each row's length from its tokens.

Datasets:
  reviews               Agarap (2018)'s Women's Clothing E-Commerce Reviews, `Womens Clothing E-Commerce
                        Reviews.csv` (Kaggle: nicapotato/womens-ecommerce-clothing-reviews) in option `data_dir`.
                        Input: the "Review Text" column, lower-cased and split into words and punctuation marks
                        (`word_tokens`); label: "Rating" - 1 (five classes). The file has no split: a seeded random
                        `test_fraction` of the reviews is "test", the rest "train" (options `seed`, `test_fraction`).
                        Rows with an empty review text (845 of the released file's 23,486) have no input and are left
                        out; 22,641 reviews remain. The vocabulary is the `vocab_size - 2` most frequent words of the
                        training split (ties alphabetical); id 0 is padding, id 1 any other word. T: option
                        `max_length` (default: the longest review of the file, so nothing is cut; a review longer
                        than a given `max_length` raises).
  glue/<task>           a GLUE classification task (cola, sst2, mrpc, qqp, mnli, qnli, rte) from TFDS `glue/<task>`
                        prepared as array_record in option `data_dir`, tokenised with the WordPiece vocabulary file of
                        option `vocab_file` (BERT's `vocab.txt`) into `[CLS] a [SEP] (b [SEP])`; segments are 0 up to
                        the first [SEP], 1 after it. T: option `max_length` (default 64, the paper's); longer inputs
                        are cut longest-first, one token at a time from the longer text (BERT's `run_classifier`),
                        unless `truncate=False`, which raises instead. Splits: "train", "validation" (the dev set;
                        MNLI: "validation_matched", "validation_mismatched"); the test labels are hidden.
  synthetic:reviews,    stand-ins with the real shapes, vocabulary sizes, classes and split sizes; a quarter of the
  synthetic:glue/<task> tokens are keywords of the label, so a model can learn it (option `seed`).
"""

import collections
import csv
import dataclasses
import functools
import os
import re
import unicodedata

import numpy as np

from el_jax import _extras
from el_jax.data.synthetic import GeneratedRecords
from el_jax.losses import check_labels

PAD_ID, UNKNOWN_ID = 0, 1  # the word-level vocabulary's reserved ids (reviews)
REVIEWS_FILE = "Womens Clothing E-Commerce Reviews.csv"
REVIEWS_COUNT = 22_641  # reviews with a text in the released file

# task -> (TFDS text features, number of classes, {split: number of examples})
GLUE_TASKS = {
  "cola": (("sentence",), 2, {"train": 8_551, "validation": 1_043}),
  "sst2": (("sentence",), 2, {"train": 67_349, "validation": 872}),
  "mrpc": (("sentence1", "sentence2"), 2, {"train": 3_668, "validation": 408}),
  "qqp": (("question1", "question2"), 2, {"train": 363_846, "validation": 40_430}),
  "mnli": (
    ("premise", "hypothesis"),
    3,
    {"train": 392_702, "validation_matched": 9_815, "validation_mismatched": 9_832},
  ),
  "qnli": (("question", "sentence"), 2, {"train": 104_743, "validation": 5_463}),
  "rte": (("sentence1", "sentence2"), 2, {"train": 2_490, "validation": 277}),
}
BERT_VOCAB_SIZE = 30_522  # BERT-base uncased's WordPiece vocabulary
GLUE_MAX_LENGTH = 64  # the paper's maximum sequence length
REVIEWS_VOCAB_SIZE = 10_000
REVIEWS_STAND_IN_LENGTH = 128
KEYWORDS = 16  # ids per class that mark a stand-in row's label


# ---- Word-level tokens (reviews) ------------------------------------------------------------------------------------


def word_tokens(text: str) -> list[str]:
  """Lower-cased words (runs of letters, digits, underscores and apostrophes) and single punctuation marks, in order."""
  return re.findall(r"[\w']+|[^\w\s]", text.lower())


# ---- WordPiece (GLUE) -----------------------------------------------------------------------------------------------


def _is_punctuation(char: str) -> bool:
  """ASCII symbols (!-/, :-@, [-`, {-~) count as punctuation, as in BERT, besides Unicode's P* categories."""
  cp = ord(char)
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(char).startswith("P")


def _is_cjk(char: str) -> bool:
  cp = ord(char)
  return (
    0x4E00 <= cp <= 0x9FFF
    or 0x3400 <= cp <= 0x4DBF
    or 0x20000 <= cp <= 0x2A6DF
    or 0x2A700 <= cp <= 0x2B81F
    or 0x2B820 <= cp <= 0x2CEAF
    or 0xF900 <= cp <= 0xFAFF
    or 0x2F800 <= cp <= 0x2FA1F
  )


def basic_tokens(text: str) -> list[str]:
  """BERT's uncased basic tokenisation: drop control characters, map every whitespace to a space, put spaces around
  CJK ideographs, lower-case, strip accents (NFD, then drop combining marks), and split at whitespace and around
  every punctuation character (each one its own token)."""
  chars = []
  for char in text:
    cp = ord(char)
    if cp == 0 or cp == 0xFFFD or (unicodedata.category(char).startswith("C") and char not in "\t\n\r"):
      continue
    if char in " \t\n\r" or unicodedata.category(char) == "Zs":
      chars.append(" ")
    elif _is_cjk(char):
      chars.append(f" {char} ")
    else:
      chars.append(char)
  tokens = []
  for word in "".join(chars).split():
    word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
    piece = ""
    for char in word:
      if _is_punctuation(char):
        tokens += [piece, char] if piece else [char]
        piece = ""
      else:
        piece += char
    if piece:
      tokens.append(piece)
  return tokens


class WordPiece:
  """WordPiece tokenisation (Wu et al. 2016; BERT's `FullTokenizer`, uncased) with the vocabulary of `vocab_file`.

  `vocab_file` lists one token per line; a token's id is its line number (from 0; the last one for a token listed
  twice, as in BERT's `load_vocab` and Hugging Face's readers). It must hold [PAD] (id 0), [UNK], [CLS] and [SEP].
  Each basic token (`basic_tokens`) is split greedily, longest match first, into vocabulary entries, continuation
  pieces carrying a `##` prefix; a word with an unmatched remainder, or longer than `max_word_chars` characters,
  becomes [UNK] as a whole (Hugging Face's 100; Google's original `WordpieceTokenizer` allows 200).
  """

  def __init__(self, vocab_file: str, *, max_word_chars: int = 100):
    if not vocab_file or not os.path.isfile(vocab_file):
      raise FileNotFoundError(
        f"WordPiece vocabulary file {vocab_file!r} not found: pass option vocab_file= the path of BERT's vocab.txt "
        "(e.g. from the bert-base-uncased release)."
      )
    with open(vocab_file, encoding="utf-8") as f:
      tokens = [line.rstrip("\n").rstrip("\r") for line in f]
    self.vocab = {token: i for i, token in enumerate(tokens)}  # a repeated token: its last line, as in BERT
    missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if t not in self.vocab]
    if missing:
      raise ValueError(f"WordPiece vocabulary {vocab_file!r} lacks the special tokens {missing}.")
    if self.vocab["[PAD]"] != 0:
      raise ValueError(f"WordPiece vocabulary {vocab_file!r} must have [PAD] on its first line (id 0).")
    self.size = len(tokens)
    self.max_word_chars = max_word_chars
    self.unknown, self.cls, self.sep = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]

  def word_pieces(self, word: str) -> list[str]:
    """The greedy longest-match-first split of one basic token: `unaffable -> un ##aff ##able`."""
    if len(word) > self.max_word_chars:
      return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
      end = len(word)
      while end > start:
        piece = word[start:end] if start == 0 else "##" + word[start:end]
        if piece in self.vocab:
          break
        end -= 1
      if end == start:
        return ["[UNK]"]
      pieces.append(piece)
      start = end
    return pieces

  def tokenize(self, text: str) -> list[str]:
    return [piece for word in basic_tokens(text) for piece in self.word_pieces(word)]

  def ids(self, text: str) -> list[int]:
    return [self.vocab[piece] for piece in self.tokenize(text)]


def encode_pair(
  first: list[int], second: list[int] | None, *, cls: int, sep: int, max_length: int, truncate: bool = True
) -> tuple[np.ndarray, np.ndarray]:
  """`(tokens, segments)`, int32 `[max_length]`: `[CLS] first [SEP] (second [SEP])` right-padded with 0.

  Segment ids are 0 through the first [SEP] and 1 over `second [SEP]`. Inputs too long for `max_length` are cut
  longest-first (one id at a time from the end of the longer text; from `second` on a tie) when `truncate`, else a
  ValueError names the needed length.
  """
  first, second = list(first), None if second is None else list(second)
  budget = max_length - (2 if second is None else 3)
  needed = len(first) + len(second or [])
  if needed > budget:
    if not truncate:
      raise ValueError(f"An input needs {needed + max_length - budget} tokens, more than max_length={max_length}.")
    while len(first) + len(second or []) > budget:
      if second is None or len(first) > len(second):
        first.pop()
      else:
        second.pop()
  tokens = [cls, *first, sep] + ([] if second is None else [*second, sep])
  segments = [0] * (len(first) + 2) + ([] if second is None else [1] * (len(second) + 1))
  out = np.zeros((2, max_length), np.int32)
  out[0, : len(tokens)], out[1, : len(segments)] = tokens, segments
  return out[0], out[1]


# ---- Sources --------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class TokenArrays:
  """In-memory token inputs `{key: int32 [N, T]}` with integer labels `[N]` in `[0, num_classes)`."""

  inputs: dict
  labels: np.ndarray
  num_classes: int
  name: str = ""
  vocabulary: tuple = ()  # the word of each id, where the source built one

  def __post_init__(self):
    for key, array in self.inputs.items():
      if array.ndim != 2 or len(array) != len(self.labels):
        raise ValueError(f"{self.name}: input {key!r} must be [N, T] with N = {len(self.labels)}, got {array.shape}.")
    check_labels(self.labels, self.num_classes)

  def __len__(self) -> int:
    return len(self.labels)

  def __getitem__(self, index: int) -> dict:
    return {**{k: v[index] for k, v in self.inputs.items()}, "label": int(self.labels[index])}

  @property
  def input_shape(self) -> dict:
    return {k: tuple(v.shape[1:]) for k, v in self.inputs.items()}

  def take(self, count: int | None) -> "TokenArrays":
    """The first `count` examples (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} examples.")
    inputs = {k: v[:count] for k, v in self.inputs.items()}
    return dataclasses.replace(self, inputs=inputs, labels=self.labels[:count])


@functools.lru_cache(maxsize=2)
def _read_reviews(path: str, modified: float) -> tuple[tuple, np.ndarray]:
  """`(word tokens of each review, ratings)` of the reviews with a text; `modified` keys the cache to the file."""
  del modified
  texts, ratings = [], []
  with open(path, encoding="utf-8-sig", newline="") as f:
    reader = csv.DictReader(f)
    missing = {"Review Text", "Rating"} - set(reader.fieldnames or ())
    if missing:
      raise ValueError(f"{path}: no column(s) {sorted(missing)}; is this the Women's Clothing E-Commerce Reviews CSV?")
    for row in reader:
      text = (row["Review Text"] or "").strip()
      if not text:
        continue
      try:
        rating = int(row["Rating"])
      except ValueError:
        rating = 0
      if not 1 <= rating <= 5:
        raise ValueError(f"{path}, line {reader.line_num}: rating {row['Rating']!r} is not an integer in 1..5.")
      texts.append(tuple(word_tokens(text)))
      ratings.append(rating)
  if not texts:
    raise ValueError(f"{path}: no review has a text.")
  return tuple(texts), np.asarray(ratings, np.int64)


def load_reviews(
  split: str,
  *,
  data_dir: str | None = None,
  max_length: int | None = None,
  vocab_size: int = REVIEWS_VOCAB_SIZE,
  test_fraction: float = 0.2,
  seed: int = 0,
) -> TokenArrays:
  """Split "train" or "test" of the Women's Clothing E-Commerce Reviews (see the module docstring)."""
  if split not in ("train", "test"):
    raise ValueError(f"The reviews have splits 'train' and 'test' (a seeded random split), not {split!r}.")
  if not data_dir:
    raise ValueError(f"The reviews need option data_dir: the folder holding {REVIEWS_FILE!r}.")
  path = os.path.join(data_dir, REVIEWS_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(
      f"{path} not found. Download it from https://www.kaggle.com/datasets/nicapotato/womens-ecommerce-clothing-reviews"
      " and pass its folder as data_dir."
    )
  if not 0 < test_fraction < 1 or vocab_size < 3:
    raise ValueError(f"Need 0 < test_fraction < 1 and vocab_size >= 3, got {test_fraction}, {vocab_size}.")
  texts, ratings = _read_reviews(path, os.path.getmtime(path))
  longest = max(len(t) for t in texts)
  if max_length is None:
    max_length = longest
  elif longest > max_length:
    count = sum(len(t) > max_length for t in texts)
    raise ValueError(
      f"{count} reviews have more than max_length={max_length} tokens (the longest {longest}); "
      f"use max_length={longest} or more (the default fits the longest)."
    )
  order = np.random.default_rng(seed).permutation(len(texts))
  num_test = int(round(len(texts) * test_fraction))
  train_rows, test_rows = np.sort(order[num_test:]), np.sort(order[:num_test])
  counts = collections.Counter(word for i in train_rows for word in texts[i])
  words = sorted(counts, key=lambda w: (-counts[w], w))[: vocab_size - 2]
  ids = {word: i + 2 for i, word in enumerate(words)}
  rows = train_rows if split == "train" else test_rows
  tokens = np.zeros((len(rows), max_length), np.int32)
  for out, i in zip(tokens, rows, strict=True):
    out[: len(texts[i])] = [ids.get(word, UNKNOWN_ID) for word in texts[i]]
  vocabulary = ("[PAD]", "[UNK]", *words)
  return TokenArrays({"tokens": tokens}, ratings[rows] - 1, 5, f"reviews/{split}", vocabulary)


class GlueSource:
  """GLUE records `records[i]` (dicts of text features and "label") WordPiece-encoded on access.

  `source[i]` is `{"tokens": int32 [max_length], "segments": int32 [max_length], "label": int}` (see `encode_pair`):
  the task's first text feature is segment 0, the second (pair tasks) segment 1. `open_glue` makes one from TFDS.
  """

  def __init__(
    self, records, task: str, split: str, tokenizer: WordPiece, *, max_length: int = GLUE_MAX_LENGTH, truncate=True
  ):
    self._keys, self.num_classes, _ = _glue_task(task, split)
    self._records, self.tokenizer = records, tokenizer
    self.max_length, self.truncate = max_length, truncate
    self.name = f"glue/{task}/{split}"
    self._stop = len(records)

  def __len__(self) -> int:
    return self._stop

  @property
  def input_shape(self) -> dict:
    return {"tokens": (self.max_length,), "segments": (self.max_length,)}

  def __getitem__(self, index: int) -> dict:
    if not 0 <= index < self._stop:
      raise IndexError(f"{self.name}: index {index} out of range [0, {self._stop}).")
    record = self._records[index]
    texts = [record[k].decode("utf-8") if isinstance(record[k], bytes) else str(record[k]) for k in self._keys]
    label = int(record["label"])
    if not 0 <= label < self.num_classes:
      raise ValueError(f"{self.name}: record {index} has label {label}; GLUE's test labels are hidden, use validation.")
    ids = [self.tokenizer.ids(text) for text in texts]
    try:
      tokens, segments = encode_pair(
        ids[0],
        ids[1] if len(ids) > 1 else None,
        cls=self.tokenizer.cls,
        sep=self.tokenizer.sep,
        max_length=self.max_length,
        truncate=self.truncate,
      )
    except ValueError as e:
      raise ValueError(f"{self.name}, record {index}: {e} Raise max_length or allow truncate.") from None
    return {"tokens": tokens, "segments": segments, "label": label}

  def take(self, count: int | None) -> "GlueSource":
    """The first `count` records (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} examples.")
    taken = object.__new__(GlueSource)
    taken.__dict__.update(self.__dict__)
    taken._stop = count
    return taken


def open_glue(
  task: str,
  split: str,
  *,
  vocab_file: str | None = None,
  data_dir: str | None = None,
  max_length: int = GLUE_MAX_LENGTH,
  truncate: bool = True,
) -> GlueSource:
  """Split `split` of TFDS `glue/<task>` (array_record, in `data_dir`) encoded with the WordPiece `vocab_file`.

  Raises:
    FileNotFoundError: if the vocabulary file is missing, or the dataset is not prepared in `data_dir` (with the
      command that prepares it).
    ValueError: for an unknown task or split, or a dataset stored in another format than array_record.
  """
  _glue_task(task, split)
  tokenizer = WordPiece(vocab_file)
  if tokenizer.size > BERT_VOCAB_SIZE:
    raise ValueError(
      f"WordPiece vocabulary {vocab_file!r} has {tokenizer.size} ids, more than BERT's {BERT_VOCAB_SIZE} embeddings; "
      "use the vocab.txt of the BERT checkpoint being fine-tuned."
    )
  tfds = _extras.load("tensorflow_datasets", "data", f"Reading GLUE {task}")  # slow to import; only GLUE needs it

  hint = f"Prepare it once with `tfds build glue/{task} --file_format=array_record --data_dir=DIR` (needs tensorflow)"
  try:
    builder = tfds.builder(f"glue/{task}", data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise FileNotFoundError(f"TFDS dataset glue/{task} not found in {data_dir}: {e}. {hint}.") from None
  if not builder.is_prepared():
    raise FileNotFoundError(f"TFDS dataset glue/{task} is not prepared in {builder.data_dir}. {hint}.")
  file_format = str(builder.info.file_format.value if builder.info.file_format else "tfrecord")
  if file_format != "array_record":
    raise ValueError(f"glue/{task} in {builder.data_dir} is stored as {file_format}, not array_record. {hint}.")
  records = builder.as_data_source(split=split)
  return GlueSource(records, task, split, tokenizer, max_length=max_length, truncate=truncate)


def _glue_task(task: str, split: str) -> tuple:
  if task not in GLUE_TASKS:
    raise ValueError(f"Unknown GLUE task {task!r}. Valid: {', '.join(GLUE_TASKS)}.")
  keys, num_classes, sizes = GLUE_TASKS[task]
  if split not in sizes:
    raise ValueError(f"glue/{task} has no labelled split {split!r}; valid: {', '.join(sizes)}.")
  return keys, num_classes, sizes


@dataclasses.dataclass(frozen=True)
class SyntheticTextSource(GeneratedRecords):
  """`size` synthetic token rows with a real text dataset's shapes, generated on demand from `(seed, split, index)`.

  Each row has a uniform label and a uniform length in `[T/4, T]` (BERT-style rows: `[CLS] a [SEP] b [SEP]` with
  ids 101 and 102 as in BERT's vocabulary, pair tasks getting segment 1 on the second half); each content token is,
  with probability 1/4, one of the label's `KEYWORDS` "keyword" ids (`low + label * KEYWORDS + j`, `low` the first
  content id: 2, or 1000 for BERT-style rows), else uniform over the whole content range.
  """

  name: str
  length: int
  vocab_size: int
  num_classes: int
  size: int
  bert_style: bool = False
  pair: bool = False
  split_id: int = 0
  seed: int = 0

  @property
  def input_shape(self) -> dict:
    shape = {"tokens": (self.length,)}
    return {**shape, "segments": (self.length,)} if self.bert_style else shape

  def __getitem__(self, index: int) -> dict:
    rng = self.record_rng(index)
    label = int(rng.integers(self.num_classes))
    low = 1000 if self.bert_style else 2
    length = int(rng.integers(self.length // 4, self.length + 1))
    content = length - (3 if self.pair else 2) if self.bert_style else length
    words = np.where(
      rng.random(content) < 0.25,
      rng.integers(low + label * KEYWORDS, low + (label + 1) * KEYWORDS, content),
      rng.integers(low, self.vocab_size, content),
    )
    tokens, segments = np.zeros(self.length, np.int32), np.zeros(self.length, np.int32)
    if not self.bert_style:
      tokens[:length] = words
      return {"tokens": tokens, "label": label}
    half = content // 2 if self.pair else content
    tokens, segments = encode_pair(
      words[:half], words[half:] if self.pair else None, cls=101, sep=102, max_length=self.length
    )
    return {"tokens": tokens, "segments": segments, "label": label}


def load_synthetic(dataset: str, split: str, *, seed: int = 0) -> SyntheticTextSource:
  """The stand-in for `reviews` (T = 128, 10,000 ids, the default 80/20 split of the 22,641 reviews) or
  `glue/<task>` (T = 64, BERT's 30,522 ids, the task's classes and split sizes)."""
  if dataset == "reviews":
    num_test = int(round(REVIEWS_COUNT * 0.2))
    sizes = {"train": REVIEWS_COUNT - num_test, "test": num_test}
    if split not in sizes:
      raise ValueError(f"synthetic:reviews has splits 'train' and 'test', not {split!r}.")
    return SyntheticTextSource(
      f"synthetic:reviews/{split}",
      length=REVIEWS_STAND_IN_LENGTH,
      vocab_size=REVIEWS_VOCAB_SIZE,
      num_classes=5,
      size=sizes[split],
      split_id=list(sizes).index(split),
      seed=seed,
    )
  if dataset.startswith("glue/"):
    task = dataset.removeprefix("glue/")
    keys, num_classes, sizes = _glue_task(task, split)
    return SyntheticTextSource(
      f"synthetic:glue/{task}/{split}",
      length=GLUE_MAX_LENGTH,
      vocab_size=BERT_VOCAB_SIZE,
      num_classes=num_classes,
      size=sizes[split],
      bert_style=True,
      pair=len(keys) == 2,
      split_id=list(sizes).index(split),
      seed=seed,
    )
  raise ValueError(f"No synthetic text stand-in for {dataset!r}; valid: reviews, glue/<task>.")


def load(dataset: str, split: str, **options):
  """Split `split` of text dataset `dataset` (see the module docstring for names and options)."""
  if dataset.startswith("synthetic:"):
    return load_synthetic(dataset.removeprefix("synthetic:"), split, **options)
  if dataset == "reviews":
    return load_reviews(split, **options)
  if dataset.startswith("glue/"):
    return open_glue(dataset.removeprefix("glue/"), split, **options)
  raise ValueError(
    f"Unknown text dataset {dataset!r}. Valid: reviews, glue/<task>, synthetic:reviews, synthetic:glue/<task>."
  )
