"""A tree ensemble read from the pickle-free artifact and scored in pure Python: trees as flat arrays, and exact
TreeSHAP explanations.

Each node's test is stored in one form whatever library trained it: a number goes left when it is below the
node's threshold (the importer has already turned the library's own rule, such as XGBoost's float32 comparison,
into that threshold); a category goes left when it is one of the node's left categories.

A node may also name its column: the input the library's tree split on, when a pipeline made several from one
field (a one-hot encoder's indicators). Explanations share the margin among columns, as the library's own inputs,
and then sum each field's columns."""

from __future__ import annotations

import functools
import math
import operator
import sys
from array import array
from collections.abc import Sequence
from typing import Any

from app.core.fields import Schema
from app.core.table import Reading
from app.models.artifact import LARGEST_SUM, past_largest_sum

LEAF = -1  # the feature of a leaf
NODE_ARRAYS = ("feature", "threshold", "left", "right", "value", "cover")
LINKS = ("logistic", "identity")
# Caps on a model's size: checking, walking and explaining it take time and memory in proportion to its nodes.
MAX_DEPTH = 5_000  # onnxruntime (TREES_NATIVE) builds a tree recursively, and crashed past 11,000 levels deep
MAX_TREE_NODES = 2**21 - 1  # more than a scikit-learn tree grown to one row a leaf on a million rows
MAX_NODES = 4_000_000  # in all trees: about 1 GB loaded and 4 GB explained (some 220 and 900 bytes a node)


class TreeFileError(ValueError):
    """The ensemble in an artifact cannot be used; the message says why."""


def _node_arrays(spec: Any, where: str) -> list[list[Any]]:
    """A tree's NODE_ARRAYS; raises TreeFileError unless they are lists of one length, at most MAX_TREE_NODES."""
    if not isinstance(spec, dict):
        raise TreeFileError(f"{where} must be an object")
    arrays: list[Any] = [spec.get(name) for name in NODE_ARRAYS]
    if not all(isinstance(a, list) for a in arrays) or len({len(a) for a in arrays}) != 1 or not arrays[0]:
        raise TreeFileError(f"{where} must hold the arrays {', '.join(NODE_ARRAYS)}, of one length")
    if len(arrays[0]) > MAX_TREE_NODES:
        raise TreeFileError(f"{where} has {len(arrays[0]):,} nodes: a tree may have at most {MAX_TREE_NODES:,}")
    return arrays


