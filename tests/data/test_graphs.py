"""The TU Dortmund reader on tiny files written here, the 80/10/10 splits, padding, and the synthetic stand-ins."""

import numpy as np
import pytest

from el_jax import data
from el_jax.data import graphs, pipeline
from tests.data import tu_files

# Three graphs (1-based node ids): a triangle (nodes 1-3), an edge (4-5), a path 6-7-8-9; every edge in both
# directions, as the TU files list them. Node labels 1..3 (one-hot as 0..2); graph labels -1 / 1 (renumbered 0 / 1).
EDGES = [(1, 2), (2, 1), (2, 3), (3, 2), (1, 3), (3, 1), (4, 5), (5, 4), (6, 7), (7, 6), (7, 8), (8, 7), (8, 9), (9, 8)]
INDICATOR = [1, 1, 1, 2, 2, 3, 3, 3, 3]
NODE_LABELS = [1, 2, 3, 3, 3, 1, 1, 2, 1]
GRAPH_LABELS = [-1, 1, 1]
ATTRIBUTES = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]


def _write(folder, name="TINY", *, edges=EDGES, indicator=INDICATOR, node_labels=NODE_LABELS, labels=GRAPH_LABELS):
  attributes = ATTRIBUTES[: len(indicator)]
  return tu_files.write_tu(
    folder,
    name,
    edges=edges,
    indicator=indicator,
    node_labels=node_labels,
    graph_labels=labels,
    node_attributes=attributes,
  )


def _dense(collection, g, max_nodes):
  return graphs.padded_record(*collection.graph(g), collection.labels[g], max_nodes)


