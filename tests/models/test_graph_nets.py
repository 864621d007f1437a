"""GCN + SAGPool on dense padded batches, checked against per-graph numpy references written from the papers'
equations (Kipf & Welling 2017 Eq. 2; Lee et al. 2019 Eq. 3-6), on hand-made graphs, and for padding invariance."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from el_jax import losses, models
from el_jax.data import graphs
from el_jax.models import graph_nets

# Jitted once per input shape: op-by-op dispatch of the eager model compiles every primitive separately (slow).
_call = nnx.jit(lambda module, *args: module(*args))
_propagation = jax.jit(graph_nets.normalized_adjacency)


def _shape(n, f):
  return {"nodes": (n, f), "adjacency": (n, n), "node_mask": (n,)}


def _random_graphs(rng, sizes, max_nodes, features, *, garbage=False):
  """A padded batch of random undirected graphs of `sizes` nodes; `garbage` fills the padding with noise (features
  and edges) that the model must ignore."""
  b = len(sizes)
  nodes = rng.normal(size=(b, max_nodes, features)).astype(np.float32)
  adjacency = (rng.random((b, max_nodes, max_nodes)) < 0.3).astype(np.uint8)
  adjacency = np.maximum(adjacency, adjacency.transpose(0, 2, 1))
  mask = np.arange(max_nodes)[None, :] < np.asarray(sizes)[:, None]
  if not garbage:
    nodes *= mask[..., None]
    adjacency *= (mask[:, :, None] & mask[:, None, :]).astype(np.uint8)
  return nodes, adjacency, mask


# ---- numpy references, one graph at a time, no padding --------------------------------------------------------------


def _np_propagation(a):
  """D^-1/2 (A + I) D^-1/2 of one graph (diagonal of `a` ignored)."""
  a_hat = a.astype(np.float64) * (1 - np.eye(len(a))) + np.eye(len(a))
  d = a_hat.sum(1)
  return a_hat / np.sqrt(np.outer(d, d))


def _np_params(model):
  p = lambda layer: (np.asarray(layer.kernel[...], np.float64), np.asarray(layer.bias[...], np.float64))  # noqa: E731
  return {
    "convs": [p(c) for c in model.convs],
    "scores": [p(pool.score) for pool in model.pools],
    "dense": [p(model.dense1), p(model.dense2), p(model.head)],
  }


def _np_forward(params, x, a, ratio=0.5):
  """Eval-mode logits of SAGPool_h for one unpadded graph `x [n, F]`, `a [n, n]`."""
  x, a = x.astype(np.float64), a.astype(np.float64)
  total = 0.0
  for (w, b), (ws, bs) in zip(params["convs"], params["scores"], strict=True):
    p = _np_propagation(a)
    x = np.maximum(p @ x @ w + b, 0)
    score = np.tanh(p @ x @ ws + bs)[:, 0]
    k = int(np.ceil(np.float32(ratio) * np.float32(len(x))))
    keep = np.argsort(-score, kind="stable")[:k]
    x, a = x[keep] * score[keep, None], a[np.ix_(keep, keep)]
    total = total + np.concatenate([x.max(0), x.mean(0)])
  (w1, b1), (w2, b2), (w3, b3) = params["dense"]
  h = np.maximum(total @ w1 + b1, 0)
  h = np.maximum(h @ w2 + b2, 0)
  return h @ w3 + b3


# ---- GCN normalisation --------------------------------------------------------------------------------------------


def test_propagation_of_a_path_is_the_closed_form():
  # Path 0-1-2 with self-loops: degrees 2, 3, 2.
  a = np.array([[[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]], np.uint8)
  mask = np.array([[True, True, True, False]])
  p = np.asarray(_propagation(jnp.asarray(a), jnp.asarray(mask)))
  expected = np.array(
    [
      [1 / 2, 1 / np.sqrt(6), 0, 0],
      [1 / np.sqrt(6), 1 / 3, 1 / np.sqrt(6), 0],
      [0, 1 / np.sqrt(6), 1 / 2, 0],
      [0, 0, 0, 0],
    ]
  )
  np.testing.assert_allclose(p[0], expected, rtol=1e-6, atol=1e-7)


def test_propagation_matches_numpy_on_random_padded_graphs():
  rng = np.random.default_rng(0)
  _, a, mask = _random_graphs(rng, [7, 3, 1, 9], 9, 2, garbage=True)
  a[:, np.arange(9), np.arange(9)] = 1  # self-loops in the input are replaced, not added to
  p = np.asarray(_propagation(jnp.asarray(a), jnp.asarray(mask)))
  for g, n in enumerate([7, 3, 1, 9]):
    np.testing.assert_allclose(p[g, :n, :n], _np_propagation(a[g, :n, :n]), rtol=1e-5, atol=1e-7)
    assert not p[g, n:].any() and not p[g, :, n:].any()


def test_gcn_layer_is_propagation_times_xw_plus_b_and_zero_on_padding():
  rng = np.random.default_rng(1)
  x, a, mask = _random_graphs(rng, [5, 2], 6, 3)
  layer = graph_nets.GCNLayer(3, 4, rngs=nnx.Rngs(0))
  layer.bias[...] = jnp.arange(4.0)
  p = _propagation(jnp.asarray(a), jnp.asarray(mask))
  out = np.asarray(_call(layer, jnp.asarray(x), p, jnp.asarray(mask)))
  w, b = np.asarray(layer.kernel[...]), np.arange(4.0)
  for g, n in enumerate([5, 2]):
    np.testing.assert_allclose(out[g, :n], _np_propagation(a[g, :n, :n]) @ x[g, :n] @ w + b, rtol=1e-5, atol=1e-5)
    assert not out[g, n:].any()


# ---- SAGPool top-k ------------------------------------------------------------------------------------------------


def test_top_k_keeps_ceil_ratio_n_best_nodes_never_padding_and_breaks_ties_by_index():
  pad = 9.0  # padding scores above every real one: they must still never be chosen
  scores = jnp.array(
    [
      [0.1, 0.9, 0.5, 0.9, -0.2, pad],  # n = 5: keeps ceil(2.5) = 3; the tie 0.9 goes to node 1 first
      [0.3, pad, pad, pad, pad, pad],  # n = 1: keeps its node
      [pad, pad, pad, pad, pad, pad],  # n = 0: keeps nothing
      [pad, -0.5, pad, -0.5, -0.5, 0.2],  # n = 4 in non-leading slots: keeps 2, node 5 then the tie's lowest, 1
    ]
  )
  mask = jnp.array(
    [
      [True] * 5 + [False],
      [True] + [False] * 5,
      [False] * 6,
      [False, True, False, True, True, True],
    ]
  )
  indices, kept = graph_nets.select_top_nodes(scores, mask, 0.5)
  assert indices.shape == kept.shape == (4, 3)  # ceil(0.5 * 6) slots
  chosen = [list(np.asarray(i)[np.asarray(k)]) for i, k in zip(indices, kept, strict=True)]
  assert chosen == [[1, 3, 2], [0], [], [5, 1]]


def test_pooled_size_rounds_the_product_in_float32_like_pytorch_geometric():
  assert graph_nets.pooled_size(0.1, 30) == 3  # float64 would give ceil(3.0000000000000004) = 4
  assert graph_nets.pooled_size(0.5, 620) == 310 and graph_nets.pooled_size(0.5, 7) == 4
  with pytest.raises(ValueError, match="ratio"):
    graph_nets.select_top_nodes(jnp.zeros((1, 4)), jnp.ones((1, 4), bool), 1.5)


def test_sagpool_gates_the_kept_nodes_by_tanh_score_and_keeps_the_induced_subgraph():
  rng = np.random.default_rng(2)
  x, a, mask = _random_graphs(rng, [6, 3], 7, 4)
  x = np.abs(x)
  pool = graph_nets.SAGPool(4, ratio=0.5, rngs=nnx.Rngs(3))
  p = _propagation(jnp.asarray(a), jnp.asarray(mask))
  x2, a2, mask2 = (np.asarray(t) for t in _call(pool, jnp.asarray(x), jnp.asarray(a), p, jnp.asarray(mask)))
  ws, bs = np.asarray(pool.score.kernel[...]), np.asarray(pool.score.bias[...])
  for g, n in enumerate([6, 3]):
    score = np.tanh(_np_propagation(a[g, :n, :n]) @ x[g, :n] @ ws + bs)[:, 0]
    keep = np.argsort(-score, kind="stable")[: int(np.ceil(n / 2))]
    k = len(keep)
    assert mask2[g].tolist() == [True] * k + [False] * (4 - k)
    np.testing.assert_allclose(x2[g, :k], x[g, keep] * score[keep, None], rtol=1e-5, atol=1e-6)
    assert not x2[g, k:].any()
    np.testing.assert_array_equal(a2[g, :k, :k], a[g][np.ix_(keep, keep)])


def test_readout_is_max_then_mean_over_real_nodes_and_zero_for_an_empty_graph():
  x = jnp.array([[[-1.0, 2.0], [-3.0, 4.0], [100.0, 100.0]], [[5.0, 5.0], [6.0, 6.0], [7.0, 7.0]]])
  mask = jnp.array([[True, True, False], [False, False, False]])
  np.testing.assert_allclose(graph_nets.readout(x, mask), [[-1.0, 4.0, -2.0, 3.0], [0.0, 0.0, 0.0, 0.0]])


# ---- The whole model ----------------------------------------------------------------------------------------------


def _model(n=10, f=3, hidden=16):
  model = graph_nets.GCNSAGPool(num_classes=2, input_shape=_shape(n, f), rngs=nnx.Rngs(0), hidden=hidden)
  model.eval()
  return model


def test_model_logits_match_the_per_graph_numpy_reference():
  rng = np.random.default_rng(4)
  sizes = [10, 7, 1, 4]
  x, a, mask = _random_graphs(rng, sizes, 10, 3)
  model = _model()
  for layer in [*model.convs, *(p.score for p in model.pools)]:  # non-zero biases, so padding would show
    layer.bias[...] = jnp.asarray(rng.normal(size=layer.bias.shape), jnp.float32)
  logits = np.asarray(_call(model, jnp.asarray(x), jnp.asarray(a), jnp.asarray(mask)))
  params = _np_params(model)
  for g, n in enumerate(sizes):
    expected = _np_forward(params, x[g, :n], a[g, :n, :n])
    np.testing.assert_allclose(logits[g], expected, rtol=1e-4, atol=1e-5)


def test_padding_and_node_order_do_not_change_the_logits():
  rng = np.random.default_rng(5)
  sizes = [10, 5, 2, 1]
  x, a, mask = _random_graphs(rng, sizes, 10, 3)
  model = _model()
  reference = np.asarray(_call(model, jnp.asarray(x), jnp.asarray(a), jnp.asarray(mask)))

  # The same graphs padded to 16 nodes with noise in the padding, and their nodes scattered among the padding.
  big = _model(16)
  nnx.update(big, nnx.state(model))
  xp, ap, _ = _random_graphs(rng, sizes, 16, 3, garbage=True)
  maskp = np.zeros((4, 16), bool)
  for g, n in enumerate(sizes):
    slots = np.sort(rng.choice(16, n, replace=False))[rng.permutation(n)]  # scattered, in a shuffled order
    xp[g, slots] = x[g, :n]
    ap[g][np.ix_(slots, slots)] = a[g, :n, :n]
    maskp[g, slots] = True
  padded = np.asarray(_call(big, jnp.asarray(xp), jnp.asarray(ap), jnp.asarray(maskp)))
  np.testing.assert_allclose(padded, reference, rtol=1e-5, atol=1e-6)


def test_an_empty_graph_gives_finite_logits_and_eval_is_deterministic():
  x = jnp.zeros((4, 10, 3))
  a = jnp.zeros((4, 10, 10), jnp.uint8)
  mask = jnp.zeros((4, 10), bool).at[0, :4].set(True)
  model = _model()
  first, second = _call(model, x, a, mask), _call(model, x, a, mask)
  assert np.isfinite(np.asarray(first)).all()
  np.testing.assert_array_equal(first, second)


def test_parameter_count_is_that_of_the_released_pytorch_network():
  h, f, k = 128, 3, 2
  gcn = lambda i, o: i * o + o  # noqa: E731  (PyG GCNConv: weight and bias)
  linear = lambda i, o: i * o + o  # noqa: E731
  expected = gcn(f, h) + 2 * gcn(h, h) + 3 * gcn(h, 1) + linear(2 * h, h) + linear(h, h // 2) + linear(h // 2, k)
  model = nnx.eval_shape(lambda: models.create("gcn_sagpool", num_classes=k, input_shape=_shape(620, f)))
  assert models.count_params(model) == expected == 75_205


def test_bad_inputs_name_the_problem():
  with pytest.raises(ValueError, match="input_shape"):
    graph_nets.GCNSAGPool(num_classes=2, input_shape=(10, 3), rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="inconsistent"):
    graph_nets.GCNSAGPool(
      num_classes=2, input_shape={"nodes": (10, 3), "adjacency": (9, 9), "node_mask": (10,)}, rngs=nnx.Rngs(0)
    )
  model = _model()
  x, a = jnp.zeros((2, 10, 3)), jnp.zeros((2, 10, 10))  # shapes and dtypes are checked before any computation
  with pytest.raises(ValueError, match="node_mask must be bool"):
    model(x, a, jnp.ones((2, 10), jnp.int32))
  with pytest.raises(ValueError, match="nodes must be"):
    model(jnp.zeros((2, 10, 4)), a, jnp.ones((2, 10), bool))


def test_bfloat16_inputs_with_uint8_adjacency_give_finite_logits():
  rng = np.random.default_rng(6)
  x, a, mask = _random_graphs(rng, [10, 3, 1, 0], 10, 3)
  logits = _call(_model(), jnp.asarray(x, jnp.bfloat16), jnp.asarray(a), jnp.asarray(mask))
  assert np.isfinite(np.asarray(logits, np.float32)).all()


def test_the_loss_falls_on_the_nci1_stand_in():
  source = graphs.load("synthetic:nci1", "train")
  batch = [source[i] for i in range(32)]
  inputs = {k: jnp.asarray(np.stack([r[k] for r in batch])) for k in graph_nets.INPUTS}
  labels = jnp.asarray([r["label"] for r in batch])
  model = graph_nets.GCNSAGPool(num_classes=2, input_shape=source.input_shape, rngs=nnx.Rngs(0), hidden=16)
  model.eval()  # no dropout: a deterministic descent
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  tx = optax.adam(5e-3)
  opt_state = tx.init(params)

  def loss_fn(params):
    logits = nnx.merge(graphdef, params, rest)(**inputs)
    return jnp.mean(losses.cross_entropy(logits, labels))

  @jax.jit
  def step(params, opt_state):
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss

  history = []
  for _ in range(30):
    params, opt_state, loss = step(params, opt_state)
    history.append(float(loss))
  assert history[-1] < 0.5 * history[0]


def test_dropout_acts_in_training_mode_only():
  rng = np.random.default_rng(7)
  x, a, mask = (jnp.asarray(t) for t in _random_graphs(rng, [10, 6, 3, 8], 10, 3))
  model = _model()
  evaluation = np.asarray(_call(model, x, a, mask))
  model.train()
  first, second = np.asarray(_call(model, x, a, mask)), np.asarray(_call(model, x, a, mask))
  assert not np.allclose(first, evaluation) and not np.allclose(first, second)
