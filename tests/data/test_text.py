"""el_jax.data.text: the reviews CSV reader (on a tiny file written here), BERT's uncased WordPiece tokenisation and
`[CLS] a [SEP] b [SEP]` encoding on hand-worked examples, GLUE records, the synthetic stand-ins, and the `text:` names
of `el_jax.data.load`."""

import collections
import csv

import numpy as np
import pytest

from el_jax.data import text

HEADER = [
  "", "Clothing ID", "Age", "Title", "Review Text", "Rating", "Recommended IND", "Positive Feedback Count",
  "Division Name", "Department Name", "Class Name",
]  # fmt: skip
# (review text, rating); every text holds one word of its own ("onlyN") besides common ones.
REVIEWS = [
  ("Love this dress! only0", 5),
  ("Runs small, sadly. only1", 2),
  ('The fabric is "soft", love it only2', 4),
  ("", 3),  # no text: left out
  ("Terrible fit\nreturned it. only4", 1),
  ("Love love love only5", 5),
  ("It's ok only6", 3),
  ("Nice colour only7", 4),
  ("Soft and nice only8", 4),
  ("Returned, fabric is thin only9", 2),
]


def write_reviews(folder, reviews=REVIEWS):
  with open(folder / text.REVIEWS_FILE, "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(HEADER)
    for i, (review, rating) in enumerate(reviews):
      writer.writerow([i, 1000 + i, 30, "Title", review, rating, 1, 0, "General", "Tops", "Knits"])
  return folder


def _words(source, row):
  tokens = source.inputs["tokens"][row]
  return [source.vocabulary[t] for t in tokens[tokens != 0]]


def test_word_tokens():
  assert text.word_tokens('The fabric is "soft", love it') == [
    "the",
    "fabric",
    "is",
    '"',
    "soft",
    '"',
    ",",
    "love",
    "it",
  ]
  assert text.word_tokens("It's OK!") == ["it's", "ok", "!"]


def _reviews(folder, split, **options):
  return text.load("reviews", split, data_dir=str(folder), test_fraction=0.3, seed=1, **options)


def _training_reviews(train):
  """The review texts of the training split (its rows decode to their words: every training word is in the vocabulary
  when it is large)."""
  by_words = {tuple(text.word_tokens(r)): r for r, _ in REVIEWS if r}
  return [by_words[tuple(_words(train, row))] for row in range(len(train))]


def test_reviews_split_tokens_and_labels(tmp_path):
  write_reviews(tmp_path)
  train, test = _reviews(tmp_path, "train"), _reviews(tmp_path, "test")
  ratings = {r: rating for r, rating in REVIEWS if r}
  assert (len(train), len(test)) == (6, 3)  # 9 reviews with a text, round(0.3 * 9) = 3 of them for testing
  longest = max(len(text.word_tokens(r)) for r in ratings)
  assert train.input_shape == test.input_shape == {"tokens": (longest,)} and train.num_classes == 5
  training = _training_reviews(train)
  for row, review in enumerate(training):
    assert train[row]["label"] == ratings[review] - 1
    assert train[row]["tokens"].dtype == np.int32 and np.all(train[row]["tokens"][len(text.word_tokens(review)) :] == 0)
  known = set(train.vocabulary)
  held_out = {tuple(w if w in known else "[UNK]" for w in text.word_tokens(r)): r for r in ratings if r not in training}
  assert len(held_out) == 3
  for row in range(len(test)):
    review = held_out.pop(tuple(_words(test, row)))  # its own "onlyN" word is unknown: never seen in training
    assert test[row]["label"] == ratings[review] - 1
  assert not held_out


def test_reviews_vocabulary_is_the_most_frequent_training_words(tmp_path):
  write_reviews(tmp_path)
  counts = collections.Counter(w for r in _training_reviews(_reviews(tmp_path, "train")) for w in text.word_tokens(r))
  expected = sorted(counts, key=lambda w: (-counts[w], w))[:3]
  small = _reviews(tmp_path, "train", vocab_size=5)
  assert small.vocabulary == ("[PAD]", "[UNK]", *expected)
  tokens = small.inputs["tokens"]
  assert set(np.unique(tokens)) <= {0, 1, 2, 3, 4}
  assert (tokens == 1).sum() == sum(n for w, n in counts.items() if w not in expected)


def test_reviews_pad_to_max_length_and_refuse_longer_reviews(tmp_path):
  write_reviews(tmp_path)
  train = text.load("reviews", "train", data_dir=str(tmp_path), max_length=20)
  assert train.input_shape == {"tokens": (20,)}
  assert all(train[i]["tokens"][-1] == 0 for i in range(len(train)))
  with pytest.raises(
    ValueError, match=r"4 reviews have more than max_length=5 tokens \(the longest 10\); use max_length=10"
  ):
    text.load("reviews", "train", data_dir=str(tmp_path), max_length=5)


def test_reviews_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="kaggle"):
    text.load("reviews", "train", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="data_dir"):
    text.load("reviews", "train")
  write_reviews(tmp_path, [("fine", 6)])
  with pytest.raises(ValueError, match="rating '6'"):
    text.load("reviews", "train", data_dir=str(tmp_path))
  (tmp_path / text.REVIEWS_FILE).write_text("a,b\n1,2\n")
  with pytest.raises(ValueError, match="Review Text"):
    text.load("reviews", "train", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="'train' and 'test'"):
    text.load("reviews", "validation", data_dir=str(tmp_path))


