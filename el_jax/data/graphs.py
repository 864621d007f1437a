"""Graph-classification benchmarks (TU Dortmund collection) as dense padded graphs, and synthetic stand-ins.

`load(dataset, split, **options)` (reached as `el_jax.data.load("graphs:<dataset>", split, ...)`):
  proteins, nci1                the TU Dortmund files under `data_dir` (Morris et al. 2020, "TUDataset");
  synthetic:proteins,           stand-ins of the same graph counts, feature sizes, largest graph and classes,
  synthetic:nci1                generated on the fly, whose labels are learnable from the node features.

Records are `{"nodes": float32 [N, F], "adjacency": uint8 [N, N], "node_mask": bool [N], "label": int}` with every
graph padded to `N = max_nodes` nodes (default: the dataset's largest graph, 620 for PROTEINS and 111 for NCI1; a
graph larger than an explicit `max_nodes` raises an error, none is cut). `adjacency[i, j] = 1` when the file lists an
edge from node `j` to node `i` (both directions are listed in these undirected sets); self-loops in the file are kept
on the diagonal, which the GCN layers of `el_jax.models.graph_nets` replace by their own. Node features are the
one-hot node labels, `F = 3` for PROTEINS and `F = 37` for NCI1, as PyTorch Geometric's `TUDataset` builds them by
default and the EL and SAGPool code train on (option `node_attributes=True` appends PROTEINS' one continuous node
attribute). Graph labels are renumbered `0..K-1` in sorted order.

Memory: records are built on demand from the edge lists, so a source holds only the parsed files. A batch of 128
padded PROTEINS graphs is 128 x 620 x 620 bytes = 49 MB of uint8 adjacency (197 MB once cast to float32 in the
model's first layer); NCI1's is 1.6 MB.

Splits (EL paper §4.1): a permutation of the graphs drawn from `split_seed`, cut into its first `int(0.8 G)` graphs
("train"), the next `int(0.1 G)` ("validation") and the rest ("test"), the proportions of the released code's
`random_split`: PROTEINS 890 / 111 / 112, NCI1 3288 / 411 / 411. The paper averages 50 such splits.
"""

import dataclasses
import functools
import os

import numpy as np

from el_jax.data.synthetic import GeneratedRecords

SPLITS = ("train", "validation", "test")
TRAIN_FRACTION, VALIDATION_FRACTION = 0.8, 0.1
# dataset -> the TU Dortmund name (file prefix)
TU_NAMES = {"proteins": "PROTEINS", "nci1": "NCI1"}
DOWNLOAD = "https://www.chrsmrrs.com/graphkerneldatasets/{name}.zip"


@dataclasses.dataclass(frozen=True)
class GraphStats:
  """The shape of a benchmark, from its files: graphs, one-hot node-label features, largest graph, classes and the
  mean number of nodes (used by the synthetic stand-ins)."""

  num_graphs: int
  num_features: int
  max_nodes: int
  num_classes: int
  mean_nodes: float


# The real sets (Morris et al. 2020's statistics, checked against the files).
STATS = {
  "proteins": GraphStats(num_graphs=1113, num_features=3, max_nodes=620, num_classes=2, mean_nodes=39.06),
  "nci1": GraphStats(num_graphs=4110, num_features=37, max_nodes=111, num_classes=2, mean_nodes=29.87),
}


class TUFormatError(ValueError):
  """A TU Dortmund file is missing, malformed or inconsistent with the others."""


