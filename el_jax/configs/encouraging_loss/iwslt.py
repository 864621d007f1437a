"""Encouraging loss, machine translation (EL paper §4.1 "machine translation", appendix B.1, Fig. 4 and Table 1):
a Transformer on IWSLT14 German-English (160K training pairs) and IWSLT17 French-English (233K), BLEU with beam 5.

Setting ("we adopt most settings from fairseq"; the hyper-parameters of the authors' released `translation/readme.sh`,
tuned for the CE baseline and reused for EL):
  * De-En: fairseq's `transformer_iwslt_de_en` (6 + 6 layers, d 512, feed-forward 1024, 4 heads), dropout 0.4,
    separate decoder input and output embeddings (their runs are named "unshareemb"); Adam (0.9, 0.98), peak lr
    1e-3, inverse-sqrt schedule with 4,000 warm-up updates, weight decay 1e-4 (decoupled, as fairseq's Adam),
    4,096 tokens x 4 accumulated batches (`--update-freq 4`, the appendix's 16K tokens), 20K updates.
  * Fr-En: the same architecture with 2 + 2 layers and one joint 16,240-type sentencepiece dictionary shared by
    the source, target and output embeddings; dropout 0.3, peak lr 1e-3 (the appendix's "the highest learning
    rate is 1e-3"; the released script's Fr-En command uses 5e-4: `--config.optimizer.learning_rate=5e-4`),
    weight decay 1e-3, 4,096 tokens per batch, 100K updates.
  * loss: label smoothing 0.1 for both (`smoothing=0` for appendix Table 8's rows without it); `loss=ce` is
    cross-entropy, `loss=el` the encouraging loss with the conservative bonus LE = 0.5 (bonus and smoothing as
    the released fairseq criterion); padding tokens are masked.
  * evaluation: beam 5, length penalty 1, BPE removed, tokenised BLEU on the test set (`el_jax.evaluate.bleu`).
Paper results (BLEU, mean of 5 seeds, averaged last-10-epoch checkpoints): De-En CE 35.09 -> EL 35.50; Fr-En
CE 37.10 -> EL 37.73 (Table 1).

How this maps onto el_jax's trainer:
  * `batching=tokens` (the default): batches of a token budget, the appendix's "each batch has 16K tokens" (De-En)
    and "4K tokens" (Fr-En) as `config.max_tokens` = 16,384 and 4,096 (no gradient accumulation: one batch of the
    summed budget). As fairseq counts them, a sentence pair is `max(source, target)` tokens with EOS and a batch is
    its pairs x its longest pair's count; here every pair of a batch is padded to one of a few bucket lengths (at
    most 16 up to 256 tokens, so XLA compiles at most that many train steps) and pairs x that length stays within
    the budget (`el_jax.data.token_batches`). `batch_size` is then unused for training. An epoch is as many updates
    as its batches, which depends on the data's lengths: on the stand-ins of the two datasets' sizes and mean
    lengths, 280 (De-En, 16K) and 1,793 (Fr-En, 4K) on one device (`TOKEN_BATCHES_PER_EPOCH`; a mesh of D devices
    rounds each batch's rows down to a multiple of D). `num_epochs` is `ceil(updates / that)`: De-En 72 epochs
    (~20,160 updates), Fr-En 56 (~100,408). For the prepared data, `TokenBatches.for_source(train,
    max_tokens=...).num_batches` gives the exact count; set `--config.num_epochs` from it to match the paper's
    updates exactly;
  * `batching=sentences` (el_jax's earlier batching, about 10x the compute): batches hold a fixed number of
    sentences, every one padded to 256 tokens: 160 sentences approximate fairseq's 4,096 tokens at IWSLT14's mean
    of 25 tokens per sentence (EOS included), so De-En uses 4 x 160 = 640 sentences per update and Fr-En 160; the
    trainer counts epochs of `len(train) // batch_size` updates: De-En 160,239 // 640 = 250 updates per epoch, 80
    epochs = 20,000 updates; Fr-En 233,000 // 160 = 1,456 per epoch, 69 epochs = 100,464 updates;
  * either way a pair longer than 256 tokens raises an error naming `dataset.options.max_source_length` /
    `max_target_length`;
  * the per-epoch evaluation is the token-level loss and accuracy on the valid split; a checkpoint is kept for each
    of the last 10 epochs, and `el-jax-average --workdir DIR --out_dir DIR_avg10 --last 10` writes their average
    (the paper's model) as a new workdir; `evaluate.py --workdir DIR_avg10 --split test` gives the test set's
    BLEU, greedy and with beam 5 (`--bleu_beams`; `el_jax.evaluate.bleu.translation_bleu` from Python);
  * bfloat16 compute stands in for fairseq's `--fp16`;
  * `--config.loss.fused_output=True` trains through the loss fused with the output projection
    (`el_jax.losses.linear_loss`), which never holds a batch's `[tokens, V]` logits (the training accuracy is then
    not logged; the evaluation's is).

Arguments: pair=de_en|fr_en (default de_en); loss=ce|el (default el); smoothing=0.1|0 (default 0.1, the label
smoothing of both losses); batching=tokens|sentences (default tokens, see above); smoke (one step of two synthetic
pairs of the real vocabulary sizes and lengths, at most 512 padded tokens, evaluated on two). Data: fairseq's
prepared files, see `el_jax.data.translation.DATASETS`.

python train.py --config configs/encouraging_loss/iwslt.py:pair=de_en,loss=el --workdir DIR \\
  --config.dataset.options.data_dir=examples/translation/iwslt14.tokenized.de-en
"""

