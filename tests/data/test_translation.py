"""Reading fairseq's prepared parallel text (dictionaries, BPE'd sentences) into fixed-shape records, the errors on
bad files, and the synthetic stand-ins."""

import numpy as np
import pytest

from el_jax.data import translation

# fairseq's dict format: "<symbol> <count>", most frequent first; ids here start at 4 after pad, BOS, EOS, unknown.
DE_DICT = "ich 10\nbin 8\nein 5\nhaus@@ 3\nboot 2\n"
EN_DICT = "i 10\nam 9\na 7\nhouse@@ 4\nboat 2\n"


def _write_iwslt14(
  tmp_path, *, train_de="ich bin ein haus@@ boot\nein hund\n", train_en="i am a house@@ boat\na dog\n"
):
  (tmp_path / "dict.de.txt").write_text(DE_DICT)
  (tmp_path / "dict.en.txt").write_text(EN_DICT)
  (tmp_path / "train.de").write_text(train_de)
  (tmp_path / "train.en").write_text(train_en)
  return str(tmp_path)


def _load(tmp_path, **options):
  vocab = {"source_vocab_size": 9, "target_vocab_size": 9}
  return translation.load("iwslt14_de_en", "train", data_dir=str(tmp_path), **{**vocab, **options})


def test_dictionary_ids_follow_the_file_after_the_four_specials(tmp_path):
  path = tmp_path / "dict.de.txt"
  path.write_text(DE_DICT + "</s> 1 #fairseq:overwrite\n")
  dictionary = translation.read_dictionary(str(path))
  assert dictionary.symbols == ("<pad>", "<s>", "</s>", "<unk>", "ich", "bin", "ein", "haus@@", "boot")
  assert dictionary.index("boot") == 8 and dictionary.index("hund") == translation.UNK_ID
  np.testing.assert_array_equal(dictionary.encode("ich  boot hund"), [4, 8, 3])
  assert dictionary.string([4, 8, 3, 2, 5]) == "ich boot <unk>"
  assert dictionary.string([4, 3, 0, 0], escape_unk=True) == "ich <<unk>>"


def test_records_are_padded_shifted_and_masked(tmp_path):
  _write_iwslt14(tmp_path, train_de="ich bin ein haus@@ boot\nein hund\n", train_en="i am a house@@ boat\na dog\n")
  source = _load(tmp_path, max_source_length=7, max_target_length=6)
  assert len(source) == 2 and source.num_classes == 9
  assert source.input_shape == {"source": (7,), "target_in": (6,)}
  record = source[0]
  np.testing.assert_array_equal(record["source"], [4, 5, 6, 7, 8, 2, 0])  # ids, EOS, padding
  np.testing.assert_array_equal(record["label"], [4, 5, 6, 7, 8, 2])  # target ids, EOS
  np.testing.assert_array_equal(record["target_in"], [1, 4, 5, 6, 7, 8])  # BOS, target ids
  np.testing.assert_array_equal(record["label_mask"], [True] * 6)
  record = source[1]  # "hund" and "dog" are not in the dictionaries
  np.testing.assert_array_equal(record["source"], [6, 3, 2, 0, 0, 0, 0])
  np.testing.assert_array_equal(record["label"], [6, 3, 2, 0, 0, 0])
  np.testing.assert_array_equal(record["target_in"], [1, 6, 3, 0, 0, 0])
  np.testing.assert_array_equal(record["label_mask"], [True, True, True, False, False, False])
  assert {k: v.dtype for k, v in record.items()} == {
    "source": np.int32,
    "target_in": np.int32,
    "label": np.int32,
    "label_mask": bool,
  }
  assert len(source.take(1)) == 1
  np.testing.assert_array_equal(source.take(1)[0]["source"], source[0]["source"])


def test_a_pair_too_long_raises_naming_the_option_or_is_dropped_on_request(tmp_path):
  _write_iwslt14(tmp_path)
  with pytest.raises(ValueError, match=r"train.de:1: 5 tokens \+ EOS exceed max_source_length=5"):
    _load(tmp_path, max_source_length=5, max_target_length=8)
  with pytest.raises(ValueError, match="max_target_length=4"):
    _load(tmp_path, max_source_length=8, max_target_length=4)
  with pytest.warns(UserWarning, match="dropped 1 of 2"):
    source = _load(tmp_path, max_source_length=5, max_target_length=8, skip_too_long=True)
  assert len(source) == 1
  np.testing.assert_array_equal(source[0]["source"], [6, 3, 2, 0, 0])


