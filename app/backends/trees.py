"""A tree ensemble read from the pickle-free artifact and scored in pure Python: trees as flat arrays, and exact
TreeSHAP explanations.

Each node's test is stored in one form whatever library trained it: a number goes left when it is below the
node's threshold (the importer has already turned the library's own rule, such as XGBoost's float32 comparison,
into that threshold); a category goes left when it is one of the node's left categories.

A node may also name its column: the input the library's tree split on, when a pipeline made several from one
field (a one-hot encoder's indicators). Explanations share the margin among columns, as the library's own inputs,
and then sum each field's columns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.schema import Reading, Schema

LEAF = -1  # the feature of a leaf
NODE_ARRAYS = ("feature", "threshold", "left", "right", "value", "cover")
LINKS = ("logistic", "identity")


class TreeFileError(ValueError):
    """The ensemble in an artifact cannot be used; the message says why."""


class Tree:
    """One tree as flat arrays indexed by node; node 0 is the root."""

    __slots__ = ("column", "cover", "feature", "left", "left_categories", "right", "threshold", "value")

    def __init__(self, spec: dict[str, Any], schema: Schema, columns: Sequence[int], where: str) -> None:
        if not isinstance(spec, dict):
            raise TreeFileError(f"{where} must be an object")
        arrays: list[Any] = [spec.get(name) for name in NODE_ARRAYS]
        if not all(isinstance(a, list) for a in arrays) or len({len(a) for a in arrays}) != 1 or not arrays[0]:
            raise TreeFileError(f"{where} must hold the arrays {', '.join(NODE_ARRAYS)}, of one length")
        self.feature, self.threshold, self.left, self.right, self.value, self.cover = arrays
        nodes = len(self.feature)
        # Checked array by array, as the validator checks columns: a tree file holds tens of thousands of numbers.
        for name in ("threshold", "value", "cover"):
            if not _finite_numbers(spec[name]):
                raise TreeFileError(f"{where}.{name} must hold finite numbers")
        if min(self.cover) <= 0:
            raise TreeFileError(f"{where}.cover: every node must cover some training weight")
        if not _whole_numbers(self.feature) or min(self.feature) < LEAF or max(self.feature) >= schema.width:
            raise TreeFileError(f"{where}.feature must hold fields' positions, or {LEAF} for a leaf")
        if not _whole_numbers(self.left) or not _whole_numbers(self.right):
            raise TreeFileError(f"{where}.left and .right must hold node numbers")
        splits = [node for node, feature in enumerate(self.feature) if feature != LEAF]
        for node in splits:
            if not (node < self.left[node] < nodes and node < self.right[node] < nodes):
                raise TreeFileError(f"{where}: node {node}'s children must be later nodes")
        sets = spec.get("left_categories", {})
        if not isinstance(sets, dict):
            raise TreeFileError(f"{where}.left_categories must be an object")
        self.left_categories: list[frozenset[str] | None] = [None] * nodes
        for node in splits:
            field = schema.fields[self.feature[node]]
            if field.categories:
                chosen = sets.get(str(node))
                if not isinstance(chosen, list) or not set(chosen) <= set(field.categories):
                    raise TreeFileError(f"{where}.left_categories.{node} must list categories of {field.name}")
                self.left_categories[node] = frozenset(chosen)
        self.column: list[int] = spec.get("column", self.feature)
        if not isinstance(self.column, list) or len(self.column) != nodes or not _whole_numbers(self.column):
            raise TreeFileError(f"{where}.column must hold a column number per node")
        for node in splits:
            if not 0 <= self.column[node] < len(columns) or columns[self.column[node]] != self.feature[node]:
                raise TreeFileError(f"{where}.column: node {node}'s column must be one of its field's columns")

    def children(self, node: int) -> tuple[int, int]:
        return self.left[node], self.right[node]

    def goes_left(self, node: int, row: Reading) -> bool:
        value = row[self.feature[node]]
        categories = self.left_categories[node]
        return value in categories if categories is not None else value < self.threshold[node]

    def expected_value(self) -> float:
        """The leaves' mean, weighted by the training weight that reached each: the tree's answer with no field
        known."""
        leaves = [n for n, f in enumerate(self.feature) if f == LEAF]
        return math.fsum(self.value[n] * self.cover[n] for n in leaves) / math.fsum(self.cover[n] for n in leaves)

    def shap(self, row: Reading, phi: list[float]) -> None:
        """Adds each column's exact SHAP value for this tree to phi (path-dependent TreeSHAP: Lundberg, Erion and
        Lee, "Consistent individualized feature attribution for tree ensembles", 2018, algorithm 2)."""
        self._recurse(row, phi, 0, [], [], [], [], 1.0, 1.0, LEAF)

    def _recurse(
        self,
        row: Reading,
        phi: list[float],
        node: int,
        features: list[int],
        zeros: list[float],
        ones: list[float],
        weights: list[float],
        zero: float,
        one: float,
        feature: int,
    ) -> None:
        # The path of unique features down to this node: who split, the share of training weight that went this
        # way (zero), whether the row goes this way (one), and the permutation weights.
        features, zeros, ones, weights = features[:], zeros[:], ones[:], weights[:]
        _extend(features, zeros, ones, weights, zero, one, feature)
        if self.feature[node] == LEAF:
            value = self.value[node]
            for i in range(1, len(features)):
                phi[features[i]] += _unwound_sum(zeros, ones, weights, i) * (ones[i] - zeros[i]) * value
            return
        split = self.column[node]
        hot, cold = self.children(node)
        if not self.goes_left(node, row):
            hot, cold = cold, hot
        incoming_zero = incoming_one = 1.0
        if split in features[1:]:
            k = features.index(split, 1)
            incoming_zero, incoming_one = zeros[k], ones[k]
            _unwind(features, zeros, ones, weights, k)
        cover = self.cover[node]
        hot_zero = self.cover[hot] / cover * incoming_zero
        cold_zero = self.cover[cold] / cover * incoming_zero
        self._recurse(row, phi, hot, features, zeros, ones, weights, hot_zero, incoming_one, split)
        self._recurse(row, phi, cold, features, zeros, ones, weights, cold_zero, 0.0, split)


def _extend(
    features: list[int], zeros: list[float], ones: list[float], weights: list[float], zero: float, one: float, f: int
) -> None:
    depth = len(features)
    features.append(f)
    zeros.append(zero)
    ones.append(one)
    weights.append(1.0 if depth == 0 else 0.0)
    for i in range(depth - 1, -1, -1):
        weights[i + 1] += one * weights[i] * (i + 1) / (depth + 1)
        weights[i] = zero * weights[i] * (depth - i) / (depth + 1)


def _unwind(features: list[int], zeros: list[float], ones: list[float], weights: list[float], k: int) -> None:
    """Removes element k from the path, undoing its _extend."""
    depth = len(features) - 1
    one, zero = ones[k], zeros[k]
    next_one = weights[depth]
    for i in range(depth - 1, -1, -1):
        if one != 0:
            kept = weights[i]
            weights[i] = next_one * (depth + 1) / ((i + 1) * one)
            next_one = kept - weights[i] * zero * (depth - i) / (depth + 1)
        else:
            weights[i] = weights[i] * (depth + 1) / (zero * (depth - i))
    for values in (features, zeros, ones):
        del values[k]
    del weights[depth]


def _unwound_sum(zeros: list[float], ones: list[float], weights: list[float], k: int) -> float:
    """The total permutation weight of the path with element k removed."""
    depth = len(weights) - 1
    one, zero = ones[k], zeros[k]
    next_one = weights[depth]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one != 0:
            part = next_one * (depth + 1) / ((i + 1) * one)
            total += part
            next_one = weights[i] - part * zero * (depth - i) / (depth + 1)
        else:
            total += weights[i] / zero / ((depth - i) / (depth + 1))
    return total


def _number(value: Any, where: str) -> float:
    if not _finite_numbers([value]):
        raise TreeFileError(f"{where} must be a finite number")
    return float(value)


def _finite_numbers(values: list[Any]) -> bool:
    return set(map(type, values)) <= {int, float} and all(map(math.isfinite, values))


def _whole_numbers(values: list[Any]) -> bool:
    return set(map(type, values)) == {int}


class TreeEnsemble:
    """A sum of trees, base score plus each tree's leaf: the log-odds under the logistic link (boosting), or the
    probability itself under the identity link (a forest, whose leaves hold their share of the mean)."""

    def __init__(self, model: Any, schema: Schema) -> None:
        if not isinstance(model, dict) or model.get("kind") != "tree_ensemble":
            raise TreeFileError('model.kind must be "tree_ensemble"')
        if model.get("link") not in LINKS:
            raise TreeFileError(f"model.link must be one of {', '.join(LINKS)}")
        self.link: str = model["link"]
        self.base_score = _number(model.get("base_score"), "model.base_score")
        trees = model.get("trees")
        if not isinstance(trees, list) or not trees:
            raise TreeFileError("model.trees must be a list of trees")
        self.columns: list[int] = model.get("columns", list(range(schema.width)))
        if not isinstance(self.columns, list) or not _whole_numbers(self.columns) or not self.columns:
            raise TreeFileError("model.columns must hold a field position per column")
        if not 0 <= min(self.columns) <= max(self.columns) < schema.width:
            raise TreeFileError("model.columns must hold fields' positions")
        self.trees = [Tree(spec, schema, self.columns, f"model.trees[{i}]") for i, spec in enumerate(trees)]
        self.names = schema.names
        self.source = model.get("source")
        self.baseline = self.base_score + math.fsum(tree.expected_value() for tree in self.trees)
        # What the walk reads of each tree, gathered once rather than per request.
        self._walk = [(t.feature, t.threshold, t.left, t.right, t.left_categories, t.value) for t in self.trees]

    def margins(self, rows: Sequence[Reading]) -> list[float]:
        """Each row's base score plus the leaf it reaches in every tree, walked in one loop: per tree-row this
        costs a few comparisons, no call."""
        base, totals = self.base_score, []
        for row in rows:
            total = base
            for feature, threshold, left, right, sets, value in self._walk:
                node = 0
                while (position := feature[node]) != LEAF:
                    categories = sets[node]
                    x = row[position]
                    if x in categories if categories is not None else x < threshold[node]:
                        node = left[node]
                    else:
                        node = right[node]
                total += value[node]
            totals.append(total)
        return totals

    def contributions(self, row: Reading) -> dict[str, float]:
        phi = [0.0] * len(self.columns)
        for tree in self.trees:
            tree.shap(row, phi)
        fields = [0.0] * len(self.names)
        for position, share in zip(self.columns, phi, strict=True):
            fields[position] += share
        return dict(zip(self.names, fields, strict=True))

    def describe(self) -> dict[str, Any]:
        return {"kind": "tree_ensemble", "link": self.link, "trees": len(self.trees), "source": self.source}
