"""A tree ensemble read from the pickle-free artifact and scored in pure Python: trees as flat arrays, and exact
TreeSHAP explanations.

Each node's test is stored in one form whatever library trained it: a number goes left when it is below the
node's threshold (the importer has already turned the library's own rule, such as XGBoost's float32 comparison,
into that threshold); a category goes left when it is one of the node's left categories.

A node may also name its column: the input the library's tree split on, when a pipeline made several from one
field (a one-hot encoder's indicators). Explanations share the margin among columns, as the library's own inputs,
and then sum each field's columns.

The model section (turbine-status-trees/2; a /1 file holds none of the parts marked /2, and keeps loading):

    kind        "tree_ensemble"
    link        how margins become scores (app.models.embedded): "logistic" (with several outputs, each class's
                against the rest) or "identity", and /2 "softmax" or "exp"
    outputs     /2: how many margins a reading gets, one per class of a multi-class model; 1 when absent
    base_score  the margin before any tree, in the margin's own scale: a number, or /2 a list of one per output
    trees       each of NODE_ARRAYS, one entry a node, node 0 the root, children after their parent; and
                left_categories {node: [categories that go left]}, column [per node] (above), and /2:
                output        the output its leaves add to; 0 when absent
                missing_left  [0 or 1 per node]: where a gap (a missing value) goes at each split, 1 left; a tree
                              without it never meets a gap, so no field it splits on may be nullable
    zero_as_missing  /2: positions of numeric fields in which a number within +-ZERO_BAND is scored as a gap, as
                LightGBM's zero_as_missing does (every split on such a field treats it so)
    columns, source

A reading's gap (None, only in a field its schema marks nullable) goes at each split where missing_left sends it;
explanations treat it as a value of its own that takes that way, as XGBoost's and LightGBM's TreeSHAP do."""

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
LINKS = ("logistic", "identity", "softmax", "exp")
# LightGBM's kZeroThreshold, a float32 constant: with zero_as_missing, numbers within it of zero are missing.
ZERO_BAND = 1.0000000180025095e-35
# What a turbine-status-trees/1 file's model cannot hold: it predates several outputs and gaps.
NEW_IN_2 = ("outputs", "zero_as_missing")
NEW_IN_2_TREE = ("output", "missing_left")
# Caps on a model's size: checking, walking and explaining it take time and memory in proportion to its nodes.
MAX_DEPTH = 5_000  # onnxruntime (TREES_NATIVE) builds a tree recursively, and crashed past 11,000 levels deep
MAX_TREE_NODES = 2**21 - 1  # more than a scikit-learn tree grown to one row a leaf on a million rows
MAX_NODES = 4_000_000  # in all trees: about 1 GB loaded and 4 GB explained (some 220 and 900 bytes a node)
MAX_OUTPUTS = 10_000  # a margin per class: more classes than any tabular model has


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

    __slots__ = (
        "category_tests",
        "column",
        "cover",
        "feature",
        "left",
        "left_categories",
        "missing_left",
        "output",
        "right",
        "threshold",
        "value",
    )

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
        categorical = {position for position, field in enumerate(schema.fields) if field.categories}
        self.category_tests: list[tuple[int, frozenset[str]]] = []  # each category test's node and left ones
        for node in [node for node in splits if self.feature[node] in categorical]:
            field = schema.fields[self.feature[node]]
            chosen = sets.get(str(node))
            if not isinstance(chosen, list) or not set(chosen) <= set(field.categories):
                raise TreeFileError(f"{where}.left_categories.{node} must list categories of {field.name}")
            self.category_tests.append((node, frozenset(chosen)))
            self.left_categories[node] = self.category_tests[-1][1]
        self.column: list[int] = spec.get("column", self.feature)
        if not isinstance(self.column, list) or len(self.column) != nodes or not _whole_numbers(self.column):
            raise TreeFileError(f"{where}.column must hold a column number per node")
        if self.column is self.feature:  # each split's column is its field's position: checked field by field
            wrong = {f for f in set(self.feature) - {LEAF} if not (f < len(columns) and columns[f] == f)}
            misplaced = (node for node in splits if self.feature[node] in wrong) if wrong else iter(())
        else:
            misplaced = (
                node
                for node in splits
                if not 0 <= self.column[node] < len(columns) or columns[self.column[node]] != self.feature[node]
            )
        for node in misplaced:
            raise TreeFileError(f"{where}.column: node {node}'s column must be one of its field's columns")
        self.missing_left: list[int] | None = spec.get("missing_left")
        missing = self.missing_left
        if missing is not None and (
            not isinstance(missing, list)
            or len(missing) != nodes
            or not _whole_numbers(missing)
            or set(missing) - {0, 1}
        ):
            raise TreeFileError(f"{where}.missing_left must hold 0 or 1 per node")
        self.output: int = spec.get("output", 0)

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
        interval, or a set of categories, and whether a gap does) and the share z of training weight that took
        it."""
        found: list[tuple[float, list[Split]]] = []
        pending: list[tuple[int, dict[int, Split]]] = [(0, {})]
        missing = self.missing_left
        while pending:
            node, path = pending.pop()
            position = self.feature[node]
            if position == LEAF:
                found.append((self.value[node], list(path.values())))
                continue
            column, chosen, threshold = self.column[node], self.left_categories[node], self.threshold[node]
            unsplit: Split = (position, -math.inf, math.inf, None, 1.0, column, True)
            for child, left in ((self.left[node], True), (self.right[node], False)):
                _, low, high, allowed, zero, _, gap = path.get(column, unsplit)
                if chosen is not None:
                    taken = chosen if left else frozenset(categories[position]) - chosen
                    allowed = taken if allowed is None else allowed & taken
                elif left:
                    high = min(high, threshold)
                else:
                    low = max(low, threshold)
                gap = gap and missing is not None and missing[node] == left
                share = zero * (self.cover[child] / self.cover[node])
                pending.append((child, {**path, column: (position, low, high, allowed, share, column, gap)}))
        return found


# A column's splits on a path: its field, the interval [low, high) or the categories that take the path, the
# share z of training weight that took it, the column, and whether a gap takes the path.
Split = tuple[int, float, float, "frozenset[str] | None", float, int, bool]
# The same at a leaf, as explanations read it: field, interval, categories, whether a gap takes the path, the
# column's bit in the leaf's mask, the column, and the factor of its integral when the row takes the path there:
# (1 - z) / z with a table, 1 - z without.
Part = tuple[int, float, float, "frozenset[str] | None", bool, int, int, float]
# A leaf: its tree's output, its value v, its table of I or None, its parts, and, without a table, for each part
# z(1 - t), z(1 - t) + t and (1 - t) / (z(1 - t) + t) at each quadrature point t.
Points = tuple[float, ...]
Leaf = tuple[int, float, "array[float] | None", list[Part], list[tuple[Points, Points, Points]]]
# A tree as the walk reads it (TreeEnsemble._walked): per node its input (LEAF at a leaf; a number's position in
# the prepared reading, or for a category its field's position plus the prepared reading's width), threshold, two
# ways and value; the categories of each category test.
Walked = tuple[
    tuple[int, ...], tuple[float, ...], tuple[int, ...], tuple[int, ...], dict[int, "frozenset[str]"], list[float]
]
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


def _check_first_format(model: dict[str, Any], trees: list[Any]) -> None:
    """Raises TreeFileError naming the first part a turbine-status-trees/1 file's model cannot hold."""
    found = [f"model.{key}" for key in NEW_IN_2 if key in model]
    found += [
        f"model.trees[{i}].{key}"
        for i, tree in enumerate(trees)
        for key in NEW_IN_2_TREE
        if isinstance(tree, dict) and key in tree
    ]
    if model.get("link") not in LINKS[:2] or isinstance(model.get("base_score"), list):
        found.append("model.link" if model.get("link") not in LINKS[:2] else "model.base_score")
    if found:
        raise TreeFileError(f"{found[0]}: a turbine-status-trees/1 model has one output and no gaps; this is /2's")


