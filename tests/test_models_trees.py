"""The tree scorer's own parts: what it accepts of an ensemble, its walk, and the quadrature its explanations
integrate with."""

from __future__ import annotations

import math
import random
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from app.core.schemas import turbine_schema
from app.core.validation import validate_rows
from app.models.artifact import LARGEST_SUM
from app.models.runtimes.trees import (
    LEAF,
    MAX_DEPTH,
    MAX_NODES,
    MAX_TREE_NODES,
    NODE_ARRAYS,
    TABLE_COLUMNS,
    TreeEnsemble,
    TreeFileError,
    quadrature,
)
from app.training import DEFAULT_SEED
from app.training.data import turbine_dataset


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_quadrature_integrates_polynomials_below_twice_its_points_exactly(count: int) -> None:
    points, weights = quadrature(count)
    assert all(0 < t < 1 for t in points) and math.fsum(weights) == pytest.approx(1, abs=1e-14)
    for degree in range(2 * count):
        # The permutation weights it stands for: the Beta integral of t^k (1 - t)^(n - k), k! (n - k)! / (n + 1)!
        for k in range(degree + 1):
            exact = math.factorial(k) * math.factorial(degree - k) / math.factorial(degree + 1)
            total = math.fsum(w * t**k * (1 - t) ** (degree - k) for t, w in zip(points, weights, strict=True))
            assert total == pytest.approx(exact, rel=1e-12)
    beyond = math.fsum(w * t ** (2 * count) for t, w in zip(points, weights, strict=True))
    assert beyond != pytest.approx(1 / (2 * count + 1), rel=1e-12)  # one degree more is no longer exact


def _ensemble() -> dict[str, Any]:
    """Two small trees on the turbine fields: one splits on a number then a category, the other is a leaf."""
    return {
        "kind": "tree_ensemble",
        "link": "logistic",
        "base_score": -0.5,
        "trees": [
            {
                "feature": [4, LEAF, 1, LEAF, LEAF],  # oil_temperature, then turbine_type
                "threshold": [60.0, 0.0, 0.0, 0.0, 0.0],
                "left": [1, -1, 3, -1, -1],
                "right": [2, -1, 4, -1, -1],
                "value": [0.0, -1.0, 0.0, 0.5, 2.0],
                "cover": [10.0, 6.0, 4.0, 1.0, 3.0],
                "left_categories": {"2": ["HAWT"]},
            },
            {
                "feature": [LEAF],
                "threshold": [0.0],
                "left": [-1],
                "right": [-1],
                "value": [0.25],
                "cover": [10],
            },
        ],
    }


def test_a_small_ensemble_scores_and_averages_its_leaves_by_cover() -> None:
    ensemble = TreeEnsemble(_ensemble(), turbine_schema())
    # The leaves' mean weighted by cover: (-1 * 6 + 0.5 * 1 + 2 * 3) / 10 in the first tree, 0.25 in the second.
    assert ensemble.baseline == pytest.approx(-0.5 + 0.05 + 0.25, abs=1e-15)
    hot_vawt = ("TID001", "VAWT", 5, 50, 70.0, 20, 30, 50, 5, 30, "N")
    cool = ("TID001", "HAWT", 5, 50, 40.0, 20, 30, 50, 5, 30, "N")
    assert ensemble.margins([hot_vawt, cool]) == [-0.5 + 2.0 + 0.25, -0.5 - 1.0 + 0.25]


