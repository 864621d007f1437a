"""Graph classifiers on dense padded batches: GCN layers with hierarchical self-attention graph pooling (SAGPool).

The EL paper's graph-classification model (§4.1, appendix B.1) is GCN (Kipf & Welling, ICLR 2017) with SAGPool
(Lee, Lee & Kang, ICML 2019), in SAGPool's hierarchical form (SAGPool_h, Figure 2 of that paper), which is what the
released code of both papers builds:

  3 x [GCN(hidden) -> ReLU -> SAGPool(ratio) -> readout r_l = [max || mean] over the kept nodes]
  -> r_1 + r_2 + r_3 -> dense(hidden) -> ReLU -> dropout -> dense(hidden / 2) -> ReLU -> dense(K)

A batch holds `B` graphs padded to `N` nodes:
  nodes      float `[B, N, F]` node features (zero on padding)
  adjacency  float or uint8 `[B, N, N]`; `adjacency[b, i, j] != 0` when node `i` receives a message from node `j`
             (a symmetric matrix for undirected graphs). Its diagonal is ignored: every layer adds its own
             self-loops, as PyTorch Geometric's `GCNConv` does on graphs read without self-loops.
  node_mask  bool `[B, N]`, True on a graph's nodes and False on padding; the nodes need not come first.
Padding never affects the logits: padding nodes have no edges in the normalised adjacency, are never selected by the
pooling and are never counted in a readout. A graph with no nodes (e.g. the zero padding that fills an evaluation
batch) reads out as zeros.

Each pooling level gathers the top `ceil(ratio * N)` slots of every graph, so the padded size halves at each level
for `ratio = 0.5` (PROTEINS: 620 -> 310 -> 155 -> 78 slots). The first layer's cost is `O(B N^2 hidden)`.
"""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

INPUTS = ("nodes", "adjacency", "node_mask")


def normalized_adjacency(adjacency, node_mask):
  r"""The GCN propagation matrix :math:`\hat D^{-1/2} \hat A \hat D^{-1/2}` of each graph of the batch.

  :math:`\hat A = A + I` (Kipf & Welling 2017, Eq. 2) over the graph's nodes: the diagonal of `adjacency` is replaced
  by 1 on real nodes, and rows and columns of padding nodes are zero. :math:`\hat D_{ii} = \sum_j \hat A_{ij}` is the
  weighted number of neighbours a node receives from, plus one; padding rows and columns of the result are zero.

  Args:
    adjacency: `[B, N, N]` edge weights (uint8, bool or float; see the module docstring for the direction).
    node_mask: `[B, N]` bool, True on real nodes.

  Returns:
    `[B, N, N]` in the dtype of `adjacency` when it is floating, float32 otherwise.
  """
  dtype = adjacency.dtype if jnp.issubdtype(adjacency.dtype, jnp.floating) else jnp.float32
  mask = node_mask.astype(dtype)
  n = adjacency.shape[-1]
  off_diagonal = 1 - jnp.eye(n, dtype=dtype)
  a_hat = (
    adjacency.astype(dtype) * off_diagonal * mask[:, :, None] * mask[:, None, :]
    + jnp.eye(n, dtype=dtype) * (mask[:, :, None])
  )
  degree = jnp.sum(a_hat, axis=-1)
  inv_sqrt = jnp.where(degree > 0, jax.lax.rsqrt(jnp.maximum(degree, 1e-12)), 0).astype(dtype)
  return inv_sqrt[:, :, None] * a_hat * inv_sqrt[:, None, :]


class GCNLayer(nnx.Module):
  r"""One graph convolution (Kipf & Welling 2017, Eq. 2): :math:`H' = \hat D^{-1/2} \hat A \hat D^{-1/2} H W + b`.

  Takes the propagation matrix from `normalized_adjacency`; outputs are zero on padding nodes. Glorot-uniform `W` and
  a zero `b`, as PyTorch Geometric's `GCNConv`.
  """

  def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs):
    self.kernel = nnx.Param(nnx.initializers.glorot_uniform()(rngs.params(), (in_features, out_features)))
    self.bias = nnx.Param(jnp.zeros((out_features,)))

  def __call__(self, x, propagation, node_mask):
    kernel, bias = self.kernel[...].astype(x.dtype), self.bias[...].astype(x.dtype)
    out = jnp.einsum("bij,bjf->bif", propagation.astype(x.dtype), x @ kernel) + bias
    return out * node_mask[..., None].astype(x.dtype)


