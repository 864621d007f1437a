"""Learning without forgetting (Li and Hoiem, 2016, arXiv:1606.09282, eq. 2).

From the second episode on, the outputs of the network being trained are distilled towards those of the network
as it was at the end of the previous episode, on the current training inputs, over the classes seen before:

    L_old = (1 / N) sum_n KL( softmax(z_old(x_n) / T) || softmax(z(x_n) / T) ),

the cross-entropy of the paper minus the (constant) entropy of the old model's softened outputs, restricted to the
previously seen units as Avalanche's `LwF` does. It is added with weight `alpha` (one per episode in the baselines).
"""

import jax
import jax.numpy as jnp


def distillation_loss(logits, previous_logits, temperature: float, class_mask=None):
  """`(1/N) sum_n KL(q_n || p_n)`, `q = softmax(z_old / T)`, `p = softmax(z / T)` over the classes in `class_mask`.

  Args:
    logits: `[N, K]` outputs of the network being trained.
    previous_logits: `[N, K]` outputs of the previous network (no gradient flows into them).
    temperature: `T > 0`.
    class_mask: `[K]` bools, the classes seen in earlier episodes (None: all).
  """
  if temperature <= 0:
    raise ValueError(f"The distillation temperature must be positive, got {temperature}.")
  previous_logits = jax.lax.stop_gradient(previous_logits)
  if class_mask is None:
    class_mask = jnp.ones(logits.shape[-1], bool)
  # Unseen classes get a large negative finite logit: zero probability, and finite gradients.
  log_p = jax.nn.log_softmax(jnp.where(class_mask, logits / temperature, -1e9), axis=-1)
  log_q = jax.nn.log_softmax(jnp.where(class_mask, previous_logits / temperature, -1e9), axis=-1)
  kl = jnp.sum(jnp.where(class_mask, jnp.exp(log_q) * (log_q - log_p), 0.0), axis=-1)
  return jnp.mean(kl)
