"""An optional native scorer for tree ensembles: the same flat arrays, handed to onnxruntime as one ONNX
TreeEnsemble (ai.onnx.ml, opset 5) in float64, so a batch is walked in C++ and the scores are the pure-Python
walk's. Installed with requirements-native.txt and switched on with TREES_NATIVE=on; never in the Lambda zip.

A number goes left when x < threshold (BRANCH_LT); a category, given as its position in the schema, when it is one
of the node's left categories, tested as its position against the bounds of the runs of positions among them
(below). A gap is NaN, which each node sends where the tree's missing_left says (nodes_missing_value_tracks_true);
a model of several outputs is one target each. Explanations stay with the pure-Python TreeSHAP."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.core.fields import Schema
from app.core.table import Reading, Readings
from app.models.runtimes.trees import LEAF, ZERO_BAND, Tree, TreeEnsemble

BRANCH_LT, BRANCH_MEMBER = 1, 6
GROWTH = 4  # how many times its nodes a model may grow by copies of ways (below)


class NativeTrees:
    """A TreeEnsemble whose margins onnxruntime computes; everything else is the ensemble's own."""

    def __init__(self, ensemble: TreeEnsemble, schema: Schema) -> None:
        import onnxruntime

        self.ensemble, self.link, self.baseline = ensemble, ensemble.link, ensemble.baseline
        self.outputs = ensemble.outputs
        self.contributions = ensemble.contributions
        self.codes = [
            {None: math.nan, **{c: float(i) for i, c in enumerate(f.categories)}} if f.categories else None
            for f in schema.fields
        ]
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about the CPU's thread affinity are not the user's
        model = _onnx_model(ensemble, schema.width).SerializeToString()
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def margins(self, rows: Sequence[Reading]) -> list[Any]:
        import numpy as np

        columns = rows.columns if isinstance(rows, Readings) else list(zip(*rows, strict=True))
        matrix = np.empty((len(rows), len(columns)), dtype=np.float64)
        for position, (column, codes) in enumerate(zip(columns, self.codes, strict=True)):
            # A gap (None) is NaN: numpy makes None NaN in a float array, and a category's codes map it so.
            matrix[:, position] = list(map(codes.__getitem__, column)) if codes else column
        for position in self.ensemble.zero_as_missing:
            numbers = matrix[:, position]
            numbers[np.abs(numbers) <= ZERO_BAND] = np.nan
        (scores,) = self.session.run(None, {"readings": matrix})
        margins = scores + np.array(self.ensemble.base_scores)
        return (margins[:, 0] if self.outputs == 1 else margins).tolist()  # type: ignore[no-any-return]

    def describe(self) -> dict[str, Any]:
        return {**self.ensemble.describe(), "scorer": "onnxruntime"}


