"""An optional native scorer for tree ensembles: the same flat arrays, handed to onnxruntime as one ONNX
TreeEnsemble (ai.onnx.ml, opset 5) in float64, so a batch is walked in C++ and the scores are the pure-Python
walk's. Installed with requirements-native.txt and switched on with TREES_NATIVE=on; never in the Lambda zip.

A number goes left when x < threshold (BRANCH_LT); a category, given as its position in the schema, when it is a
member of the node's left categories (BRANCH_MEMBER). Explanations stay with the pure-Python TreeSHAP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.backends.trees import LEAF, TreeEnsemble
from app.schema import Reading, Readings, Schema

BRANCH_LT, BRANCH_MEMBER = 1, 6


class NativeTrees:
    """A TreeEnsemble whose margins onnxruntime computes; everything else is the ensemble's own."""

    def __init__(self, ensemble: TreeEnsemble, schema: Schema) -> None:
        import onnxruntime

        self.ensemble, self.link, self.baseline = ensemble, ensemble.link, ensemble.baseline
        self.contributions = ensemble.contributions
        self.codes = [
            {c: float(i) for i, c in enumerate(f.categories)} if f.categories else None for f in schema.fields
        ]
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about the CPU's thread affinity are not the user's
        model = _onnx_model(ensemble, schema.width).SerializeToString()
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def margins(self, rows: Sequence[Reading]) -> list[float]:
        import numpy as np

        columns = rows.columns if isinstance(rows, Readings) else list(zip(*rows, strict=True))
        matrix = np.empty((len(rows), len(columns)), dtype=np.float64)
        for position, (column, codes) in enumerate(zip(columns, self.codes, strict=True)):
            matrix[:, position] = list(map(codes.__getitem__, column)) if codes else column
        (scores,) = self.session.run(None, {"readings": matrix})
        return (scores[:, 0] + self.ensemble.base_score).tolist()  # type: ignore[no-any-return]

    def describe(self) -> dict[str, Any]:
        return {**self.ensemble.describe(), "scorer": "onnxruntime"}


def _onnx_model(ensemble: TreeEnsemble, width: int) -> Any:
    """The ensemble as one TreeEnsemble node: each split a node, each leaf a leaf; a tree that is one leaf gets
    a split whose two ways reach it."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    nodes: dict[str, list[Any]] = {
        key: [] for key in ("feature", "mode", "split", "true", "true_leaf", "false", "false_leaf")
    }
    roots: list[int] = []
    leaves: list[float] = []
    members: list[float] = []
    for tree in ensemble.trees:
        number = {}  # the tree's node -> its index among the splits or among the leaves
        for node, feature in enumerate(tree.feature):
            if feature == LEAF:
                number[node] = len(leaves)
                leaves.append(tree.value[node])
        splits = [node for node, feature in enumerate(tree.feature) if feature != LEAF]
        roots.append(len(nodes["feature"]))
        number.update((node, roots[-1] + i) for i, node in enumerate(splits))
        if not splits:
            nodes["feature"].append(0)
            nodes["mode"].append(BRANCH_LT)
            nodes["split"].append(0.0)
            for way in ("true", "false"):
                nodes[way].append(number[0])
                nodes[f"{way}_leaf"].append(1)
            continue
        for node in splits:
            categories = tree.left_categories[node]
            nodes["feature"].append(tree.feature[node])
            if categories is None:
                nodes["mode"].append(BRANCH_LT)
                nodes["split"].append(tree.threshold[node])
            else:
                nodes["mode"].append(BRANCH_MEMBER)
                nodes["split"].append(0.0)
                field = ensemble.categories[tree.feature[node]]
                members += [float(code) for code, c in enumerate(field) if c in categories] + [float("nan")]
            for way, child in (("true", tree.left[node]), ("false", tree.right[node])):
                nodes[way].append(number[child])
                nodes[f"{way}_leaf"].append(int(tree.feature[child] == LEAF))
    attributes: dict[str, Any] = {
        "aggregate_function": 1,  # SUM
        "post_transform": 0,  # NONE: the link is applied as for the pure-Python walk
        "n_targets": 1,
        "tree_roots": roots,
        "nodes_featureids": nodes["feature"],
        "nodes_modes": numpy_helper.from_array(np.array(nodes["mode"], dtype=np.uint8)),
        "nodes_splits": numpy_helper.from_array(np.array(nodes["split"], dtype=np.float64)),
        "nodes_truenodeids": nodes["true"],
        "nodes_trueleafs": nodes["true_leaf"],
        "nodes_falsenodeids": nodes["false"],
        "nodes_falseleafs": nodes["false_leaf"],
        "leaf_targetids": [0] * len(leaves),
        "leaf_weights": numpy_helper.from_array(np.array(leaves, dtype=np.float64)),
    }
    if members:
        attributes["membership_values"] = numpy_helper.from_array(np.array(members, dtype=np.float64))
    graph = helper.make_graph(
        [helper.make_node("TreeEnsemble", ["readings"], ["margins"], domain="ai.onnx.ml", **attributes)],
        "trees",
        [helper.make_tensor_value_info("readings", TensorProto.DOUBLE, [None, width])],
        [helper.make_tensor_value_info("margins", TensorProto.DOUBLE, [None, 1])],
    )
    opsets = [helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=10)