# ---- GLUE -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def glue_tokenizer(tmp_path):
  words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "man", "is", "eating", "food", "someone", "?", "##s"]
  (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
  return text.WordPiece(str(tmp_path / "vocab.txt"))


def test_glue_pair_records_are_encoded_with_segments(glue_tokenizer):
  records = [
    {"sentence1": b"A man is eating food.", "sentence2": b"Someone is eating?", "label": 1, "idx": 0},
    {"sentence1": b"A man eats", "sentence2": b"a man", "label": 0, "idx": 1},
  ]
  source = text.GlueSource(records, "rte", "validation", glue_tokenizer, max_length=12)
  assert len(source) == 2 and source.num_classes == 2
  assert source.input_shape == {"tokens": (12,), "segments": (12,)}
  first = source[0]
  # [CLS] a man is eating food [UNK](.) [SEP] someone is eating ? [SEP] -> 13 ids: cut by one from the longer text
  np.testing.assert_array_equal(first["tokens"], [2, 4, 5, 6, 7, 8, 3, 9, 6, 7, 10, 3])
  np.testing.assert_array_equal(first["segments"], [0] * 7 + [1] * 5)
  assert first["label"] == 1
  second = source[1]  # "eats" -> "eat" is not in the vocabulary: [UNK]
  np.testing.assert_array_equal(second["tokens"], [2, 4, 5, 1, 3, 4, 5, 3, 0, 0, 0, 0])
  np.testing.assert_array_equal(second["segments"], [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0])
  assert len(source.take(1)) == 1


def test_glue_single_sentences_and_hidden_labels(glue_tokenizer):
  source = text.GlueSource([{"sentence": b"a man", "label": -1}], "sst2", "train", glue_tokenizer, max_length=6)
  with pytest.raises(ValueError, match="hidden"):
    source[0]
  source = text.GlueSource([{"sentence": b"a man", "label": 1}], "cola", "train", glue_tokenizer, max_length=6)
  np.testing.assert_array_equal(source[0]["tokens"], [2, 4, 5, 3, 0, 0])
  np.testing.assert_array_equal(source[0]["segments"], [0] * 6)
  long = text.GlueSource(
    [{"sentence": b"a man a man a man", "label": 1}], "cola", "train", glue_tokenizer, max_length=6
  )
  np.testing.assert_array_equal(long[0]["tokens"], [2, 4, 5, 4, 5, 3])
  strict = text.GlueSource(
    [{"sentence": b"a man a man a man", "label": 1}], "cola", "train", glue_tokenizer, max_length=6, truncate=False
  )
  with pytest.raises(ValueError, match="max_length"):
    strict[0]


def test_glue_names_and_missing_data(tmp_path, glue_tokenizer):
  with pytest.raises(ValueError, match="Unknown GLUE task 'stsb'"):
    text.load("glue/stsb", "train", vocab_file=str(tmp_path / "vocab.txt"))
  with pytest.raises(ValueError, match="validation_matched"):
    text.load("glue/mnli", "validation", vocab_file=str(tmp_path / "vocab.txt"))
  with pytest.raises(FileNotFoundError, match="vocab_file"):
    text.load("glue/rte", "train", data_dir=str(tmp_path))
  with pytest.raises(FileNotFoundError, match="tfds build glue/rte"):
    text.load("glue/rte", "train", data_dir=str(tmp_path), vocab_file=str(tmp_path / "vocab.txt"))
  words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"w{i}" for i in range(30_519)]
  (tmp_path / "big.txt").write_text("\n".join(words) + "\n")
  with pytest.raises(ValueError, match="30523 ids, more than BERT's 30522"):
    text.load("glue/rte", "train", data_dir=str(tmp_path), vocab_file=str(tmp_path / "big.txt"))