def _onnx_model(ensemble: TreeEnsemble, width: int) -> Any:
    """The ensemble as one TreeEnsemble node; a tree that is one leaf gets a split whose two ways reach it.

    onnxruntime walks its fast loop only when every node has one mode, and refuses a node reached from two. So a
    category's test becomes BRANCH_LT tests of its code against the bounds between the runs of codes in and out of
    its left categories, each run reaching its own copy of the way it takes. When those copies would make the model
    more than GROWTH times as many nodes, categories keep one BRANCH_MEMBER node each (but a test that every
    category passes, or none, which needs no node)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    copied = sum(_copied_size(tree, ensemble.categories) for tree in ensemble.trees)
    graph = _Graph(ensemble.categories, expand=copied <= GROWTH * sum(len(tree.feature) for tree in ensemble.trees))
    roots = []
    for tree in ensemble.trees:
        root = graph.add(tree)
        if root[1]:  # a tree that is one leaf
            made = graph.split(0, BRANCH_LT, 0.0, False)
            graph.true[made] = graph.false[made] = root
            root = (made, 0)
        roots.append(root[0])
    attributes: dict[str, Any] = {
        "aggregate_function": 1,  # SUM
        "post_transform": 0,  # NONE: the link is applied as for the pure-Python walk
        "n_targets": ensemble.outputs,
        "tree_roots": roots,
        "nodes_featureids": graph.feature,
        "nodes_modes": numpy_helper.from_array(np.array(graph.mode, dtype=np.uint8)),
        "nodes_splits": numpy_helper.from_array(np.array(graph.threshold, dtype=np.float64)),
        "nodes_truenodeids": [node for node, _ in graph.true],
        "nodes_trueleafs": [leaf for _, leaf in graph.true],
        "nodes_falsenodeids": [node for node, _ in graph.false],
        "nodes_falseleafs": [leaf for _, leaf in graph.false],
        "nodes_missing_value_tracks_true": graph.gap_true,
        "leaf_targetids": graph.targets,
        "leaf_weights": numpy_helper.from_array(np.array(graph.leaves, dtype=np.float64)),
    }
    if graph.members:
        attributes["membership_values"] = numpy_helper.from_array(np.array(graph.members, dtype=np.float64))
    onnx_graph = helper.make_graph(
        [helper.make_node("TreeEnsemble", ["readings"], ["margins"], domain="ai.onnx.ml", **attributes)],
        "trees",
        [helper.make_tensor_value_info("readings", TensorProto.DOUBLE, [None, width])],
        [helper.make_tensor_value_info("margins", TensorProto.DOUBLE, [None, ensemble.outputs])],
    )
    opsets = [helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)]
    return helper.make_model(onnx_graph, opset_imports=opsets, ir_version=10)


# A node of the ONNX model: its index among the splits or among the leaves, and 1 for a leaf.
Ref = tuple[int, int]
# Where a node's Ref goes: the split whose true (or false) way it is, or None for a tree's root.
Slot = tuple[int, bool] | None


class _Graph:
    """The ONNX node arrays. A split is numbered when it is made, before its ways are: BRANCH_MEMBER nodes' codes
    go into membership_values in that order."""

    def __init__(self, categories: Sequence[tuple[str, ...]], expand: bool) -> None:
        self.categories, self.expand = categories, expand
        self.feature: list[int] = []
        self.mode: list[int] = []
        self.threshold: list[float] = []
        self.true: list[Ref] = []
        self.false: list[Ref] = []
        self.gap_true: list[int] = []  # 1 where a gap (NaN) takes the true way
        self.leaves: list[float] = []
        self.targets: list[int] = []  # each leaf's output
        self.members: list[float] = []  # each BRANCH_MEMBER node's codes, ended by NaN

    def split(self, feature: int, mode: int, threshold: float, gap_true: bool) -> int:
        self.feature.append(feature)
        self.mode.append(mode)
        self.threshold.append(threshold)
        self.gap_true.append(int(gap_true))
        self.true.append((-1, 0))  # until its ways are made
        self.false.append((-1, 0))
        return len(self.feature) - 1

    def add(self, tree: Tree) -> Ref:
        """A tree's nodes, walked with a stack (trees can be deeper than Python's recursion); its root's Ref."""
        root: list[Ref] = []
        gap_left = tree.missing_left or [0] * len(tree.feature)
        # A tree's node to make, or the runs runs[low:high] of a category's test at a node, and the slot of its Ref.
        pending: list[tuple[int, list[tuple[int, bool]] | None, int, int, Slot]] = [(0, None, 0, 0, None)]
        while pending:
            node, runs, low, high, slot = pending.pop()
            position = tree.feature[node]
            if runs is not None:  # the runs low to high - 1 of the category test at `node`
                if high - low == 1:
                    pending.append((tree.left[node] if runs[low][1] else tree.right[node], None, 0, 0, slot))
                    continue
                middle = (low + high) // 2  # runs[middle] is the first whose codes are not below the bound
                # A gap takes the lower runs when one of them goes its way: two or more runs hold both ways.
                gap_true = middle - low > 1 or runs[low][1] == bool(gap_left[node])
                made = self.split(position, BRANCH_LT, float(runs[middle][0]), gap_true)
                pending += [(node, runs, middle, high, (made, False)), (node, runs, low, middle, (made, True))]
            elif position == LEAF:
                self.leaves.append(tree.value[node])
                self.targets.append(tree.output)
                self._put(root, slot, (len(self.leaves) - 1, 1))
                continue
            else:
                chosen = tree.left_categories[node]
                if chosen is None:
                    made = self.split(position, BRANCH_LT, tree.threshold[node], bool(gap_left[node]))
                else:
                    runs = _runs(chosen, self.categories[position])
                    if len(runs) == 1 and gap_left[node] != runs[0][1]:
                        # Every category goes one way and a gap the other: each code is below infinity, NaN is not.
                        made = self.split(position, BRANCH_LT, math.inf, False)
                        taken, other = (tree.left[node], tree.right[node])[:: 1 if runs[0][1] else -1]
                        pending += [(other, None, 0, 0, (made, False)), (taken, None, 0, 0, (made, True))]
                        self._put(root, slot, (made, 0))
                        continue
                    if self.expand or len(runs) == 1:
                        pending.append((node, runs, 0, len(runs), slot))
                        continue
                    made = self.split(position, BRANCH_MEMBER, 0.0, bool(gap_left[node]))
                    self.members += [float(code) for code, c in enumerate(self.categories[position]) if c in chosen]
                    self.members.append(float("nan"))
                pending += [(tree.right[node], None, 0, 0, (made, False)), (tree.left[node], None, 0, 0, (made, True))]
            self._put(root, slot, (made, 0))
        return root[0]

    def _put(self, root: list[Ref], slot: Slot, ref: Ref) -> None:
        if slot is None:
            root.append(ref)
        elif slot[1]:
            self.true[slot[0]] = ref
        else:
            self.false[slot[0]] = ref


def _runs(chosen: frozenset[str], categories: Sequence[str]) -> list[tuple[int, bool]]:
    """The runs of codes in a category test, in code order: each run's first code, and whether it goes left."""
    inside = [c in chosen for c in categories]
    return [(code, inside[code]) for code in range(len(inside)) if code == 0 or inside[code] != inside[code - 1]]


def _copied_size(tree: Tree, categories: Sequence[tuple[str, ...]]) -> int:
    """The tree's size once categories' tests are copied into runs, from each node's subtree's (children come
    after parents)."""
    size = [1] * len(tree.feature)
    for node in reversed(range(len(tree.feature))):
        position = tree.feature[node]
        if position == LEAF:
            continue
        left, right, chosen = size[tree.left[node]], size[tree.right[node]], tree.left_categories[node]
        if chosen is None:
            size[node] = 1 + left + right
            continue
        runs = _runs(chosen, categories[position])
        size[node] = len(runs) - 1 + sum(left if goes_left else right for _, goes_left in runs)
    return size[0]
