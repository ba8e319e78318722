"""The tree scorer's own parts: what it accepts of an ensemble, its walk, and the quadrature its explanations
integrate with."""

from __future__ import annotations

import math
import random
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from app.core.fields import Schema
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
    ZERO_BAND,
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


def _goes_left(tree: dict[str, Any], node: int, row: Any) -> bool:
    """Whether the row goes left at the node: a gap (None) where missing_left sends it."""
    position = tree["feature"][node]
    if row[position] is None:
        return bool(tree["missing_left"][node])
    chosen = tree.get("left_categories", {}).get(str(node))
    return row[position] in chosen if chosen is not None else row[position] < tree["threshold"][node]


def _leaf_value(tree: dict[str, Any], row: Any) -> float:
    node = 0
    while tree["feature"][node] != LEAF:
        node = tree["left"][node] if _goes_left(tree, node, row) else tree["right"][node]
    return float(tree["value"][node])


def _shapley_by_enumeration(model: dict[str, Any], row: Any, width: int, output: int = 0) -> list[float]:
    """Each field's Shapley value for one output by its definition over every coalition of the fields: a known
    field follows the row (a gap takes its split's missing way), an unknown one averages its children by cover
    (TreeSHAP's value function)."""

    def expected(tree: dict[str, Any], known: int, node: int = 0) -> float:
        position = tree["feature"][node]
        if position == LEAF:
            return float(tree["value"][node])
        left, right = tree["left"][node], tree["right"][node]
        if known >> position & 1:
            return expected(tree, known, left if _goes_left(tree, node, row) else right)
        cover = tree["cover"]
        return (cover[left] * expected(tree, known, left) + cover[right] * expected(tree, known, right)) / cover[node]

    trees = [tree for tree in model["trees"] if tree.get("output", 0) == output]
    value = [math.fsum(expected(tree, known) for tree in trees) for known in range(1 << width)]
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


def nullable(schema: Schema) -> Schema:
    """The schema with every field nullable: a reading may leave any of them out."""
    return Schema([replace(field, nullable=True) for field in schema.fields], schema.sample)


def gapped_ensemble(rows: list[Any], seed: int, depth: int, outputs: int) -> dict[str, Any]:
    """_random_ensemble's trees, each split sending a gap one way or the other at random and, with several
    outputs, the trees spread over them."""
    model = _random_ensemble(rows, seed, depth)
    rng = random.Random(seed)
    for number, tree in enumerate(model["trees"]):
        tree["missing_left"] = [rng.randrange(2) if feature != LEAF else 0 for feature in tree["feature"]]
        if outputs > 1:
            tree["output"] = number % outputs
    if outputs > 1:
        model.update(outputs=outputs, base_score=[0.1 * output for output in range(outputs)])
    return model


def with_gaps(rows: list[Any], share: float, seed: int) -> list[Any]:
    """The rows, each value left out (None) with this chance."""
    rng = random.Random(seed)
    return [tuple(None if rng.random() < share else x for x in row) for row in rows]


@pytest.mark.parametrize("outputs", [1, 3])
def test_gaps_take_their_splits_missing_way_in_scores_and_explanations(outputs: int) -> None:
    schema = nullable(turbine_schema())
    rows = list(validate_rows(schema, turbine_dataset(40, DEFAULT_SEED).rows, range(40)))
    model = gapped_ensemble(rows, 5, 7, outputs)
    ensemble = TreeEnsemble(model, schema)
    gapped = with_gaps(rows, 0.3, 6)
    assert sum(x is None for row in gapped for x in row) > 50
    margins = ensemble.margins(gapped)
    bases = model["base_score"] if outputs > 1 else [model["base_score"]]
    for row, margin in zip(gapped, margins, strict=True):
        per_output = [margin] if outputs == 1 else margin
        for output, (got, base) in enumerate(zip(per_output, bases, strict=True)):
            trees = [tree for tree in model["trees"] if tree.get("output", 0) == output]
            assert got == pytest.approx(base + math.fsum(_leaf_value(tree, row) for tree in trees), abs=1e-12)
    baselines = [ensemble.baseline] if outputs == 1 else ensemble.baseline
    for row, margin in list(zip(gapped, margins, strict=True))[:3]:
        explained = ensemble.contributions(row)
        for output in range(outputs):
            shares = [explained[name] if outputs == 1 else explained[name][output] for name in schema.names]
            assert shares == pytest.approx(_shapley_by_enumeration(model, row, schema.width, output), abs=1e-12)
            got = margin if outputs == 1 else margin[output]
            assert baselines[output] + math.fsum(shares) == pytest.approx(got, abs=1e-12)