def pooled_size(ratio: float, num_nodes: int) -> int:
  """`ceil(ratio * num_nodes)`, with the product rounded to float32 first, as PyTorch Geometric's `topk` computes
  the number of nodes a graph keeps (so e.g. `ratio = 0.1` keeps 3 of 30 nodes, not 4)."""
  return int(np.ceil(np.float32(ratio) * np.float32(num_nodes)))


def select_top_nodes(scores, node_mask, ratio: float):
  r"""The nodes SAGPool keeps (Lee et al. 2019, Eq. 3-4): :math:`\mathrm{idx} = \mathrm{top\text{-}rank}(Z,
  \lceil kN \rceil)` per graph, `k = ratio` and `N` the graph's own number of nodes.

  Padding nodes are never selected; among equal scores the lower node index ranks first.

  Args:
    scores: `[B, N]` node scores.
    node_mask: `[B, N]` bool, True on real nodes.
    ratio: the fraction of each graph's nodes to keep, in (0, 1].

  Returns:
    `(indices, kept)`: `indices` `[B, M]` int32 node indices in decreasing score order, `M = pooled_size(ratio, N)`
    (enough for the largest graph), and `kept` `[B, M]` bool, True on the first `ceil(ratio * n_b)` entries of graph
    `b` (its selected nodes) and False on the rest, which pad the pooled graph.
  """
  if not 0.0 < ratio <= 1.0:
    raise ValueError(f"The pooling ratio must lie in (0, 1], got {ratio}.")
  size = pooled_size(ratio, scores.shape[-1])
  counts = jnp.sum(node_mask, axis=-1).astype(jnp.float32)
  keep = jnp.ceil(jnp.float32(ratio) * counts).astype(jnp.int32)
  keys = jnp.where(node_mask, scores.astype(jnp.float32), -jnp.inf)
  _, indices = jax.lax.top_k(keys, size)  # ties: the lower index first
  kept = jnp.arange(size)[None, :] < keep[:, None]
  return indices.astype(jnp.int32), kept


class SAGPool(nnx.Module):
  r"""Self-attention graph pooling (Lee et al. 2019, Eq. 3-5).

  Scores :math:`Z = \tanh(\hat D^{-1/2} \hat A \hat D^{-1/2} X \Theta_{att})` from a one-output GCN layer; each graph
  keeps its top `ceil(ratio * n)` nodes by `Z` (`select_top_nodes`), gated by their scores,
  :math:`X' = X_{idx} \odot Z_{idx}`, with the induced adjacency :math:`A' = A_{idx, idx}`.
  """

  def __init__(self, features: int, *, ratio: float, rngs: nnx.Rngs):
    if not 0.0 < ratio <= 1.0:
      raise ValueError(f"The pooling ratio must lie in (0, 1], got {ratio}.")
    self.ratio = ratio
    self.score = GCNLayer(features, 1, rngs=rngs)

  def __call__(self, x, adjacency, propagation, node_mask):
    """`(x', adjacency', node_mask')` of the pooled graphs, `M = pooled_size(ratio, N)` slots each."""
    scores = jnp.tanh(self.score(x, propagation, node_mask)[..., 0])
    indices, kept = select_top_nodes(scores, node_mask, self.ratio)
    gate = jnp.take_along_axis(scores, indices, axis=1) * kept.astype(scores.dtype)
    x = jnp.take_along_axis(x, indices[:, :, None], axis=1) * gate[:, :, None].astype(x.dtype)
    adjacency = jnp.take_along_axis(adjacency, indices[:, :, None], axis=1)
    adjacency = jnp.take_along_axis(adjacency, indices[:, None, :], axis=2)
    return x, adjacency, kept


def readout(x, node_mask):
  r"""`[B, 2F]`: :math:`[\max_i x_i \,\|\, \frac{1}{n} \sum_i x_i]` over each graph's nodes (SAGPool's readout,
  Lee et al. 2019, Eq. 6, max first as in its code); zeros for a graph with no nodes."""
  mask = node_mask[..., None]
  count = jnp.sum(node_mask, axis=1)[:, None].astype(x.dtype)
  maximum = jnp.max(jnp.where(mask, x, -jnp.inf), axis=1)
  maximum = jnp.where(count > 0, maximum, 0).astype(x.dtype)
  mean = jnp.sum(jnp.where(mask, x, 0), axis=1) / jnp.maximum(count, 1)
  return jnp.concatenate([maximum, mean], axis=-1)


