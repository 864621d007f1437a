"""el_jax.data.text.WordPiece against the reference implementation, Hugging Face `tokenizers` configured as BERT's
uncased `FullTokenizer` (BertNormalizer: clean text, space out CJK ideographs, strip accents, lower-case;
BertPreTokenizer: split at whitespace and punctuation; WordPiece with `##` continuations, [UNK], 100-character words),
token for token on a few thousand generated sentences over a generated vocabulary. Dev-only: skipped without
`tokenizers`.

The text keeps to characters on which the two agree. A sweep of every code point (0 to 0x2FFFF) finds them apart
only where the references themselves differ, so el_jax keeps BERT's Python behaviour there:
  - Unicode versions: el_jax uses Python's `unicodedata`, `tokenizers` older Rust tables, so characters assigned or
    recategorised since (e.g. U+061D, U+2E43-U+2E5D punctuation; U+0898-U+089F, U+1AC1-U+1ACE combining marks;
    U+0890 format characters) are split, stripped or dropped by one side only; unassigned code points (Cn) are
    dropped by el_jax (all C* categories, as Hugging Face's Python `BertTokenizer`), kept by `tokenizers` (and by
    Google's original, which drops Cc and Cf only).
  - Final sigma: `str.lower()` turns a word-final capital sigma into 'ς' (as BERT's Python code does), `tokenizers`
    lower-cases character by character into 'σ'.
  - CJK Extension E: `tokenizers` spaces out ideographs from U+2B920, BERT's code (and el_jax) from U+2B820.
"""

import numpy as np
import pytest

from el_jax.data import text

pytest.importorskip("tokenizers", reason="the reference WordPiece comes from the dev-only 'tokenizers'")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"[unused{i}]" for i in range(5)]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
MISSING_CONTINUATIONS = "qxz"  # no '##q', '##x', '##z': words with these past their start become [UNK]
ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
UNICODE_PUNCTUATION = "«»¿¡–—‘’“”…·、。「」・"  # Unicode P* categories
SYMBOLS = "€£°±×÷©®™→♥😀"  # S* categories: not punctuation, part of a word
CJK = "中文字的一是不了人我在有他这为之大来以个国"  # ideographs: each its own token
OTHER_SCRIPTS = "ぁあいうえおかきアイウエオ한국어абвгдежзαβγδεζηθßøæœłđþ"  # not split apart, not stripped
ACCENTED = "éèêëáàâäãåíìîïóòôöõúùûüñçýÿÉÈÊËÁÀÂÄÃÅÍÓÔÖÚÜÑÇĀēīōūǎěǐǒǔńśźżčšžřğış"
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "\u2028", " \u200b", "\x00", "\x07", "\ufffd"]


def _random_word(rng, low=2, high=9, alphabet=LETTERS) -> str:
  return "".join(rng.choice(list(alphabet), size=int(rng.integers(low, high + 1))))


def _vocabulary(rng) -> list[str]:
  """Special tokens, single characters (and their `##` forms, some letters missing), whole words and `##` pieces,
  entries that can never match (upper-case, accented, with punctuation inside), and a few lines repeated further down
  (a repeated token takes its last line's id)."""
  entries = list(SPECIALS)
  entries += list(LETTERS + "0123456789" + ASCII_PUNCTUATION + UNICODE_PUNCTUATION + CJK + OTHER_SCRIPTS[::2])
  entries += ["##" + c for c in LETTERS + "0123456789" if c not in MISSING_CONTINUATIONS]
  entries += ["##" + c for c in OTHER_SCRIPTS[1::3]]
  entries += [_random_word(rng) for _ in range(400)]
  entries += ["##" + _random_word(rng, 1, 4) for _ in range(300)]
  entries += [str(n) for n in rng.integers(0, 3000, 40)] + ["##" + str(n) for n in rng.integers(0, 100, 20)]
  entries += ["Hello", "café", "naïve", "a.b", "don't", "##É"]  # never produced by the normaliser
  entries = list(dict.fromkeys(entries))
  repeated = rng.choice(np.arange(len(SPECIALS), len(entries)), 30, replace=False)
  return entries + [entries[i] for i in repeated]


