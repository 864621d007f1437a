"""A fully-connected network: the HEM paper's MNIST MLP (appendix A.1.3) and the mixing paper's UCI networks."""

import math

from flax import nnx


class MLP(nnx.Module):
  """flatten -> [dense(width) -> ReLU] x depth -> dense(K).

  The defaults (3 hidden layers of 200) give 239,410 parameters on 28x28x1 inputs with 10 classes.
  `depth=0` is a linear classifier. `width=None` makes each hidden layer as wide as the input (the mixing paper's
  UCI network, an I x I layer then I x K, for sets whose input size I the config cannot know).
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: tuple[int, ...],
    rngs: nnx.Rngs,
    depth: int = 3,
    width: int | None = 200,
  ):
    inputs = math.prod(input_shape)
    sizes = [inputs] + [inputs if width is None else width] * depth
    self.hidden = nnx.List(
      [nnx.Linear(n_in, n_out, rngs=rngs) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    )
    self.head = nnx.Linear(sizes[-1], num_classes, rngs=rngs)

  def __call__(self, x):
    x = x.reshape(x.shape[0], -1)
    for layer in self.hidden:
      x = nnx.relu(layer(x))
    return self.head(x)