def _broken(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    model = _ensemble()
    change(model)
    return model


def _set(tree: int, key: str, value: Any) -> Callable[[dict[str, Any]], object]:
    return lambda model: model["trees"][tree].__setitem__(key, value)


def _shared_child(model: dict[str, Any]) -> None:
    """Node 1 becomes a split whose children, 3 and 4, are node 2's too."""
    model["trees"][0].update(feature=[4, 4, 1, LEAF, LEAF], left=[1, 3, 3, -1, -1], right=[2, 4, 4, -1, -1])


def _one_split(model: dict[str, Any]) -> None:
    """Node 2 becomes a leaf, and the root's children 2 and 4: nodes 1 and 3 are not reached."""
    model["trees"][0].update(feature=[4, LEAF, LEAF, LEAF, LEAF], left=[2, -1, -1, -1, -1], right=[4, -1, -1, -1, -1])


def _unreached_leaf(model: dict[str, Any]) -> None:
    """The one-leaf tree gets a second leaf, which no split reaches."""
    for name, value in zip(NODE_ARRAYS, (LEAF, 0.0, -1, -1, 1.0, 1.0), strict=True):
        model["trees"][1][name].append(value)


PAST = f"the base score and each tree's largest value add up past {LARGEST_SUM:g} here, too near the largest float"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.__setitem__("kind", "forest"), 'model.kind must be "tree_ensemble"'),
        (lambda m: m.__setitem__("link", "probit"), "model.link must be one of logistic, identity"),
        (lambda m: m.__setitem__("base_score", float("nan")), "model.base_score must be a finite number"),
        (lambda m: m.__setitem__("trees", []), "model.trees must be a list of trees"),
        (lambda m: m.__setitem__("trees", {"0": m["trees"][0]}), "model.trees must be a list of trees"),
        (lambda m: m.__setitem__("columns", []), "model.columns must hold a field position per column"),
        (lambda m: m.__setitem__("columns", [-1, *range(1, 11)]), "model.columns must hold fields' positions"),
        (lambda m: m.__setitem__("columns", [0, 1.5]), "model.columns must hold a field position per column"),
        (lambda m: m.__setitem__("columns", list(range(12))), "model.columns must hold fields' positions"),
        (lambda m: m["trees"].__setitem__(1, [0.25]), "model.trees[1] must be an object"),
        (lambda m: m["trees"][1].pop("cover"), "model.trees[1] must hold the arrays"),
        (_set(1, "value", [0.25, 0.5]), "model.trees[1] must hold the arrays"),
        (lambda m: m["trees"][1].update((key, []) for key in NODE_ARRAYS), "model.trees[1] must hold the arrays"),
        (_set(0, "threshold", [60.0, 0.0, float("inf"), 0.0, 0.0]), "model.trees[0].threshold must hold finite"),
        (_set(0, "value", [0.0, "-1", 0.0, 0.5, 2.0]), "model.trees[0].value must hold finite numbers"),
        (_set(0, "cover", [10.0, 6.0, 4.0, 0.0, 3.0]), "model.trees[0].cover: every node must cover some"),
        (_set(0, "feature", [4, LEAF, 11, LEAF, LEAF]), "model.trees[0].feature must hold fields' positions"),
        (_set(0, "feature", [4, -2, 1, LEAF, LEAF]), "model.trees[0].feature must hold fields' positions"),
        (_set(0, "feature", [4.0, LEAF, 1, LEAF, LEAF]), "model.trees[0].feature must hold fields' positions"),
        (_set(0, "left", [1, -1, 3.0, -1, -1]), "model.trees[0].left and .right must hold node numbers"),
        (_set(0, "right", [2, -1, 2, -1, -1]), "model.trees[0]: node 2's children must be later nodes"),
        (_set(0, "left", [0, -1, 3, -1, -1]), "model.trees[0]: node 0's children must be later nodes"),
        (_set(0, "right", [2, -1, 5, -1, -1]), "model.trees[0]: node 2's children must be later nodes"),
        (_set(0, "left", [1, -1, 5, -1, -1]), "model.trees[0]: node 2's children must be later nodes"),
        # Node 2 sends both ways to node 3; node 4 is left unreached, so the count is a binary tree's.
        (_set(0, "right", [2, -1, 3, -1, -1]), "model.trees[0]: node 3 is a child of node 2 and again of node 2"),
        (_shared_child, "model.trees[0]: node 3 is a child of node 1 and again of node 2: a tree's node has one"),
        (_unreached_leaf, "where a binary tree has 2 * leaves - 1: node 1 is not reached from the root"),
        (_one_split, "model.trees[0] has 5 nodes, 4 of them leaves, where a binary tree has 2 * leaves - 1: node 1"),
        (_set(0, "value", [0.0, -1e308, 0.0, 0.5, 2.0]), f"model.trees[0]: {PAST}"),
        (lambda m: m.__setitem__("base_score", 2e300), f"model.base_score: {PAST}"),
        # The expected value adds the leaves' covers, 3e308, and their values times them.
        (_set(0, "cover", [1.0, 1e308, 1.0, 1e308, 1e308]), "model.trees[0].cover: the covers times the tree's"),
        # Each tree's largest value is within the limit; their sum, tree by tree, is not.
        (
            lambda m: [tree.__setitem__("value", [6e299] * len(tree["value"])) for tree in m["trees"]],
            "model.trees[1]: ",
        ),
        (_set(0, "left_categories", []), "model.trees[0].left_categories must be an object"),
        (_set(0, "left_categories", {}), "model.trees[0].left_categories.2 must list categories of turbine_type"),
        (_set(0, "left_categories", {"2": ["HAWT", "X"]}), "left_categories.2 must list categories of turbine_type"),
        (_set(0, "left_categories", {"2": "HAWT"}), "model.trees[0].left_categories.2 must list categories"),
        (_set(0, "column", [4, -1, 1]), "model.trees[0].column must hold a column number per node"),
        (_set(0, "column", [4, -1, 1.0, -1, -1]), "model.trees[0].column must hold a column number per node"),
        (_set(0, "column", [4, -1, 2, -1, -1]), "model.trees[0].column: node 2's column must be one of its field's"),
        (_set(0, "column", [11, -1, 1, -1, -1]), "model.trees[0].column: node 0's column must be one of its field's"),
        (_set(0, "column", [-1, -1, 1, -1, -1]), "model.trees[0].column: node 0's column must be one of its field's"),
        # columns[-7] is field 4, the node's own: only the lower bound refuses it
        (_set(0, "column", [-7, -1, 1, -1, -1]), "model.trees[0].column: node 0's column must be one of its field's"),
    ],
)
def test_a_broken_ensemble_is_refused_naming_the_part(change: Callable[[dict[str, Any]], object], message: str) -> None:
    with pytest.raises(TreeFileError) as refused:
        TreeEnsemble(_broken(change), turbine_schema())
    assert message in str(refused.value)