# ---- Synthetic stand-ins --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "dataset, split, size, classes, shape",
  [
    ("reviews", "train", 18_113, 5, {"tokens": (128,)}),
    ("reviews", "test", 4_528, 5, {"tokens": (128,)}),
    ("glue/mnli", "validation_mismatched", 9_832, 3, {"tokens": (64,), "segments": (64,)}),
    ("glue/rte", "train", 2_490, 2, {"tokens": (64,), "segments": (64,)}),
    ("glue/sst2", "validation", 872, 2, {"tokens": (64,), "segments": (64,)}),
  ],
)
def test_stand_ins_have_the_real_shapes_and_sizes(dataset, split, size, classes, shape):
  source = text.load(f"synthetic:{dataset}", split)
  assert (len(source), source.num_classes, source.input_shape) == (size, classes, shape)
  vocab = 10_000 if dataset == "reviews" else 30_522
  for i in (0, 1, size - 1):
    record = source[i]
    assert set(record) == {*shape, "label"} and 0 <= record["label"] < classes
    assert {k: record[k].shape for k in shape} == shape and record["tokens"].max() < vocab
    np.testing.assert_array_equal(record["tokens"], source[i]["tokens"])  # the same on every call
    length = int(np.max(np.nonzero(record["tokens"])[0])) + 1
    assert np.all(record["tokens"][:length] != 0)  # right-padded, no zero inside
    if dataset != "reviews":
      assert record["tokens"][0] == 101 and record["tokens"][length - 1] == 102
      pair = dataset != "glue/sst2"
      assert (record["segments"][length - 1] == 1) == pair and record["segments"][0] == 0


def test_stand_in_labels_are_learnable_from_the_tokens():
  """A nearest-centroid classifier on token counts, fitted on 300 training rows, beats chance by far on 200 others."""
  train, test = text.load("synthetic:reviews", "train").take(300), text.load("synthetic:reviews", "test").take(200)

  def counts(source):
    x = np.stack([np.bincount(source[i]["tokens"], minlength=10_000)[2 : 2 + 5 * 16] for i in range(len(source))])
    bands = x.reshape(len(source), 5, 16).sum(-1)  # counts of each class's 16 keyword ids
    return bands / bands.sum(1, keepdims=True), np.array([source[i]["label"] for i in range(len(source))])

  x, y = counts(train)
  centroids = np.stack([x[y == k].mean(0) for k in range(5)])
  x_test, y_test = counts(test)
  accuracy = np.mean(np.argmin(((x_test[:, None] - centroids) ** 2).sum(-1), axis=1) == y_test)
  assert accuracy > 0.9


def test_unknown_text_names():
  with pytest.raises(ValueError, match="Unknown text dataset"):
    text.load("imdb", "train")
  with pytest.raises(ValueError, match="No synthetic text stand-in"):
    text.load("synthetic:imdb", "train")


# ---- BERT's uncased tokenisation: basic tokens, greedy longest-match-first WordPiece, pair encoding -----------------

VOCAB = [
  "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "the", "quick", "##est", "a", "ab", "##b", "##c",
  "##bc", ",", "!", "'", "it", "s", "jump", "##ed", "cafe", "的",
]  # fmt: skip


@pytest.fixture
def tokenizer(tmp_path):
  path = tmp_path / "vocab.txt"
  path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
  return text.WordPiece(str(path))


