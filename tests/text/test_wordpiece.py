"""BERT's uncased tokenisation on hand-worked examples: basic tokens, greedy longest-match-first WordPiece, and the
`[CLS] a [SEP] b [SEP]` encoding with longest-first truncation."""

import numpy as np
import pytest

from el_jax.data import text

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