def test_a_tree_without_columns_must_split_where_the_ensembles_columns_say() -> None:
    """With model.columns naming other inputs than the fields, a tree must say which column each node splits."""
    model = _ensemble()
    model["columns"] = [0, 1, 1, *range(2, 11)]  # turbine_type one-hot into two columns
    with pytest.raises(TreeFileError, match=r"model.trees\[0\].column: node 0's column"):
        TreeEnsemble(model, turbine_schema())
    model["trees"][0]["column"] = [5, -1, 2, -1, -1]
    assert TreeEnsemble(model, turbine_schema()).trees[0].column == [5, -1, 2, -1, -1]


def test_a_model_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(TreeFileError, match=r'model\.kind must be "tree_ensemble"'):
        TreeEnsemble([_ensemble()], turbine_schema())


def _random_ensemble(rows: list[Any], seed: int, depth: int) -> dict[str, Any]:
    """Three random trees up to `depth` deep on the turbine fields, splitting at values the rows hold (so some rows
    sit exactly on a threshold): some paths split on more fields than TABLE_COLUMNS, some on fewer. A fourth tree
    is a chain `depth` deep on as many fields, the longest path the quadrature must integrate exactly."""
    rng = random.Random(seed)
    fields = turbine_schema().fields
    trees = []
    for number in range(4):
        tree: dict[str, Any] = {name: [] for name in NODE_ARRAYS} | {"left_categories": {}}

        def grow(level: int, cover: float, tree: dict[str, Any] = tree, chain: bool = number == 3) -> int:
            node = len(tree["feature"])
            for name, start in zip(NODE_ARRAYS, (LEAF, 0.0, -1, -1, rng.uniform(-1, 1), cover), strict=True):
                tree[name].append(start)
            if level == depth or (chain and node % 2) or (not chain and rng.random() < 0.2):
                return node
            position = level if chain else rng.randrange(len(fields))
            tree["feature"][node] = position
            if fields[position].categories:
                chosen = rng.sample(fields[position].categories, rng.randrange(1, len(fields[position].categories)))
                tree["left_categories"][str(node)] = chosen
            else:
                tree["threshold"][node] = rng.choice(rows)[position]
            share = rng.uniform(0.1, 0.9)
            tree["left"][node] = grow(level + 1, cover * share)
            tree["right"][node] = grow(level + 1, cover * (1 - share))
            return node

        grow(0, 1000.0)
        trees.append(tree)
    return {"kind": "tree_ensemble", "link": "logistic", "base_score": 0.1, "trees": trees}


