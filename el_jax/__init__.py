"""el_jax: classification losses that value well-classified examples, with the training and evaluation code
to reproduce the papers that propose them."""

__version__ = "0.1.0"