def test_a_number_near_zero_in_a_zero_as_missing_field_is_a_gap() -> None:
    """LightGBM's zero_as_missing: within ZERO_BAND of zero a number goes where a gap goes, here right, though it
    is below the threshold; just beyond the band it is compared."""
    model = _ensemble()
    model["trees"][0]["missing_left"] = [0, 0, 1, 0, 0]  # oil_temperature's gaps go right, to turbine_type's split
    model["zero_as_missing"] = [4]
    ensemble = TreeEnsemble(model, turbine_schema())
    oil = [0.0, -0.0, ZERO_BAND, -ZERO_BAND, 2 * ZERO_BAND, -2 * ZERO_BAND, 59.0, 60.0]
    rows = [("TID001", "HAWT", 5, 50, x, 20, 30, 50, 5, 30, "N") for x in oil]
    hawt_right, cool = -0.5 + 0.5 + 0.25, -0.5 - 1.0 + 0.25
    assert ensemble.margins(rows) == [hawt_right] * 4 + [cool] * 3 + [hawt_right]
    for row, margin in zip(rows, ensemble.margins(rows), strict=True):
        assert ensemble.baseline + math.fsum(ensemble.contributions(row).values()) == pytest.approx(margin, abs=1e-12)


def test_a_tree_that_says_nothing_of_gaps_may_not_split_on_a_nullable_field() -> None:
    schema = turbine_schema()
    fields = list(schema.fields)
    fields[1] = replace(fields[1], nullable=True)  # turbine_type, which the first tree splits on
    with pytest.raises(TreeFileError) as refused:
        TreeEnsemble(_ensemble(), Schema(fields))
    assert str(refused.value) == (
        "model.trees[0] splits on turbine_type, which is nullable, without saying where a gap goes (missing_left)"
    )
    fields[1], fields[2] = schema.fields[1], replace(fields[2], nullable=True)  # a field no tree splits on
    assert TreeEnsemble(_ensemble(), Schema(fields)).margins(
        [tuple([None if p == 2 else x for p, x in enumerate(("TID001", "HAWT", 5, 50, 70.0, 20, 30, 50, 5, 30, "N"))])]
    ) == [-0.5 + 0.5 + 0.25]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(0, "missing_left", [0, 0, 1]), "model.trees[0].missing_left must hold 0 or 1 per node"),
        (_set(0, "missing_left", [0, 0, 2, 0, 0]), "model.trees[0].missing_left must hold 0 or 1 per node"),
        (_set(0, "missing_left", [0, 0, True, 0, 0]), "model.trees[0].missing_left must hold 0 or 1 per node"),
        (_set(1, "output", 1), "model.trees[1].output must be an output's number, 0 to 0"),
        (_set(1, "output", -1), "model.trees[1].output must be an output's number, 0 to 0"),
        (lambda m: m.__setitem__("outputs", 0), "model.outputs must be a whole number from 1 to 10,000"),
        (lambda m: m.__setitem__("outputs", True), "model.outputs must be a whole number from 1 to 10,000"),
        (lambda m: m.__setitem__("base_score", [0.1, 0.2]), "model.base_score must hold one number per output, 1"),
        (lambda m: m.update(outputs=2, base_score=[0.1, "0"]), "model.base_score[1] must be a finite number"),
        (lambda m: m.__setitem__("zero_as_missing", [1]), "model.zero_as_missing must list numeric fields'"),
        (lambda m: m.__setitem__("zero_as_missing", [4, 4]), "model.zero_as_missing must list numeric fields'"),
        (lambda m: m.__setitem__("zero_as_missing", [4]), "model.trees[0] splits on oil_temperature, which takes"),
        (lambda m: m.update(outputs=2, base_score=[2e300, 0.0]), f"model.base_score[0]: {PAST}"),
    ],
)
def test_a_broken_ensemble_of_outputs_and_gaps_is_refused_naming_the_part(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    with pytest.raises(TreeFileError) as refused:
        TreeEnsemble(_broken(change), turbine_schema())
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("change", "part"),
    [
        (lambda m: m.__setitem__("outputs", 1), "model.outputs"),
        (lambda m: m.__setitem__("link", "softmax"), "model.link"),
        (lambda m: m.__setitem__("base_score", [0.0]), "model.base_score"),
        (_set(1, "missing_left", [0]), "model.trees[1].missing_left"),
        (_set(0, "output", 0), "model.trees[0].output"),
    ],
)
def test_a_first_format_model_holds_one_output_and_no_gaps(
    change: Callable[[dict[str, Any]], object], part: str
) -> None:
    assert TreeEnsemble(_ensemble(), turbine_schema(), 1).outputs == 1
    with pytest.raises(TreeFileError) as refused:
        TreeEnsemble(_broken(change), turbine_schema(), 1)
    assert str(refused.value) == f"{part}: a turbine-status-trees/1 model has one output and no gaps; this is /2's"