def _shapley_by_enumeration(model: dict[str, Any], row: Any, width: int) -> list[float]:
    """Each field's Shapley value by its definition over every coalition of the fields: a known field follows
    the row, an unknown one averages its children by cover (TreeSHAP's value function)."""

    def expected(tree: dict[str, Any], known: int, node: int = 0) -> float:
        position = tree["feature"][node]
        if position == LEAF:
            return float(tree["value"][node])
        left, right = tree["left"][node], tree["right"][node]
        if known >> position & 1:
            chosen = tree["left_categories"].get(str(node))
            goes_left = row[position] in chosen if chosen is not None else row[position] < tree["threshold"][node]
            return expected(tree, known, left if goes_left else right)
        cover = tree["cover"]
        return (cover[left] * expected(tree, known, left) + cover[right] * expected(tree, known, right)) / cover[node]

    value = [math.fsum(expected(tree, known) for tree in model["trees"]) for known in range(1 << width)]
    phi = [0.0] * width
    for known in range((1 << width) - 1):  # every coalition that leaves a field out
        size = known.bit_count()
        weight = math.factorial(size) * math.factorial(width - size - 1) / math.factorial(width)
        for position in range(width):
            if not known >> position & 1:
                phi[position] += weight * (value[known | 1 << position] - value[known])
    return phi


def _fields_on_paths(tree: dict[str, Any], node: int = 0, above: frozenset[int] = frozenset()) -> set[int]:
    if tree["feature"][node] == LEAF:
        return {len(above)}
    below = above | {tree["feature"][node]}
    return _fields_on_paths(tree, tree["left"][node], below) | _fields_on_paths(tree, tree["right"][node], below)


@pytest.mark.parametrize("depth", [8, 9])
def test_explanations_equal_shapley_values_by_enumeration_on_short_and_long_paths(depth: int) -> None:
    schema = turbine_schema()
    rows = list(validate_rows(schema, turbine_dataset(40, DEFAULT_SEED).rows, range(40)))
    model = _random_ensemble(rows, 3, depth)
    lengths = set().union(*map(_fields_on_paths, model["trees"]))
    assert min(lengths) <= TABLE_COLUMNS < max(lengths) == depth
    ensemble = TreeEnsemble(model, schema)
    for row in rows[:3]:
        explained = ensemble.contributions(row)
        assert [explained[name] for name in schema.names] == pytest.approx(
            _shapley_by_enumeration(model, row, schema.width), abs=1e-12
        )
        assert ensemble.baseline + math.fsum(explained.values()) == pytest.approx(ensemble.margins([row])[0], abs=1e-12)


def test_a_path_almost_no_training_weight_took_is_explained_exactly() -> None:
    """The cool leaf's share of training weight is 1e-310, below the smallest normal float: its (1 - z) / z would
    pass the largest one."""
    model = _ensemble()
    model["trees"] = [
        {
            "feature": [4, LEAF, LEAF],  # oil_temperature
            "threshold": [60.0, 0.0, 0.0],
            "left": [1, -1, -1],
            "right": [2, -1, -1],
            "value": [0.0, -2.0, 1.0],
            "cover": [1e300, 1e-10, 1e300],
        }
    ]
    ensemble = TreeEnsemble(model, turbine_schema())
    cool = ("TID001", "HAWT", 5, 50, 40.0, 20, 30, 50, 5, 30, "N")
    explained = ensemble.contributions(cool)
    assert explained["oil_temperature"] == pytest.approx(-3.0, abs=1e-12)  # -2 against the baseline's 1
    assert sum(explained.values()) == explained["oil_temperature"]