def _word(rng, whole_words: list[str]) -> str:
  kind = rng.random()
  if kind < 0.45:
    word = whole_words[int(rng.integers(len(whole_words)))]
  elif kind < 0.6:
    word = _random_word(rng, 1, 14)  # unknown: split into pieces, or [UNK]
  elif kind < 0.7:
    word = _random_word(rng, 2, 8, LETTERS + ACCENTED)
  elif kind < 0.77:
    word = str(int(rng.integers(0, 100_000))) + ("" if rng.random() < 0.7 else f".{int(rng.integers(100))}")
  elif kind < 0.84:
    word = "".join(rng.choice(list(CJK), size=int(rng.integers(1, 5))))
  elif kind < 0.9:
    word = _random_word(rng, 1, 6, OTHER_SCRIPTS + LETTERS)
  elif kind < 0.95:
    word = _random_word(rng, 1, 3) + str(rng.choice(list(SYMBOLS))) + _random_word(rng, 0, 3)
  elif kind < 0.99:  # punctuation inside and around a word
    pieces = [_random_word(rng, 1, 5) for _ in range(3)]
    word = str(rng.choice(list(ASCII_PUNCTUATION + UNICODE_PUNCTUATION))).join(pieces)
  else:
    word = _random_word(rng, 95, 110, LETTERS[:8])  # around the 100-character limit
  case = rng.random()
  if case < 0.15:
    word = word.capitalize()
  elif case < 0.2:
    word = word.upper()
  return word


def _sentence(rng, whole_words: list[str]) -> str:
  parts = []
  for _ in range(int(rng.integers(1, 25))):
    parts.append(_word(rng, whole_words))
    if rng.random() < 0.25:
      parts.append(str(rng.choice(list(ASCII_PUNCTUATION + UNICODE_PUNCTUATION))))
    spaces = SPACES if rng.random() < 0.2 else [" "]
    parts.append(str(rng.choice(spaces)))
  lead = str(rng.choice(SPACES)) if rng.random() < 0.1 else ""
  return lead + "".join(parts)


def _reference(vocab_file: str):
  """BERT's uncased FullTokenizer in `tokenizers`; no special tokens are registered, so a literal '[CLS]' in the text
  is tokenised as characters, as in BERT's own code."""
  from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

  reference = Tokenizer(models.WordPiece.from_file(vocab_file, unk_token="[UNK]", max_input_chars_per_word=100))
  reference.normalizer = normalizers.BertNormalizer(
    clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True
  )
  reference.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
  return reference


def test_wordpiece_matches_the_reference_tokenizer_on_generated_text(tmp_path):
  rng = np.random.default_rng(0)
  vocab = _vocabulary(rng)
  path = tmp_path / "vocab.txt"
  path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
  ours, reference = text.WordPiece(str(path)), _reference(str(path))
  assert ours.size == len(vocab) and ours.vocab == reference.get_vocab()
  whole_words = [w for w in vocab[len(SPECIALS) :] if len(w) > 1 and w.isalpha() and w.islower()]
  sentences = [_sentence(rng, whole_words) for _ in range(3000)]
  expected = reference.encode_batch(sentences, add_special_tokens=False)
  unknown = total = 0
  for sentence, encoding in zip(sentences, expected, strict=True):
    assert ours.tokenize(sentence) == encoding.tokens, repr(sentence)
    ids = ours.ids(sentence)
    assert ids == encoding.ids, repr(sentence)
    unknown, total = unknown + ids.count(ours.unknown), total + len(ids)
  assert total > 30_000 and 0.02 < unknown / total < 0.3  # the text exercises both matched pieces and [UNK]