class Tree:
    """One tree as flat arrays indexed by node; node 0 is the root."""

    __slots__ = ("column", "cover", "feature", "left", "left_categories", "right", "threshold", "value")

    def __init__(
        self, spec: dict[str, Any], arrays: list[list[Any]], schema: Schema, columns: Sequence[int], where: str
    ) -> None:
        """`arrays`: the spec's NODE_ARRAYS, from _node_arrays."""
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
        self._check_shape(splits, where)
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

    def _check_shape(self, splits: list[int], where: str) -> None:
        """Raises TreeFileError unless the nodes make one binary tree no deeper than MAX_DEPTH: each node but the
        root the child of one split, which comes before it."""
        nodes = len(self.feature)
        children: set[int] = set()
        for node in splits:
            low, high = self.left[node], self.right[node]
            if not (node < low < nodes and node < high < nodes):
                raise TreeFileError(f"{where}: node {node}'s children must be later nodes")
            children.add(low)
            children.add(high)
        if len(children) < 2 * len(splits):  # some node has two parents: found, to be named
            parents: dict[int, int] = {}
            for node in splits:
                for child in (self.left[node], self.right[node]):
                    if child in parents:
                        raise TreeFileError(
                            f"{where}: node {child} is a child of node {parents[child]} and again of node {node}: "
                            "a tree's node has one parent"
                        )
                    parents[child] = node
        # Each child is unique and after its parent, so not the root: all the others are reached when there are
        # nodes - 1 children, two per split, which is a binary tree's count, 2 * leaves - 1.
        if len(children) != nodes - 1:
            unreached = min(set(range(1, nodes)) - children)
            raise TreeFileError(
                f"{where} has {nodes} nodes, {nodes - len(splits)} of them leaves, where a binary tree has "
                f"2 * leaves - 1: node {unreached} is not reached from the root"
            )
        if nodes > 2 * MAX_DEPTH + 1:  # a tree with fewer nodes cannot be deeper
            depths = _depths(self)
            if max(depths) > MAX_DEPTH:
                deep = next(node for node, depth in enumerate(depths) if depth > MAX_DEPTH)
                raise TreeFileError(
                    f"{where}: node {deep} is {depths[deep]:,} splits below the root: a tree may be at most "
                    f"{MAX_DEPTH:,} deep"
                )

    def expected_value(self) -> float:
        """The leaves' mean, weighted by the training weight that reached each: the tree's answer with no field
        known."""
        leaves = [n for n, f in enumerate(self.feature) if f == LEAF]
        return math.fsum(self.value[n] * self.cover[n] for n in leaves) / math.fsum(self.cover[n] for n in leaves)

    def paths(self, categories: Sequence[tuple[str, ...]]) -> list[tuple[float, list[Split]]]:
        """Each leaf's value and the columns its path splits on: for each, the values that take the path (an
        interval, or a set of categories) and the share z of training weight that took it."""
        found: list[tuple[float, list[Split]]] = []
        pending: list[tuple[int, dict[int, Split]]] = [(0, {})]
        while pending:
            node, path = pending.pop()
            position = self.feature[node]
            if position == LEAF:
                found.append((self.value[node], list(path.values())))
                continue
            column, chosen, threshold = self.column[node], self.left_categories[node], self.threshold[node]
            unsplit: Split = (position, -math.inf, math.inf, None, 1.0, column)
            for child, left in ((self.left[node], True), (self.right[node], False)):
                _, low, high, allowed, zero, _ = path.get(column, unsplit)
                if chosen is not None:
                    taken = chosen if left else frozenset(categories[position]) - chosen
                    allowed = taken if allowed is None else allowed & taken
                elif left:
                    high = min(high, threshold)
                else:
                    low = max(low, threshold)
                share = zero * (self.cover[child] / self.cover[node])
                pending.append((child, {**path, column: (position, low, high, allowed, share, column)}))
        return found


# A column's splits on a path: its field, the interval [low, high) or the categories that take the path, the
# share z of training weight that took it, and the column.
Split = tuple[int, float, float, "frozenset[str] | None", float, int]
# The same at a leaf, as explanations read it: field, interval, categories, the column's bit in the leaf's mask,
# the column, and the factor of its integral when the row takes the path there: (1 - z) / z with a table, 1 - z
# without.
Part = tuple[int, float, float, "frozenset[str] | None", int, int, float]
# A leaf: its value v, its table of I or None, its parts, and, without a table, for each part z(1 - t), z(1 - t) + t
# and (1 - t) / (z(1 - t) + t) at each quadrature point t.
Points = tuple[float, ...]
Leaf = tuple[float, "array[float] | None", list[Part], list[tuple[Points, Points, Points]]]
# A path on n columns, at most this many, gets a table of its 2^n integrals: no more memory than the path's parts.
TABLE_COLUMNS = 6
# Nor a path where a share z is smaller than this, whose (1 - z) / z would pass the largest float.
SMALLEST_SHARE = 1e-300


def quadrature(count: int) -> tuple[list[float], list[float]]:
    """Gauss-Legendre points and weights on [0, 1]: exact for polynomials of degree below 2 * count."""
    points, weights = [], []
    for k in range(count):
        x = math.cos(math.pi * (k + 0.75) / (count + 0.5))  # near the k-th root of the Legendre polynomial
        for _ in range(100):
            p, q = 1.0, 0.0  # P_n(x) and P_(n-1)(x), by the three-term recurrence
            for n in range(1, count + 1):
                p, q = ((2 * n - 1) * x * p - (n - 1) * q) / n, p
            slope = count * (x * p - q) / (x * x - 1)
            step = p / slope
            x -= step
            if abs(step) < 1e-16:
                break
        points.append((1 - x) / 2)
        weights.append(1 / ((1 - x * x) * slope * slope))  # 2 / ((1 - x^2) P'(x)^2), halved for [0, 1]
    return points, weights