def test_bad_files_are_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="prepare-iwslt14.sh"):
    _load(tmp_path)
  _write_iwslt14(tmp_path, train_en="i am\n")
  with pytest.raises(ValueError, match="line-aligned"):
    _load(tmp_path)
  _write_iwslt14(tmp_path)
  with pytest.raises(ValueError, match="source_vocab_size=9"):
    translation.load("iwslt14_de_en", "train", data_dir=str(tmp_path))  # 9 types, not fairseq's 8,848
  (tmp_path / "dict.en.txt").write_text("i 10\nam\n")
  with pytest.raises(ValueError, match=r"dict.en.txt:2: expected '<symbol> <count>'"):
    _load(tmp_path)
  (tmp_path / "dict.en.txt").write_text("i 10\ni 3\n")
  with pytest.raises(ValueError, match="duplicate symbol 'i'"):
    _load(tmp_path)
  with pytest.raises(ValueError, match="data_dir"):
    translation.load("iwslt14_de_en", "train")
  with pytest.raises(ValueError, match="Unknown split 'dev'"):
    translation.load("iwslt14_de_en", "dev", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="Unknown translation dataset"):
    translation.load("wmt14", "train")


def test_bpe_removal_joins_subwords():
  assert translation.remove_bpe("ein haus@@ boot ist sch@@ ön@@", "subword_nmt") == "ein hausboot ist schön"
  assert translation.remove_bpe("\u2581le \u2581ba teau", "sentencepiece") == "le bateau"


@pytest.mark.parametrize(
  "name, vocab, sizes",
  [
    ("iwslt14_de_en", (8848, 6632), {"train": 160_239, "valid": 7_283, "test": 6_750}),
    ("iwslt17_fr_en", (16240, 16240), {"train": 233_000}),
  ],
)
def test_stand_ins_have_the_real_vocabularies_and_split_sizes(name, vocab, sizes):
  for split, size in sizes.items():
    source = translation.load(f"synthetic:{name}", split)
    assert len(source) == size
    assert len(source.source_dictionary) == vocab[0] and source.num_classes == vocab[1]
    assert source.input_shape == {"source": (256,), "target_in": (256,)}


def test_stand_in_pairs_are_a_fixed_token_map_with_realistic_lengths():
  source = translation.load("synthetic:iwslt14_de_en", "train", max_source_length=64, max_target_length=64)
  records = [source[i] for i in range(400)]
  lengths = np.array([r["label_mask"].sum() for r in records])  # target tokens + EOS
  assert 20 < lengths.mean() < 30 and lengths.max() <= 64  # IWSLT14's 25 tokens per sentence
  mapping = {}
  for r in records:
    n = int(r["label_mask"].sum()) - 1
    src = r["source"][:n]
    np.testing.assert_array_equal(r["source"][n], translation.EOS_ID)
    np.testing.assert_array_equal(r["label"][:n], r["target_in"][1 : n + 1])
    for s, t in zip(src, r["label"][:n], strict=True):
      assert mapping.setdefault(int(s), int(t)) == int(t)  # one target token per source token, in every pair
    assert src.min() >= 4 and r["label"][:n].min() >= 4
  np.testing.assert_array_equal(source[5]["source"], source[5]["source"])
  other = translation.load("synthetic:iwslt14_de_en", "test", max_source_length=64, max_target_length=64)
  assert not np.array_equal(other[0]["source"], source[0]["source"])
  with pytest.raises(ValueError, match="drop the data_dir"):
    translation.load("synthetic:iwslt14_de_en", "train", data_dir="/data")


def test_token_lengths_count_the_longer_side_with_its_eos():
  """fairseq's `--max-tokens` count of each pair, `max(source, target) + 1`, checked against the pairs themselves."""
  stand_in = translation.load("synthetic:iwslt14_de_en", "train", max_source_length=20, max_target_length=30).take(50)
  expected = [max(len(s), len(t)) + 1 for s, t in (stand_in.pair(i) for i in range(50))]
  np.testing.assert_array_equal(stand_in.token_lengths(), expected)
  assert max(expected) <= 20  # the shorter maximum caps both sides, EOS included
  vocabulary = translation.Dictionary.synthetic(10)
  text = translation.ParallelText(
    "pairs", np.arange(6, dtype=np.int32), np.array([0, 1, 6]), np.arange(5, dtype=np.int32), np.array([0, 4, 5]),
    vocabulary, vocabulary, 8, 8,
  )  # fmt: skip
  np.testing.assert_array_equal(text.token_lengths(), [5, 6])  # (1, 4) and (5, 1) tokens + EOS