def _chain(levels: int, positions: list[int]) -> dict[str, Any]:
    """A chain of `levels` splits on these numeric fields in turn, each sending values below 1e9 on down the chain
    and the rest to a leaf; the last split's left child is the chain's last leaf. Covers count the leaves below."""
    tree: dict[str, Any] = {name: [] for name in NODE_ARRAYS}
    for level in range(levels):
        node = len(tree["feature"])
        for name, split, leaf in zip(
            NODE_ARRAYS,
            (positions[level % len(positions)], 1e9, node + 2, node + 1, 0.0, float(levels - level + 1)),
            (LEAF, 0.0, -1, -1, level / levels, 1.0),
            strict=True,
        ):
            tree[name] += [split, leaf]
    for name, last in zip(NODE_ARRAYS, (LEAF, 0.0, -1, -1, 2.0, 1.0), strict=True):
        tree[name].append(last)
    return tree


def test_a_deep_tree_on_few_columns_is_explained_exactly_in_memory_its_columns_bound() -> None:
    """600 splits deep on the eight numeric fields: the integrand's degree is the path's eight columns, not its 600
    splits, so the quadrature needs four points."""
    schema = turbine_schema()
    numeric = [position for position, field in enumerate(schema.fields) if not field.categories]
    model = {**_ensemble(), "trees": [_chain(600, numeric)]}
    ensemble = TreeEnsemble(model, schema)
    row = ("TID001", "HAWT", 5, 50, 40.0, 20, 30, 50, 5, 30, "N")
    tracemalloc.start()
    try:
        explained = ensemble.contributions(row)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ensemble.baseline + math.fsum(explained.values()) == pytest.approx(ensemble.margins([row])[0], abs=1e-12)
    assert peak < 20e6


def test_a_tree_deeper_than_the_cap_is_refused_naming_the_node() -> None:
    model = {**_ensemble(), "trees": [_chain(MAX_DEPTH, [4])]}
    assert len(TreeEnsemble(model, turbine_schema()).trees[0].feature) == 2 * MAX_DEPTH + 1
    model["trees"] = [_chain(MAX_DEPTH + 1, [4])]
    with pytest.raises(TreeFileError) as refused:
        TreeEnsemble(model, turbine_schema())
    # The chain's split k is node 2k, its leaf 2k + 1: the leaf of split MAX_DEPTH is the first past the cap.
    assert str(refused.value) == (
        f"model.trees[0]: node {2 * MAX_DEPTH + 1} is {MAX_DEPTH + 1:,} splits below the root: a tree may be at "
        f"most {MAX_DEPTH:,} deep"
    )


def _unchecked(nodes: int) -> dict[str, Any]:
    """A tree whose arrays are one list of zeros: no memory for each, and refused as soon as its nodes are checked."""
    return dict.fromkeys(NODE_ARRAYS, [0] * nodes)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ([MAX_TREE_NODES], "model.trees[0].cover: every node must cover some"),
        ([MAX_TREE_NODES + 1], f"model.trees[0] has {MAX_TREE_NODES + 1:,} nodes: a tree may have at most "),
        ([MAX_NODES - MAX_TREE_NODES, MAX_TREE_NODES], "model.trees[0].cover: every node must cover some"),
        ([MAX_NODES - MAX_TREE_NODES, MAX_TREE_NODES + 1], "model.trees[1] has "),
        ([2, MAX_NODES - MAX_TREE_NODES, MAX_TREE_NODES - 1], f"model.trees[2] takes the trees past {MAX_NODES:,}"),
    ],
)
def test_trees_past_the_size_caps_are_refused_before_their_nodes_are_checked(sizes: list[int], message: str) -> None:
    """Up to MAX_TREE_NODES a tree, and MAX_NODES in all, the trees' nodes are checked (these fail at once)."""
    model = {**_ensemble(), "trees": [_unchecked(size) for size in sizes]}
    with pytest.raises(TreeFileError) as refused:
        TreeEnsemble(model, turbine_schema())
    assert str(refused.value).startswith(message)
