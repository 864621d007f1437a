"""CE + expectation-loss mixing, GLUE with BERT (mixing paper, "BERT on the GLUE Benchmark", Figure 2): BERT-base
fine-tuned on seven GLUE classification tasks with CE and the three focus schedules. The paper names no task but says
that MNLI has three classes and the rest two; GLUE's classification tasks besides the regression task STS-B are
eight, and WNLI, which BERT's paper also leaves out, is taken to be the one missing: CoLA, SST-2, MRPC, QQP, MNLI,
QNLI, RTE.

Setting: maximum sequence length 64, learning rate 2e-5, six epochs, evaluation on the dev set ("validation"; MNLI:
"validation_matched", `--config.dataset.eval_split=validation_mismatched` for the other). The paper does not give the
optimiser or batch size; its footnote points to huggingface/transformers, whose `run_glue` defaults are used: Adam
with decoupled weight decay 0, betas (0.9, 0.999), epsilon 1e-8, the learning rate decayed linearly to 0 over
training; batch 32 (BERT's recommendation).
Paper results: only as a Dolan-More performance profile over the seven tasks and four seeds (Figure 2): F=0-0.5 is
the dominant profile and CE alone is mostly below the three mixtures; no per-task numbers are given in the text.

Fine-tuning needs BERT-base uncased's pretrained weights and vocabulary: pass the vocabulary file as
`--config.dataset.options.vocab_file=.../vocab.txt` and the weights as `--config.model.checkpoint=...`: the
`model.safetensors` of Hugging Face's `bert-base-uncased` as it is (the `text` extra reads it, without torch), or a
`.npz` of the PyTorch state dict (see `el_jax/models/bert.py` for the one-line conversion). Without
a checkpoint the model starts from random weights (training from scratch, not the paper's setting); a checkpoint path
that does not exist raises FileNotFoundError when the model is built. Data: TFDS `glue/<task>` as array_record in
`--config.dataset.options.data_dir`.

Arguments: task=cola|sst2|mrpc|qqp|mnli|qnli|rte (default rte); loss=ce|f0|f0_05|f0_to_05 (default f0_to_05); smoke
(one step on the synthetic stand-in `synthetic:text:glue/<task>`).

python train.py --config configs/expectation_mixing/glue.py:task=rte,loss=f0_to_05 --workdir DIR \
  --config.dataset.options.data_dir=/data/tfds --config.dataset.options.vocab_file=/data/bert/vocab.txt \
  --config.model.checkpoint=/data/bert-base-uncased/model.safetensors
"""

import ml_collections
from ml_collections import config_dict

from el_jax.configs import common, losses, variants

TASKS = ("cola", "sst2", "mrpc", "qqp", "mnli", "qnli", "rte")
MAX_LENGTH = 64


def get_config(arg=None):
  args = common.parse_arg(arg, task="rte", loss="f0_to_05", smoke=False)
  task = variants.choose("task", args.task, TASKS)
  config = common.base_config()
  config.dataset.name = f"text:glue/{task}"
  config.dataset.eval_split = "validation_matched" if task == "mnli" else "validation"
  config.dataset.normalize = False
  config.dataset.options = ml_collections.ConfigDict(
    {
      "data_dir": config_dict.placeholder(str),
      "vocab_file": config_dict.placeholder(str),
      "max_length": MAX_LENGTH,
    }
  )
  config.model = ml_collections.ConfigDict(
    {"name": "bert_base", "dropout_rate": 0.1, "checkpoint": config_dict.placeholder(str)}
  )
  config.loss = losses.loss_config(losses.MIXING, args.loss)

  config.optimizer.name = "adamw"
  config.optimizer.learning_rate = 2e-5
  config.optimizer.b1 = 0.9
  config.optimizer.b2 = 0.999
  config.optimizer.eps = 1e-8
  config.optimizer.weight_decay = 0.0
  config.optimizer.schedule = "linear"
  config.batch_size = 32
  config.eval_batch_size = 256
  config.num_epochs = 6
  config.log_every_steps = 50
  if args.smoke:
    common.shrink_to_a_few_steps(config, batch_size=2, steps=1, eval_examples=2)
    config.dataset.name = f"synthetic:text:glue/{task}"
    config.dataset.options = ml_collections.ConfigDict()
  return config