def test_reader_builds_one_hot_nodes_adjacency_and_renumbered_labels(tmp_path):
  collection = graphs.read_tu(str(_write(tmp_path)), "TINY")
  assert len(collection) == 3 and collection.num_classes == 2
  np.testing.assert_array_equal(collection.labels, [0, 1, 1])
  triangle = _dense(collection, 0, 4)
  np.testing.assert_array_equal(triangle["nodes"], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
  np.testing.assert_array_equal(triangle["adjacency"], [[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
  np.testing.assert_array_equal(triangle["node_mask"], [True, True, True, False])
  assert triangle["adjacency"].dtype == np.uint8 and triangle["nodes"].dtype == np.float32
  path = _dense(collection, 2, 4)
  np.testing.assert_array_equal(path["nodes"].argmax(1), [0, 0, 1, 0])
  np.testing.assert_array_equal(path["adjacency"], [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
  assert path["label"] == 1


def test_a_directed_edge_from_j_to_i_sets_adjacency_i_j(tmp_path):
  collection = graphs.read_tu(str(_write(tmp_path, edges=[(1, 2), (4, 5), (6, 7)])), "TINY")
  adjacency = _dense(collection, 0, 3)["adjacency"]
  assert adjacency[1, 0] == 1 and adjacency.sum() == 1


def test_nodes_of_a_graph_need_not_be_contiguous_in_the_files(tmp_path):
  # Graph 1 is nodes 1 and 3, graph 2 is node 2; edge 1-3.
  folder = _write(tmp_path, edges=[(1, 3), (3, 1)], indicator=[1, 2, 1], node_labels=[1, 2, 3], labels=[0, 1])
  collection = graphs.read_tu(str(folder), "TINY")
  first = _dense(collection, 0, 2)
  np.testing.assert_array_equal(first["nodes"], [[1, 0, 0], [0, 0, 1]])
  np.testing.assert_array_equal(first["adjacency"], [[0, 1], [1, 0]])
  np.testing.assert_array_equal(_dense(collection, 1, 2)["nodes"][0], [0, 1, 0])


def test_node_attributes_are_appended_on_request(tmp_path):
  collection = graphs.read_tu(str(_write(tmp_path)), "TINY", node_attributes=True)
  np.testing.assert_array_equal(_dense(collection, 1, 2)["nodes"], [[0, 0, 1, 3.5], [0, 0, 1, 4.5]])


@pytest.mark.parametrize(
  "change, message",
  [
    ({"edges": [(1, 4)]}, "joins nodes of graphs 1 and 2"),
    ({"edges": [(1, 10)]}, "node ids outside"),
    ({"node_labels": NODE_LABELS[:-1]}, "8 lines for 9 nodes"),
    ({"indicator": [1, 1, 1, 3, 3, 3, 3, 3, 3]}, "graph 2 has no nodes"),
    ({"indicator": [1, 1, 1, 2, 2, 3, 3, 3, 4]}, "graph ids outside"),
  ],
)
def test_inconsistent_files_raise_an_error_naming_the_file(tmp_path, change, message):
  with pytest.raises(graphs.TUFormatError, match=message):
    graphs.read_tu(str(_write(tmp_path, **change)), "TINY")


def test_a_missing_or_malformed_file_is_named(tmp_path):
  folder = _write(tmp_path)
  (folder / "TINY_graph_labels.txt").write_text("1\nx\n")
  with pytest.raises(graphs.TUFormatError, match="TINY_graph_labels.txt"):
    graphs.read_tu(str(folder), "TINY")
  (folder / "TINY_graph_labels.txt").unlink()
  with pytest.raises(graphs.TUFormatError, match="Missing file .*TINY_graph_labels.txt"):
    graphs.read_tu(str(folder), "TINY")


def test_load_finds_the_files_pads_to_the_largest_graph_and_splits_80_10_10(tmp_path):
  tu_files.write_path_graphs(tmp_path / "PROTEINS")
  parts = {s: data.load("graphs:proteins", s, data_dir=str(tmp_path), split_seed=3) for s in graphs.SPLITS}
  assert [len(parts[s]) for s in graphs.SPLITS] == [16, 2, 2]
  indices = np.concatenate([parts[s].indices for s in graphs.SPLITS])
  assert sorted(indices) == list(range(20))
  train = parts["train"]
  assert train.input_shape == {"nodes": (6, 3), "adjacency": (6, 6), "node_mask": (6,)}
  assert train.num_classes == 2 and set(train.labels) == {0, 1}
  record = train[0]
  assert set(record) == {"nodes", "adjacency", "node_mask", "label"} and record["nodes"].shape == (6, 3)
  assert record["label"] == train.labels[0] == train.collection.labels[train.indices[0]]
  n = record["node_mask"].sum()
  path = np.eye(6, k=1, dtype=np.uint8)[:n, :n] + np.eye(6, k=-1, dtype=np.uint8)[:n, :n]
  path[0, 0] = 1  # the file's self-loop is kept on the diagonal (the GCN layers replace it by their own)
  np.testing.assert_array_equal(record["adjacency"][:n, :n], path)
  assert not record["adjacency"][n:].any() and record["node_mask"][:n].all()
  # The same files directly under data_dir, and the same seed: the same split; another seed: another split.
  flat = data.load("graphs:proteins", "train", data_dir=str(tmp_path / "PROTEINS"), split_seed=3)
  np.testing.assert_array_equal(flat.indices, train.indices)
  other = data.load("graphs:proteins", "train", data_dir=str(tmp_path), split_seed=4)
  assert not np.array_equal(other.indices, train.indices)
  assert len(train.take(5)) == 5


def test_max_nodes_pads_further_and_never_cuts(tmp_path):
  tu_files.write_path_graphs(tmp_path)
  wide = graphs.load("proteins", "test", data_dir=str(tmp_path), max_nodes=9)
  assert wide.input_shape["adjacency"] == (9, 9) and wide[0]["node_mask"].shape == (9,)
  with pytest.raises(ValueError, match="largest graph \\(6 nodes\\).*max_nodes >= 6"):
    graphs.load("proteins", "test", data_dir=str(tmp_path), max_nodes=5)


def test_missing_data_says_where_to_get_it(tmp_path):
  with pytest.raises(ValueError, match="no data_dir.*PROTEINS.zip"):
    graphs.load("proteins", "train")
  with pytest.raises(FileNotFoundError, match="No NCI1_A.txt.*NCI1.zip"):
    graphs.load("nci1", "train", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="Unknown graph dataset 'dd'"):
    graphs.load("dd", "train")
  with pytest.raises(ValueError, match="Unknown split 'valid'"):
    graphs.load("synthetic:proteins", "valid")


def test_split_sizes_are_the_released_codes_for_the_real_graph_counts():
  for num_graphs, sizes in ((1113, (890, 111, 112)), (4110, (3288, 411, 411))):
    parts = graphs.split_indices(num_graphs, 0)
    assert tuple(len(parts[s]) for s in graphs.SPLITS) == sizes
    assert len(np.unique(np.concatenate(list(parts.values())))) == num_graphs


@pytest.mark.parametrize(
  "name, shape, sizes",
  [("proteins", (620, 3), (890, 111, 112)), ("nci1", (111, 37), (3288, 411, 411))],
)
def test_stand_ins_have_the_real_shapes_counts_and_classes(name, shape, sizes):
  parts = {s: data.load(f"synthetic:graphs:{name}", s) for s in graphs.SPLITS}
  assert tuple(len(parts[s]) for s in graphs.SPLITS) == sizes
  n, f = shape
  source = parts["train"]
  assert source.input_shape == {"nodes": (n, f), "adjacency": (n, n), "node_mask": (n,)} and source.num_classes == 2
  first, again = source[0], source[0]
  assert first["node_mask"].sum() == n  # the largest graph fills the padding
  for key in first:
    np.testing.assert_array_equal(first[key], again[key])
  record = source[5]
  a, mask = record["adjacency"], record["node_mask"]
  assert (a == a.T).all() and not a.diagonal().any() and not a[~mask].any() and not record["nodes"][~mask].any()
  with pytest.raises(ValueError, match="reads no files"):
    graphs.load(f"synthetic:{name}", "train", data_dir="/data")


def test_stand_in_labels_are_learnable_from_the_mean_node_features():
  train, test = graphs.load("synthetic:nci1", "train").take(300), graphs.load("synthetic:nci1", "test").take(200)

  def mean_features(source):
    records = [source[i] for i in range(len(source))]
    x = np.stack([r["nodes"].sum(0) / r["node_mask"].sum() for r in records])
    return x, np.array([r["label"] for r in records])

  x, y = mean_features(train)
  centroids = np.stack([x[y == c].mean(0) for c in (0, 1)])
  xt, yt = mean_features(test)
  predictions = np.argmin(((xt[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
  assert np.mean(predictions == yt) > 0.9


def test_eval_batches_of_graphs_are_padded_and_keep_uint8_adjacency():
  source = graphs.load("synthetic:nci1", "validation").take(5)
  batches = list(pipeline.eval_batches(source, batch_size=4))
  assert len(batches) == 2
  last = batches[1]
  assert last["adjacency"].dtype == np.uint8 and last["node_mask"].dtype == bool
  assert last["nodes"].shape == (4, 111, 37) and last["mask"].tolist() == [True, False, False, False]
  assert not last["node_mask"][1:].any()  # the padding examples are empty graphs