def test_basic_tokens_lower_case_strip_accents_and_split_punctuation():
  assert text.basic_tokens("Café, JUMPED!") == ["cafe", ",", "jumped", "!"]
  assert text.basic_tokens("it's\tthe\x00 quick\u00a0one") == ["it", "'", "s", "the", "quick", "one"]
  assert text.basic_tokens("a的的b") == ["a", "的", "的", "b"]
  assert text.basic_tokens("x$y") == ["x", "$", "y"]  # '$' is ASCII punctuation for BERT, not Unicode's P*


@pytest.mark.parametrize(
  "sentence, pieces",
  [
    ("UNaffable", ["un", "##aff", "##able"]),  # the example of BERT's README
    ("the quickest", ["the", "quick", "##est"]),
    ("abc", ["ab", "##c"]),  # longest match first: "ab" + "##c", not "a" + "##bc"
    ("ab abb", ["ab", "ab", "##b"]),
    ("Café, jumped!", ["cafe", ",", "jump", "##ed", "!"]),
    ("it's", ["it", "'", "s"]),
    ("unx the", ["[UNK]", "the"]),  # an unmatched remainder makes the whole word unknown
    ("xyz", ["[UNK]"]),
    ("的的", ["的", "的"]),
  ],
)
def test_wordpiece_pieces(tokenizer, sentence, pieces):
  assert tokenizer.tokenize(sentence) == pieces


def test_ids_are_line_numbers_and_long_words_are_unknown(tmp_path, tokenizer):
  assert tokenizer.ids("the quickest!") == [7, 8, 9, 16]
  assert tokenizer.size == len(VOCAB) and (tokenizer.cls, tokenizer.sep, tokenizer.unknown) == (2, 3, 1)
  assert text.WordPiece(str(tmp_path / "vocab.txt"), max_word_chars=3).tokenize("the quick") == ["the", "[UNK]"]


def test_encode_pair_layout():
  tokens, segments = text.encode_pair([10, 11], [20], cls=2, sep=3, max_length=8)
  np.testing.assert_array_equal(tokens, [2, 10, 11, 3, 20, 3, 0, 0])
  np.testing.assert_array_equal(segments, [0, 0, 0, 0, 1, 1, 0, 0])
  tokens, segments = text.encode_pair([10, 11], None, cls=2, sep=3, max_length=5)
  np.testing.assert_array_equal(tokens, [2, 10, 11, 3, 0])
  np.testing.assert_array_equal(segments, [0, 0, 0, 0, 0])
  assert tokens.dtype == np.int32


def test_encode_pair_truncates_longest_first():
  tokens, segments = text.encode_pair([10, 11, 12, 13], [20, 21], cls=2, sep=3, max_length=7)
  np.testing.assert_array_equal(tokens, [2, 10, 11, 3, 20, 21, 3])
  np.testing.assert_array_equal(segments, [0, 0, 0, 0, 1, 1, 1])
  tokens, _ = text.encode_pair([10, 11], [20, 21], cls=2, sep=3, max_length=6)  # a tie cuts the second text
  np.testing.assert_array_equal(tokens, [2, 10, 11, 3, 20, 3])
  tokens, _ = text.encode_pair([10, 11, 12], None, cls=2, sep=3, max_length=4)
  np.testing.assert_array_equal(tokens, [2, 10, 11, 3])
  with pytest.raises(ValueError, match="needs 7 tokens, more than max_length=6"):
    text.encode_pair([10, 11], [20, 21], cls=2, sep=3, max_length=6, truncate=False)


def test_vocabulary_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="vocab_file"):
    text.WordPiece(str(tmp_path / "absent.txt"))
  (tmp_path / "bad.txt").write_text("[UNK]\n[PAD]\n[CLS]\n[SEP]\n")
  with pytest.raises(ValueError, match=r"\[PAD\] on its first line"):
    text.WordPiece(str(tmp_path / "bad.txt"))
  (tmp_path / "short.txt").write_text("[PAD]\n[UNK]\n")
  with pytest.raises(ValueError, match="CLS"):
    text.WordPiece(str(tmp_path / "short.txt"))