@dataclasses.dataclass(frozen=True, eq=False)
class GraphCollection:
  """Parsed graphs: node features `[total nodes, F]` with each graph's nodes contiguous from `node_start[g]`
  (`node_count[g]` of them), local edge lists `(targets, sources)` contiguous from `edge_start[g]`, labels `[G]`."""

  name: str
  features: np.ndarray
  node_start: np.ndarray
  node_count: np.ndarray
  targets: np.ndarray
  sources: np.ndarray
  edge_start: np.ndarray
  labels: np.ndarray
  num_classes: int

  def __len__(self) -> int:
    return len(self.labels)

  def graph(self, g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(features [n, F], targets, sources)` of graph `g`."""
    nodes = slice(self.node_start[g], self.node_start[g] + self.node_count[g])
    edges = slice(self.edge_start[g], self.edge_start[g + 1])
    return self.features[nodes], self.targets[edges], self.sources[edges]


def _read_ints(path: str, columns: int | None = None) -> np.ndarray:
  if not os.path.exists(path):
    raise TUFormatError(f"Missing file {path}.")
  try:
    values = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
  except ValueError as e:
    raise TUFormatError(f"{path} is not a list of comma-separated integers: {e}") from None
  if columns is not None and values.shape[1] != columns:
    raise TUFormatError(f"{path} must have {columns} column(s) per line, found {values.shape[1]}.")
  return values


def one_hot_labels(node_labels: np.ndarray) -> np.ndarray:
  """`[n, F]` float32: each column of integer node labels `[n, C]` shifted to start at 0 and one-hot encoded with
  `max - min + 1` entries, the columns' encodings concatenated (PyTorch Geometric's `read_tu_data`)."""
  parts = []
  for column in node_labels.T:
    shifted = column - column.min()
    parts.append(np.eye(int(shifted.max()) + 1, dtype=np.float32)[shifted])
  return np.concatenate(parts, axis=1)


def read_tu(directory: str, name: str, *, node_attributes: bool = False) -> GraphCollection:
  """Reads the TU Dortmund files `{name}_A.txt`, `_graph_indicator.txt`, `_graph_labels.txt`, `_node_labels.txt`
  (and `_node_attributes.txt` when `node_attributes`) from `directory`.

  Format (one line per item, 1-based node and graph ids): `_A` lists the edges `i, j` of all graphs;
  `_graph_indicator` the graph of each node; `_graph_labels` each graph's class; `_node_labels` each node's
  integer label(s); `_node_attributes` each node's comma-separated floats.

  Raises:
    TUFormatError: naming the file, for a missing file, a malformed line, an id out of range, counts that disagree,
      an edge between two graphs, or a graph without nodes.
  """
  path = lambda suffix: os.path.join(directory, f"{name}_{suffix}.txt")  # noqa: E731
  indicator = _read_ints(path("graph_indicator"), 1)[:, 0]
  graph_labels = _read_ints(path("graph_labels"), 1)[:, 0]
  node_labels = _read_ints(path("node_labels"))
  edges = _read_ints(path("A"), 2) - 1
  num_nodes, num_graphs = len(indicator), len(graph_labels)
  if len(node_labels) != num_nodes:
    raise TUFormatError(f"{path('node_labels')} has {len(node_labels)} lines for {num_nodes} nodes.")
  if indicator.min() < 1 or indicator.max() > num_graphs:
    raise TUFormatError(f"{path('graph_indicator')} has graph ids outside [1, {num_graphs}].")
  node_count = np.bincount(indicator - 1, minlength=num_graphs)
  if (node_count == 0).any():
    raise TUFormatError(f"{path('graph_indicator')}: graph {int(np.argmin(node_count)) + 1} has no nodes.")
  if len(edges) and (edges.min() < 0 or edges.max() >= num_nodes):
    raise TUFormatError(f"{path('A')} has node ids outside [1, {num_nodes}].")
  features = one_hot_labels(node_labels)
  if node_attributes:
    try:
      attributes = np.loadtxt(path("node_attributes"), delimiter=",", dtype=np.float32, ndmin=2)
    except (OSError, ValueError) as e:
      raise TUFormatError(f"Cannot read {path('node_attributes')}: {e}") from None
    if len(attributes) != num_nodes:
      raise TUFormatError(f"{path('node_attributes')} has {len(attributes)} lines for {num_nodes} nodes.")
    features = np.concatenate([features, attributes], axis=1)

  # Nodes grouped by graph (stable, so each graph keeps the files' node order); local ids within the graph.
  order = np.argsort(indicator, kind="stable")
  node_start = np.concatenate([[0], np.cumsum(node_count)[:-1]])
  local = np.empty(num_nodes, np.int64)
  local[order] = np.arange(num_nodes) - node_start[indicator[order] - 1]
  graph_of = indicator - 1
  source, target = edges[:, 0], edges[:, 1]
  crossing = graph_of[source] != graph_of[target]
  if crossing.any():
    i = int(np.argmax(crossing))
    raise TUFormatError(
      f"{path('A')} line {i + 1} joins nodes of graphs {graph_of[source[i]] + 1} and {graph_of[target[i]] + 1}."
    )
  edge_order = np.argsort(graph_of[source], kind="stable")
  edge_start = np.concatenate([[0], np.cumsum(np.bincount(graph_of[source], minlength=num_graphs))])
  classes, labels = np.unique(graph_labels, return_inverse=True)
  return GraphCollection(
    name=name,
    features=features[order],
    node_start=node_start,
    node_count=node_count,
    targets=local[target[edge_order]].astype(np.int32),
    sources=local[source[edge_order]].astype(np.int32),
    edge_start=edge_start,
    labels=labels.astype(np.int64),
    num_classes=len(classes),
  )


def split_indices(num_graphs: int, split_seed: int) -> dict[str, np.ndarray]:
  """Graph indices of the train / validation / test splits: a permutation drawn from `split_seed`, cut at
  `int(0.8 G)` and `int(0.8 G) + int(0.1 G)`."""
  permutation = np.random.default_rng(split_seed).permutation(num_graphs)
  train = int(num_graphs * TRAIN_FRACTION)
  validation = int(num_graphs * VALIDATION_FRACTION)
  return {
    "train": permutation[:train],
    "validation": permutation[train : train + validation],
    "test": permutation[train + validation :],
  }


def padded_record(features, targets, sources, label: int, max_nodes: int) -> dict:
  """One graph's record, padded to `max_nodes` nodes (see the module docstring)."""
  n, f = features.shape
  nodes = np.zeros((max_nodes, f), np.float32)
  nodes[:n] = features
  adjacency = np.zeros((max_nodes, max_nodes), np.uint8)
  adjacency[targets, sources] = 1
  return {"nodes": nodes, "adjacency": adjacency, "node_mask": np.arange(max_nodes) < n, "label": int(label)}


@dataclasses.dataclass(frozen=True, eq=False)
class GraphSource:
  """The graphs of `collection` at `indices`, as padded records of `max_nodes` nodes (a `Source`)."""

  name: str
  collection: GraphCollection
  indices: np.ndarray
  max_nodes: int

  @property
  def num_classes(self) -> int:
    return self.collection.num_classes

  @property
  def labels(self) -> np.ndarray:
    return self.collection.labels[self.indices]

  @property
  def input_shape(self) -> dict:
    n, f = self.max_nodes, self.collection.features.shape[1]
    return {"nodes": (n, f), "adjacency": (n, n), "node_mask": (n,)}

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, index: int) -> dict:
    if not 0 <= index < len(self):
      raise IndexError(f"{self.name}: index {index} out of range [0, {len(self)}).")
    g = int(self.indices[index])
    return padded_record(*self.collection.graph(g), self.collection.labels[g], self.max_nodes)

  def take(self, count: int | None) -> "GraphSource":
    """The first `count` graphs (all of them when `count` is None)."""
    if count is None:
      return self
    if not 0 < count <= len(self):
      raise ValueError(f"{self.name}: cannot take {count} of {len(self)} graphs.")
    return dataclasses.replace(self, indices=self.indices[:count])


@functools.lru_cache(maxsize=4)
def _read_cached(directory: str, name: str, node_attributes: bool) -> GraphCollection:
  return read_tu(directory, name, node_attributes=node_attributes)


def _tu_directory(data_dir: str | None, name: str) -> str:
  """`data_dir/NAME` when it holds the files (the unpacked archive), else `data_dir` itself."""
  fix = (
    f"download {DOWNLOAD.format(name=name)} and unzip it into a directory DIR, then pass "
    "--config.dataset.options.data_dir=DIR"
  )
  if data_dir is None:
    raise ValueError(f"Dataset {name} is read from the TU Dortmund files, but no data_dir was given: {fix}.")
  for directory in (os.path.join(data_dir, name), data_dir):
    if os.path.exists(os.path.join(directory, f"{name}_A.txt")):
      return directory
  raise FileNotFoundError(f"No {name}_A.txt in {data_dir} or {os.path.join(data_dir, name)}: {fix}.")


def _check_max_nodes(name: str, largest: int, max_nodes: int | None) -> int:
  if max_nodes is None:
    return largest
  if max_nodes < largest:
    raise ValueError(
      f"{name}: max_nodes={max_nodes} is smaller than its largest graph ({largest} nodes); graphs are padded, never "
      f"cut: use max_nodes >= {largest} or leave it unset."
    )
  return int(max_nodes)


def _check_split(split: str) -> None:
  if split not in SPLITS:
    raise ValueError(f"Unknown split {split!r} for a graph dataset; valid: {', '.join(SPLITS)}.")


def load(
  dataset: str,
  split: str,
  *,
  data_dir: str | None = None,
  split_seed: int = 0,
  max_nodes: int | None = None,
  node_attributes: bool = False,
):
  """Split `split` of graph dataset `dataset` (see the module docstring for names, options and record layout)."""
  _check_split(split)
  if dataset.startswith("synthetic:"):
    if data_dir is not None or node_attributes:
      raise ValueError(f"The synthetic stand-in {dataset!r} reads no files: drop data_dir and node_attributes.")
    return synthetic(dataset.removeprefix("synthetic:"), split, seed=split_seed, max_nodes=max_nodes)
  if dataset not in TU_NAMES:
    valid = [*TU_NAMES, *(f"synthetic:{n}" for n in STATS)]
    raise ValueError(f"Unknown graph dataset {dataset!r}; valid: {', '.join(valid)}.")
  name = TU_NAMES[dataset]
  collection = _read_cached(os.path.abspath(_tu_directory(data_dir, name)), name, bool(node_attributes))
  indices = split_indices(len(collection), split_seed)[split]
  largest = int(collection.node_count.max())
  return GraphSource(f"{dataset}/{split}", collection, indices, _check_max_nodes(dataset, largest, max_nodes))


# ---- Synthetic stand-ins --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SyntheticGraphs(GeneratedRecords):
  """`size` random graphs of up to `max_nodes` nodes with `num_features` one-hot node labels, made on demand.

  Graph `i` is drawn from `(seed, split_id, i)`: its label `y` uniformly; its size from a gamma distribution with the
  real set's mean (the first graph of each split has the real set's largest size, so the padding is exercised);
  each node's label is `y mod F` with probability 1/2 and uniform otherwise, so the mean node feature reveals the
  class; edges are a random spanning tree plus about one random chord per node, listed in both directions.
  """

  name: str
  num_features: int
  max_nodes: int
  num_classes: int
  size: int
  mean_nodes: float
  largest: int
  split_id: int = 0
  seed: int = 0
  unit = "graphs"

  @property
  def input_shape(self) -> dict:
    n, f = self.max_nodes, self.num_features
    return {"nodes": (n, f), "adjacency": (n, n), "node_mask": (n,)}

  def __getitem__(self, index: int) -> dict:
    rng = self.record_rng(index)
    label = int(rng.integers(self.num_classes))
    n = self.largest if index == 0 else int(np.clip(round(rng.gamma(2.0, self.mean_nodes / 2)), 2, self.largest))
    categories = np.where(rng.random(n) < 0.5, label % self.num_features, rng.integers(self.num_features, size=n))
    features = np.eye(self.num_features, dtype=np.float32)[categories]
    parents = (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)  # node k + 1 joins an earlier node
    chords = rng.integers(n, size=(2, n))
    a = np.concatenate([np.arange(1, n), chords[0]])
    b = np.concatenate([parents, chords[1]])
    keep = a != b
    targets = np.concatenate([a[keep], b[keep]])
    sources = np.concatenate([b[keep], a[keep]])
    return padded_record(features, targets, sources, label, self.max_nodes)


def synthetic(dataset: str, split: str, *, seed: int = 0, max_nodes: int | None = None) -> SyntheticGraphs:
  """The stand-in for split `split` of `dataset` (one of `STATS`): the real split's size, features, classes and
  largest graph, padded to `max_nodes` (default: the largest graph)."""
  _check_split(split)
  if dataset not in STATS:
    raise ValueError(f"No synthetic stand-in for graph dataset {dataset!r}; valid: {', '.join(STATS)}.")
  stats = STATS[dataset]
  size = len(split_indices(stats.num_graphs, 0)[split])
  name = f"synthetic:{dataset}"
  return SyntheticGraphs(
    name=f"{name}/{split}",
    num_features=stats.num_features,
    max_nodes=_check_max_nodes(name, stats.max_nodes, max_nodes),
    num_classes=stats.num_classes,
    size=size,
    mean_nodes=stats.mean_nodes,
    largest=stats.max_nodes,
    split_id=SPLITS.index(split),
    seed=seed,
  )


__all__ = [
  "STATS",
  "GraphCollection",
  "GraphSource",
  "SyntheticGraphs",
  "TUFormatError",
  "load",
  "one_hot_labels",
  "read_tu",
  "split_indices",
  "synthetic",
]