import math

import ml_collections
from ml_collections import config_dict

from el_jax.configs import common, losses

SMOOTHING = 0.1  # the label smoothing of the paper's main runs (Table 1); Table 8 also trains without it
# pair -> dataset, training pairs, source vocabulary, layers, dropout, peak lr, weight decay, sentences per update
# (batching=sentences), tokens per update (batching=tokens), updates, and whether one joint dictionary is shared by
# all embeddings.
PAIRS = {
  "de_en": dict(
    dataset="iwslt14_de_en",
    train_size=160_239,
    source_vocab_size=8848,
    layers=6,
    dropout=0.4,
    learning_rate=1e-3,
    weight_decay=1e-4,
    batch_size=4 * 160,
    max_tokens=4 * 4096,
    updates=20_000,
    share_all=False,
  ),
  "fr_en": dict(
    dataset="iwslt17_fr_en",
    train_size=233_000,
    source_vocab_size=16240,
    layers=2,
    dropout=0.3,
    learning_rate=1e-3,
    weight_decay=1e-3,
    batch_size=160,
    max_tokens=4096,
    updates=100_000,
    share_all=True,
  ),
}
MAX_LENGTH = 256  # tokens per sentence, EOS included
BATCHINGS = ("tokens", "sentences")
# Token batches per epoch of the stand-ins (synthetic:<dataset>, the real sizes and mean lengths) at the pair's
# max_tokens on one device: TokenBatches.for_source(source, max_tokens=...).num_batches.
TOKEN_BATCHES_PER_EPOCH = {"de_en": 280, "fr_en": 1793}


def get_config(arg=None):
  args = common.parse_arg(arg, pair="de_en", loss="el", smoothing=SMOOTHING, batching="tokens", smoke=False)
  if args.pair not in PAIRS:
    raise ValueError(f"Unknown pair {args.pair!r}. Valid: {', '.join(sorted(PAIRS))}.")
  if args.batching not in BATCHINGS:
    raise ValueError(f"Unknown batching {args.batching!r}. Valid: {', '.join(BATCHINGS)}.")
  pair = PAIRS[args.pair]
  config = common.base_config()
  config.dataset.name = f"translation:{pair['dataset']}"
  config.dataset.train_split = "train"
  config.dataset.eval_split = "valid"
  config.dataset.normalize = False
  config.dataset.options = ml_collections.ConfigDict(
    {
      "data_dir": config_dict.placeholder(str),
      "max_source_length": MAX_LENGTH,
      "max_target_length": MAX_LENGTH,
      "skip_too_long": False,
    }
  )

  config.model = ml_collections.ConfigDict(
    {
      "name": "transformer_iwslt",
      "layers": pair["layers"],
      "dropout": pair["dropout"],
      "source_vocab_size": pair["source_vocab_size"],
      "share_decoder_embeddings": pair["share_all"],
      "share_all_embeddings": pair["share_all"],
    }
  )
  if args.smoothing not in (0.0, SMOOTHING):
    raise ValueError(f"smoothing={args.smoothing} is not one of the paper's: {SMOOTHING} (Table 1) or 0 (Table 8).")
  menu = losses.encouraging_loss_menu(log_end=0.5, label_smoothing=args.smoothing)
  config.loss = losses.loss_config(menu, args.loss)
  # True: the loss is computed fused with the output projection (el_jax.losses.linear_loss), never holding the
  # [tokens, V] logits of a training batch; the same loss and gradients up to float rounding.
  config.loss.fused_output = False
  # [token_block, vocab_block] of the fused output layer; None: linear_loss's defaults (2048 x 8192)
  config.loss.fused_blocks = config_dict.placeholder(tuple)

  config.optimizer = ml_collections.ConfigDict(
    {
      "name": "adam",
      "learning_rate": pair["learning_rate"],
      "b1": 0.9,
      "b2": 0.98,
      "eps": 1e-8,
      "schedule": "inverse_sqrt",
      "warmup_steps": 4000,
      "weight_decay": pair["weight_decay"],
      "weight_decay_mode": "decoupled",
    }
  )
  config.batch_size = pair["batch_size"]
  config.eval_batch_size = 160
  # padded tokens per batch (el_jax.data.token_batches); None: batches of batch_size sentences
  config.max_tokens = config_dict.placeholder(int)
  if args.batching == "tokens":
    config.max_tokens = pair["max_tokens"]
    config.num_epochs = math.ceil(pair["updates"] / TOKEN_BATCHES_PER_EPOCH[args.pair])
  else:
    config.num_epochs = math.ceil(pair["updates"] / (pair["train_size"] // pair["batch_size"]))
  config.compute_dtype = "bfloat16"
  config.log_every_steps = 100
  config.checkpoint_keep = 10  # the last 10 epochs' checkpoints, which the paper's BLEU averages (el-jax-average)
  if args.smoke:
    common.shrink_to_a_few_steps(config, batch_size=2, steps=1, eval_examples=2)
    config.dataset.name = f"synthetic:translation:{pair['dataset']}"
    config.compute_dtype = "float32"
    if config.max_tokens:  # the two pairs in one batch of at most the padded tokens of the sentence smoke's
      config.max_tokens = 2 * MAX_LENGTH
  return config
