"""Tiny TU Dortmund benchmark files written by the tests (the format of `el_jax.data.graphs.read_tu`)."""

import numpy as np


def write_tu(folder, name, *, edges, indicator, node_labels, graph_labels, node_attributes=None):
  """Writes `{name}_A.txt`, `_graph_indicator.txt`, `_node_labels.txt`, `_graph_labels.txt` (and
  `_node_attributes.txt`) under `folder`, one item a line, 1-based ids; returns `folder`."""
  folder.mkdir(parents=True, exist_ok=True)
  lines = {
    "A": [f"{i}, {j}" for i, j in edges],
    "graph_indicator": indicator,
    "node_labels": node_labels,
    "graph_labels": graph_labels,
  }
  if node_attributes is not None:
    lines["node_attributes"] = node_attributes
  for suffix, rows in lines.items():
    (folder / f"{name}_{suffix}.txt").write_text("".join(f"{r}\n" for r in rows))
  return folder


def write_path_graphs(folder, name="PROTEINS", *, num_graphs=20, max_nodes=6, seed=0):
  """`num_graphs` graphs of 1..`max_nodes` nodes (graph 4 has `max_nodes`): a path each, and a self-loop on the
  first node of every graph; node labels 0..2; graph labels 1 / 2 alternating. Returns `folder`."""
  rng = np.random.default_rng(seed)
  sizes = rng.integers(1, max_nodes + 1, num_graphs)
  sizes[3] = max_nodes
  starts = np.concatenate([[1], 1 + np.cumsum(sizes)[:-1]])
  edges = [(s + k, s + k + 1) for s, n in zip(starts, sizes, strict=True) for k in range(n - 1)]
  edges += [(j, i) for i, j in edges] + [(s, s) for s in starts]
  return write_tu(
    folder,
    name,
    edges=edges,
    indicator=np.repeat(np.arange(1, num_graphs + 1), sizes).tolist(),
    node_labels=rng.integers(0, 3, sizes.sum()).tolist(),
    graph_labels=(1 + np.arange(num_graphs) % 2).tolist(),
  )