def _gap_left_numbers(tree: Tree, schema: Schema) -> set[int]:
    """The numeric fields the tree splits on somewhere sending a gap left."""
    if tree.missing_left is None:
        return set()
    return {
        position
        for position, gap_left in zip(tree.feature, tree.missing_left, strict=True)
        if gap_left and position != LEAF and not schema.fields[position].categories
    }


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
    """A sum of trees per output, base score plus each of its trees' leaf: the log-odds under the logistic link
    (boosting), a class's margin under softmax, the log of the value under exp, or the score itself under the
    identity link (a forest, whose leaves hold their share of the mean, or a regression)."""

    def __init__(self, model: Any, schema: Schema, version: int = 2) -> None:
        """`version`: the trees format's, 1 or 2 (the module's docstring); raises TreeFileError."""
        if not isinstance(model, dict) or model.get("kind") != "tree_ensemble":
            raise TreeFileError('model.kind must be "tree_ensemble"')
        trees = model.get("trees")
        if not isinstance(trees, list) or not trees:
            raise TreeFileError("model.trees must be a list of trees")
        if version == 1:
            _check_first_format(model, trees)
        if model.get("link") not in LINKS:
            raise TreeFileError(f"model.link must be one of {', '.join(LINKS)}")
        self.link: str = model["link"]
        self.outputs: int = model.get("outputs", 1)
        if not _whole_numbers([self.outputs]) or not 1 <= self.outputs <= MAX_OUTPUTS:
            raise TreeFileError(f"model.outputs must be a whole number from 1 to {MAX_OUTPUTS:,}")
        base = model.get("base_score")
        if isinstance(base, list):
            if len(base) != self.outputs:
                raise TreeFileError(f"model.base_score must hold one number per output, {self.outputs}")
            self.base_scores = [_number(b, f"model.base_score[{j}]") for j, b in enumerate(base)]
        else:
            self.base_scores = [_number(base, "model.base_score")] * self.outputs
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
        for i, tree in enumerate(self.trees):
            if not _whole_numbers([tree.output]) or not 0 <= tree.output < self.outputs:
                raise TreeFileError(f"model.trees[{i}].output must be an output's number, 0 to {self.outputs - 1}")
        self._check_sums()
        self.zero_as_missing: list[int] = model.get("zero_as_missing", [])
        numeric = [position for position, field in enumerate(schema.fields) if not field.categories]
        if (
            not isinstance(self.zero_as_missing, list)
            or not set(map(type, self.zero_as_missing)) <= {int}
            or not set(self.zero_as_missing) <= set(numeric)
            or len(set(self.zero_as_missing)) != len(self.zero_as_missing)
        ):
            raise TreeFileError("model.zero_as_missing must list numeric fields' positions, each once")
        self._check_gaps(schema)
        self.names = schema.names
        self.categories = [field.categories for field in schema.fields]
        self.source = model.get("source")
        expected = [base for base in self.base_scores]
        for tree in self.trees:
            expected[tree.output] += tree.expected_value()
        self.baseline: Any = expected[0] if self.outputs == 1 else expected
        # What the walk reads: the trees of each output, gathered once rather than per request. A gap is NaN in
        # the walk, which every comparison sends its second way; where a gap goes left, a number's test becomes
        # -x < t' on its negation (x >= t exactly) with the ways swapped, and a category's a test of the right ones.
        self._negated = {
            position: schema.width + j
            for j, position in enumerate(sorted({p for tree in self.trees for p in _gap_left_numbers(tree, schema)}))
        }
        self._cut = schema.width + len(self._negated)  # a prepared reading's width
        self._walk: list[tuple[float, list[Walked]]] = [(base, []) for base in self.base_scores]
        for tree in self.trees:
            self._walk[tree.output][1].append(self._walked(tree))
        self._gaps = any(field.nullable for field in schema.fields) or bool(self.zero_as_missing)
        self._leaves: tuple[list[float], list[Leaf]] | None = None

    def _check_sums(self) -> None:
        """Raises TreeFileError unless the sums that make a margin and a tree's expected value stay finite."""
        # A margin adds its output's base score and a leaf of each of its trees; a tree's expected value, its
        # leaves' values times their covers.
        largest = [max(max(tree.value), -min(tree.value)) for tree in self.trees]
        for output, base in enumerate(self.base_scores):
            where = "model.base_score" + (f"[{output}]" if self.outputs > 1 else "")
            reach = [(where, abs(base))]
            mine = [(f"model.trees[{i}]", v) for i, v in enumerate(largest) if self.trees[i].output == output]
            past = past_largest_sum(reach + mine)
            if past is not None:
                raise TreeFileError(
                    f"{past}: the base score and each tree's largest value add up past {LARGEST_SUM:g} here, too "
                    "near the largest float for the sums made scoring and explaining"
                )
        for i, (tree, value) in enumerate(zip(self.trees, largest, strict=True)):
            if not value * sum(tree.cover) <= sys.float_info.max / 2:  # half: room for fsum's partial sums
                raise TreeFileError(
                    f"model.trees[{i}].cover: the covers times the tree's largest value add up past half the "
                    "largest float, too near it for the tree's expected value"
                )

    def _check_gaps(self, schema: Schema) -> None:
        """Raises TreeFileError unless every tree that splits on a field that may hold a gap says where gaps go."""
        gapped = {p for p, field in enumerate(schema.fields) if field.nullable} | set(self.zero_as_missing)
        for i, tree in enumerate(self.trees):
            if tree.missing_left is None and gapped & set(tree.feature):
                position = min(gapped & set(tree.feature))
                why = "is nullable" if schema.fields[position].nullable else "takes numbers near zero as missing"
                raise TreeFileError(
                    f"model.trees[{i}] splits on {schema.names[position]}, which {why}, without saying where a gap "
                    "goes (missing_left)"
                )

    def _walked(self, tree: Tree) -> Walked:
        """The tree as the walk reads it (Walked). Changed only where a test is a category's or turned around: a
        model has as many as millions of nodes, and start-up pays for each one it touches."""
        feature, threshold, left, right = tree.feature, tree.threshold, tree.left, tree.right
        sets = dict(tree.category_tests)
        turned = [node for node, gap_left in enumerate(tree.missing_left or ()) if gap_left and feature[node] != LEAF]
        if sets or turned:
            feature = list(feature)
        for node in sets:
            feature[node] += self._cut
        if turned:
            threshold, left, right = list(threshold), list(left), list(right)
        negated, nextafter, inf = self._negated, math.nextafter, math.inf
        for node in turned:
            left[node], right[node] = right[node], left[node]
            if node in sets:
                sets[node] = frozenset(self.categories[tree.feature[node]]) - sets[node]
            else:
                feature[node] = negated[feature[node]]
                threshold[node] = nextafter(-threshold[node], inf)
        # Tuples: Python indexes them fastest, and they hold their items without a list's second allocation.
        return tuple(feature), tuple(threshold), tuple(left), tuple(right), sets, tree.value

    def _ready(self, row: Reading) -> Reading:
        """The reading as the walk reads it: a gap (and a number near zero in a zero_as_missing field) made NaN,
        and the negations of the numbers whose tests were turned around."""
        if self._gaps:
            if None in row:
                row = tuple(math.nan if x is None else x for x in row)
            for position in self.zero_as_missing:
                if -ZERO_BAND <= row[position] <= ZERO_BAND:
                    row = (*row[:position], math.nan, *row[position + 1 :])
        if self._negated:
            row = (*row, *[-row[position] for position in self._negated])
        return row

    def margins(self, rows: Sequence[Reading]) -> list[Any]:
        """Each row's margin per output, its base score plus the leaf it reaches in each of its trees, walked in
        one loop: per tree-row this costs a few comparisons, no call. One output gives a number per row."""
        walk, single, ready, cut = self._walk, self.outputs == 1, self._gaps or bool(self._negated), self._cut
        totals: list[Any] = []
        for row in rows:
            if ready:
                row = self._ready(row)
            margins = []
            for base, trees in walk:
                total = base
                for feature, threshold, left, right, sets, value in trees:
                    node = 0
                    while (position := feature[node]) != LEAF:
                        if position < cut:
                            node = left[node] if row[position] < threshold[node] else right[node]
                        else:  # a category's field, past the prepared reading's end by `cut`
                            node = left[node] if row[position - cut] in sets[node] else right[node]
                    total += value[node]
                margins.append(total)
            totals.append(margins[0] if single else margins)
        return totals

    def contributions(self, row: Reading) -> dict[str, Any]:
        """Each field's exact SHAP value, or with several outputs a list of one per output: path-dependent
        TreeSHAP (Lundberg, Erion and Lee, "Consistent individualized feature attribution for tree ensembles",
        2018), its permutation weights written as an integral. A leaf of value v whose path splits on the columns
        F gives column i

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
        row = self._ready(row)  # a gap is NaN, the one value that is not itself
        shares = [[0.0] * len(self.columns) for _ in range(self.outputs)]
        for output, value, table, parts, factors in leaves:
            phi, mask = shares[output], 0
            for at, low, high, allowed, gap, bit, _, _ in parts:
                x = row[at]
                if gap if x != x else x in allowed if allowed is not None else low <= x < high:
                    mask |= bit
            if table is None:
                taken = [on if mask & part[5] else off for part, (off, on, _) in zip(parts, factors, strict=True)]
                products = map(math.prod, zip(*taken, strict=True))
                integrand = [value * w * p for w, p in zip(beside, products, strict=True)]
                off_path = sum(integrand)
                for (_, _, _, _, _, bit, column, gain), (_, _, apart) in zip(parts, factors, strict=True):
                    if mask & bit:  # apart: (1 - t) / (z(1 - t) + t) takes i's factor and the division out
                        phi[column] += gain * sum(map(operator.mul, integrand, apart))
                    else:
                        phi[column] -= off_path
                continue
            off_path = table[mask]
            for _, _, _, _, _, bit, column, ratio in parts:
                if mask & bit:
                    phi[column] += ratio * table[mask ^ bit]
                else:
                    phi[column] -= off_path
        fields = [[0.0] * self.outputs for _ in self.names]
        for output, phi in enumerate(shares):
            for position, share in zip(self.columns, phi, strict=True):
                fields[position][output] += share
        if self.outputs == 1:
            return {name: share for name, (share,) in zip(self.names, fields, strict=True)}
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
                    (at, low, high, allowed, gap, 1 << j, column, (1 - zero) / zero if tabled else 1 - zero)
                    for j, (at, low, high, allowed, zero, column, gap) in enumerate(splits)
                ]
                if tabled:
                    leaves.append((tree.output, value, _integrals(value, zeros, points, beside), parts, []))
                    continue
                factors: list[tuple[Points, Points, Points]] = []
                for zero in zeros:
                    off, on = zip(*(_factors(zero, t) for t in points), strict=True)
                    factors.append((off, on, tuple((1 - t) / o for t, o in zip(points, on, strict=True))))
                leaves.append((tree.output, value, None, parts, factors))
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