def _depths(tree: Tree) -> list[int]:
    """Each node's depth: the splits on its path from the root."""
    depths = [0] * len(tree.feature)
    for node, feature in enumerate(tree.feature):  # children come after their parents
        if feature != LEAF:
            depths[tree.left[node]] = depths[tree.right[node]] = depths[node] + 1
    return depths


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
        self.outputs = 1
        self.base_score = _number(model.get("base_score"), "model.base_score")
        trees = model.get("trees")
        if not isinstance(trees, list) or not trees:
            raise TreeFileError("model.trees must be a list of trees")
        self.columns: list[int] = model.get("columns", list(range(schema.width)))
        if not isinstance(self.columns, list) or not _whole_numbers(self.columns) or not self.columns:
            raise TreeFileError("model.columns must hold a field position per column")
        if not 0 <= min(self.columns) <= max(self.columns) < schema.width:
            raise TreeFileError("model.columns must hold fields' positions")
        arrays, total = [], 0  # counted before any tree's nodes are checked, which takes time in proportion to them
        for i, spec in enumerate(trees):
            arrays.append(_node_arrays(spec, f"model.trees[{i}]"))
            total += len(arrays[-1][0])
            if total > MAX_NODES:
                raise TreeFileError(
                    f"model.trees[{i}] takes the trees past {MAX_NODES:,} nodes, the most a model may have"
                )
        self.trees = [
            Tree(spec, nodes, schema, self.columns, f"model.trees[{i}]")
            for i, (spec, nodes) in enumerate(zip(trees, arrays, strict=True))
        ]
        # A margin adds the base score and a leaf of each tree; a tree's expected value, its leaves' values times
        # their covers.
        largest = [max(max(tree.value), -min(tree.value)) for tree in self.trees]
        reach = [("model.base_score", abs(self.base_score))]
        past = past_largest_sum(reach + [(f"model.trees[{i}]", value) for i, value in enumerate(largest)])
        if past is not None:
            raise TreeFileError(
                f"{past}: the base score and each tree's largest value add up past {LARGEST_SUM:g} here, too near "
                "the largest float for the sums made scoring and explaining"
            )
        for i, (tree, value) in enumerate(zip(self.trees, largest, strict=True)):
            if not value * sum(tree.cover) <= sys.float_info.max / 2:  # half: room for fsum's partial sums
                raise TreeFileError(
                    f"model.trees[{i}].cover: the covers times the tree's largest value add up past half the "
                    "largest float, too near it for the tree's expected value"
                )
        self.names = schema.names
        self.categories = [field.categories for field in schema.fields]
        self.source = model.get("source")
        self.baseline = self.base_score + math.fsum(tree.expected_value() for tree in self.trees)
        # What the walk reads of each tree, gathered once rather than per request.
        self._walk = [(t.feature, t.threshold, t.left, t.right, t.left_categories, t.value) for t in self.trees]
        self._leaves: tuple[list[float], list[Leaf]] | None = None

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
        """Each field's exact SHAP value: path-dependent TreeSHAP (Lundberg, Erion and Lee, "Consistent
        individualized feature attribution for tree ensembles", 2018), its permutation weights written as an
        integral. A leaf of value v whose path splits on the columns F gives column i

            v (o_i - z_i) * integral from 0 to 1 of prod over j in F, j != i, of (z_j (1 - t) + o_j t) dt

        where o_j is 1 when the row takes the path at j's splits and z_j is the share of training weight that
        did. With U the columns where the row takes the path, and

            I(U) = v * integral of prod over j in U of (z_j (1 - t) + t) * prod over j not in U of z_j (1 - t),
                   divided by (1 - t),

        a column off the path gets -I(U) and a column on it (1 - z_i) / z_i * I(U without i). The integrand is a
        polynomial of degree below the path's length, so Gauss-Legendre quadrature with half as many points as a
        path can have columns (no more than the deepest tree's depth, nor the model's columns) gives I exactly (but
        for U = F, where the integral diverges and no column is off the path to use it). A path on at most
        TABLE_COLUMNS columns keeps I for every U, made at the first explanation (Fast TreeSHAP v2's
        precomputation, Yang 2021): a row then costs one test and one lookup per column of each path. A table of a
        longer path would take 2^n numbers, so it computes, from the row's products at the points, -I(U) and
        v (1 - z_i) times the integral without i's factor."""
        if self._leaves is None:  # built at the first explanation: serving that never explains never pays
            self._leaves = self._explained_leaves()
        beside, leaves = self._leaves
        phi = [0.0] * len(self.columns)
        for value, table, parts, factors in leaves:
            mask = 0
            for at, low, high, allowed, bit, _, _ in parts:
                x = row[at]
                if x in allowed if allowed is not None else low <= x < high:
                    mask |= bit
            if table is None:
                taken = [on if mask & part[4] else off for part, (off, on, _) in zip(parts, factors, strict=True)]
                products = map(math.prod, zip(*taken, strict=True))
                integrand = [value * w * p for w, p in zip(beside, products, strict=True)]
                off_path = sum(integrand)
                for (_, _, _, _, bit, column, gain), (_, _, apart) in zip(parts, factors, strict=True):
                    if mask & bit:  # apart: (1 - t) / (z(1 - t) + t) takes i's factor and the division out
                        phi[column] += gain * sum(map(operator.mul, integrand, apart))
                    else:
                        phi[column] -= off_path
                continue
            off_path = table[mask]
            for _, _, _, _, bit, column, ratio in parts:
                if mask & bit:
                    phi[column] += ratio * table[mask ^ bit]
                else:
                    phi[column] -= off_path
        fields = [0.0] * len(self.names)
        for position, share in zip(self.columns, phi, strict=True):
            fields[position] += share
        return dict(zip(self.names, fields, strict=True))

    def _explained_leaves(self) -> tuple[list[float], list[Leaf]]:
        # A path's columns, not its splits, make the integrand's degree: a deep tree on a few columns needs few.
        longest = min(max(max(_depths(tree)) for tree in self.trees), len(self.columns))
        points, weights = quadrature(max(1, (longest + 1) // 2))
        beside = [w / (1 - t) for t, w in zip(points, weights, strict=True)]
        leaves: list[Leaf] = []
        for tree in self.trees:
            for value, splits in tree.paths(self.categories):
                zeros = [split[4] for split in splits]
                tabled = len(splits) <= TABLE_COLUMNS and min(zeros, default=1.0) >= SMALLEST_SHARE
                parts: list[Part] = [
                    (at, low, high, allowed, 1 << j, column, (1 - zero) / zero if tabled else 1 - zero)
                    for j, (at, low, high, allowed, zero, column) in enumerate(splits)
                ]
                if tabled:
                    leaves.append((value, _integrals(value, zeros, points, beside), parts, []))
                    continue
                factors: list[tuple[Points, Points, Points]] = []
                for zero in zeros:
                    off, on = zip(*(_factors(zero, t) for t in points), strict=True)
                    factors.append((off, on, tuple((1 - t) / o for t, o in zip(points, on, strict=True))))
                leaves.append((value, None, parts, factors))
        return beside, leaves

    def describe(self) -> dict[str, Any]:
        return {"kind": "tree_ensemble", "link": self.link, "trees": len(self.trees), "source": self.source}


def _integrals(value: float, zeros: list[float], points: list[float], beside: list[float]) -> array[float]:
    """I(U) for every U, indexed by U's bits: at each point t, the integrand for every U so far, one column at a
    time (U without it, then U with it); then the points' weighted sum."""
    at_points = []
    for t, weight in zip(points, beside, strict=True):
        integrand = [value * weight]
        for zero in zeros:
            off, on = _factors(zero, t)
            integrand = [p * off for p in integrand] + [p * on for p in integrand]
        at_points.append(integrand)
    return array("d", functools.reduce(lambda a, b: list(map(operator.add, a, b)), at_points))


def _factors(zero: float, t: float) -> tuple[float, float]:
    """A column's factor of the integrand at t: off the path z(1 - t), on it z(1 - t) + t."""
    off = zero * (1 - t)
    return off, off + t