def _check_input_shape(input_shape) -> tuple[int, int]:
  """`(N, F)` from the `input_shape` dict `{"nodes": (N, F), "adjacency": (N, N), "node_mask": (N,)}`."""
  if not isinstance(input_shape, dict) or set(input_shape) != set(INPUTS):
    got = sorted(input_shape) if isinstance(input_shape, dict) else input_shape
    raise ValueError(
      f"Graph models take input_shape={{'nodes': (N, F), 'adjacency': (N, N), 'node_mask': (N,)}}, got {got}; "
      "use a graph source (el_jax.data.graphs)."
    )
  shapes = {k: tuple(int(d) for d in v) for k, v in input_shape.items()}
  if len(shapes["nodes"]) != 2:
    raise ValueError(f"input_shape['nodes'] must be (N, F), got {shapes['nodes']}.")
  n, f = shapes["nodes"]
  if shapes["adjacency"] != (n, n) or shapes["node_mask"] != (n,):
    raise ValueError(f"input_shape {shapes} is inconsistent: need adjacency ({n}, {n}) and node_mask ({n},).")
  return n, f


class GCNSAGPool(nnx.Module):
  """GCN with hierarchical SAGPool (SAGPool_h, Lee et al. 2019, Figure 2): see the module docstring.

  The defaults are the EL paper's (its released code's) settings: 128 hidden features, pooling ratio 0.5, dropout
  0.5 after the first dense layer, three blocks. With three blocks, `F` node features, `K` classes and `h = hidden` it
  has `4.5 h^2 + (F + 7.5 + K / 2) h + K + 3` parameters: 75,205 on PROTEINS (`F = 3`, `K = 2`), 79,557 on NCI1
  (`F = 37`).
  """

  def __init__(
    self,
    *,
    num_classes: int,
    input_shape: dict,
    rngs: nnx.Rngs,
    hidden: int = 128,
    ratio: float = 0.5,
    dropout: float = 0.5,
    num_blocks: int = 3,
  ):
    self.num_nodes, self.num_features = _check_input_shape(input_shape)
    if num_blocks < 1 or hidden < 2:
      raise ValueError(f"Need num_blocks >= 1 and hidden >= 2, got num_blocks={num_blocks}, hidden={hidden}.")
    sizes = [self.num_features] + [hidden] * num_blocks
    self.convs = nnx.List([GCNLayer(i, o, rngs=rngs) for i, o in zip(sizes[:-1], sizes[1:], strict=True)])
    self.pools = nnx.List([SAGPool(hidden, ratio=ratio, rngs=rngs) for _ in range(num_blocks)])
    self.dense1 = nnx.Linear(2 * hidden, hidden, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.dense2 = nnx.Linear(hidden, hidden // 2, rngs=rngs)
    self.head = nnx.Linear(hidden // 2, num_classes, rngs=rngs)

  def features(self, nodes, adjacency, node_mask):
    """`[B, 2 hidden]`: the sum of the blocks' readouts, the graph representation the dense layers classify."""
    if nodes.ndim != 3 or nodes.shape[1:] != (self.num_nodes, self.num_features):
      raise ValueError(
        f"nodes must be [B, {self.num_nodes}, {self.num_features}] (the model's input_shape), got {nodes.shape}."
      )
    b, n = nodes.shape[:2]
    if adjacency.shape != (b, n, n) or node_mask.shape != (b, n):
      raise ValueError(
        f"adjacency {adjacency.shape} and node_mask {node_mask.shape} must be [{b}, {n}, {n}] and [{b}, {n}] "
        f"to match nodes {nodes.shape}."
      )
    if node_mask.dtype != jnp.bool_:
      raise ValueError(f"node_mask must be bool (True on real nodes), got {node_mask.dtype}.")
    x = nodes * node_mask[..., None].astype(nodes.dtype)
    total = None
    for conv, pool in zip(self.convs, self.pools, strict=True):
      propagation = normalized_adjacency(adjacency, node_mask)
      x = nnx.relu(conv(x, propagation, node_mask))
      x, adjacency, node_mask = pool(x, adjacency, propagation, node_mask)
      r = readout(x, node_mask)
      total = r if total is None else total + r
    return total

  def __call__(self, nodes, adjacency, node_mask):
    x = self.features(nodes, adjacency, node_mask)
    x = self.dropout(nnx.relu(self.dense1(x)))
    return self.head(nnx.relu(self.dense2(x)))


MODELS = {"gcn_sagpool": GCNSAGPool}

__all__ = [
  "MODELS",
  "GCNLayer",
  "GCNSAGPool",
  "SAGPool",
  "normalized_adjacency",
  "pooled_size",
  "readout",
  "select_top_nodes",
]
