"""A small decoder-only Transformer language model on a synthetic token stream, trained through the loss fused with
its output projection (`el_jax.losses.linear_loss`), which never holds a batch's `[tokens, V]` logits.

Data: `markov_tokens` (`el_jax.data.markov_tokens`), windows of 128 tokens of a sparse random Markov chain over a
vocabulary of V ids (`vocab=`, default 4096), each id followed by one of 4 successors with probabilities
(1/2, 1/4, 1/8, 1/8). The best achievable loss per token is the chain's entropy rate, 1.75 bits = 1.213 nats; a
model that ignores the context cannot do better than `log(V - 1)` (8.32 nats for V = 4096).

Model: `transformer_lm`, 2 post-norm blocks of width 128 (feed-forward 512, 4 heads), embeddings tied with the output
projection, no dropout (the stream is unlimited, nothing to overfit). Adam, peak learning rate 3e-3 after 100 warm-up
updates, then cosine decay to 0; 32 windows (4,096 tokens) per update, 2,000 updates in 4 epochs of 500 (an epoch
reads the same 16,000 windows: 2M tokens, about 120 per transition of the chain at V = 4096), each followed by an
evaluation on 512 windows of the validation split (evaluation materialises the logits; its `eval/cross_entropy` is
the number to set beside the entropy rate). With `loss=el` at V = 4096 the run ends at an evaluation cross-entropy of
1.32 nats (from 8.3) and an accuracy of 0.499, against the chain's 1.213 and 1/2 (always naming the most probable
successor: the best possible accuracy).

Arguments:
  loss=ce|el   cross-entropy, or the encouraging loss with the EL paper's conservative bonus LE = 0.5 (its setting
               for machine translation, the paper's next-token task), without label smoothing (default el);
  vocab=V      the vocabulary size, padding id included (default 4096);
  smoke        a 1-layer, width-64 model on windows of 32 tokens of a V = 512 chain (unless `vocab=` is given),
               300 updates of 16 windows, evaluated on 64: in under a minute on a laptop CPU its evaluation
               cross-entropy falls from log 511 = 6.2 to about 1.6 nats (the entropy rate: 1.213).
`config.loss.fused_output` is True; `--config.loss.fused_output=False` trains on the materialised logits instead
(the same loss and gradients up to float rounding, with the training accuracy logged). `--config.loss.fused_blocks`
sets the fused path's `(token_block, vocab_block)` (default 2048 x 8192; larger blocks suit an accelerator).

python train.py --config configs/language_model.py --workdir runs/lm/el
python train.py --config configs/language_model.py:loss=ce,vocab=32768 --workdir runs/lm/ce_32k
python train.py --config configs/language_model.py:smoke --workdir /tmp/lm --config.loss.fused_output=False
"""

import ml_collections
from ml_collections import config_dict

from el_jax.configs import common, losses

LOSSES = losses.encouraging_loss_menu(log_end=0.5)
SMOKE_VOCAB = 512


def get_config(arg=None):
  args = common.parse_arg(arg, loss="el", vocab=0, smoke=False)  # vocab=0: the default of the run's size
  vocab = args.vocab or (SMOKE_VOCAB if args.smoke else 4096)
  if vocab < 3:
    raise ValueError(f"vocab={vocab} is too small: the stream needs padding and at least 2 states (vocab >= 3).")
  config = common.base_config()
  config.dataset.name = "markov_tokens"
  config.dataset.train_split = "train"
  config.dataset.eval_split = "validation"
  config.dataset.normalize = False
  config.dataset.options = ml_collections.ConfigDict({"vocab_size": vocab, "seq_length": 128, "seed": 0})

  config.model = ml_collections.ConfigDict(
    {
      "name": "transformer_lm",
      "layers": 2,
      "dim": 128,
      "hidden": 512,
      "heads": 4,
      "dropout": 0.0,
      "tie_embeddings": True,
      "output_bias": False,
    }
  )
  config.loss = losses.loss_config(LOSSES, args.loss)
  # True: the loss is computed fused with the output projection (el_jax.losses.linear_loss), never holding the
  # [tokens, V] logits of a training batch; the same loss and gradients up to float rounding.
  config.loss.fused_output = True
  # [token_block, vocab_block] of the fused output layer; None: linear_loss's defaults (2048 x 8192)
  config.loss.fused_blocks = config_dict.placeholder(tuple)

  config.optimizer = ml_collections.ConfigDict(
    {"name": "adam", "learning_rate": 3e-3, "schedule": "cosine", "warmup_epochs": 0.2}  # 100 warm-up updates
  )
  config.batch_size = 32
  config.eval_batch_size = 32
  config.num_epochs = 4
  config.dataset.train_subset = 500 * config.batch_size  # 500 updates an epoch
  config.dataset.eval_subset = 512
  config.log_every_steps = 50
  if args.smoke:
    config.dataset.options.seq_length = 32
    config.model.update(layers=1, dim=64, hidden=128)
    config.batch_size, config.eval_batch_size, config.num_epochs = 16, 32, 1
    config.dataset.train_subset, config.dataset.eval_subset = 300 * config.batch_size, 64
    config.optimizer.warmup_epochs = 0.1  # 30 updates
    config.log_every_steps = 25
  return config
