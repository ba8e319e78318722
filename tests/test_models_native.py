"""The optional native scorer (TREES_NATIVE=on): onnxruntime walks the imported trees and gives the pure-Python
walk's scores; explanations are unchanged."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import joblib
import pytest
import xgboost
from click.testing import CliRunner
from flask import Flask

from app import create_app
from app.config import ConfigError
from app.core.schemas import turbine_schema
from app.core.validation import validate_rows
from app.importing.commands import import_model_command
from app.models.artifact import TREES_FORMAT, checksum
from app.models.embedded import EmbeddedModel
from app.models.runtimes.native import GROWTH, NativeTrees, _onnx_model
from app.models.runtimes.trees import LEAF, MAX_DEPTH, NODE_ARRAYS, ZERO_BAND, TreeEnsemble
from app.training import DEFAULT_SEED
from app.training.data import turbine_dataset
from tests.test_importing import (
    GRADES,
    NAMES,
    SCHEMA,
    SITES,
    edge_rows,
    forty_trees,
    matrix,
    placed,
    served,
    sklearn_trees,
)
from tests.test_models_trees import gapped_ensemble, nullable, with_gaps


def both(app: Flask, tmp_path: Path) -> tuple[Any, Any]:
    served(app, tmp_path, forty_trees(), ".json")
    path = str(tmp_path / "imported.json")
    return (
        create_app({"MODEL_PATH": path}).test_client(),
        create_app({"MODEL_PATH": path, "TREES_NATIVE": "on"}).test_client(),
    )


def test_native_scores_equal_the_pure_python_walk_and_xgboosts(app: Flask, tmp_path: Path) -> None:
    booster: xgboost.Booster = forty_trees()
    rows = edge_rows(booster, 10_000)
    python, native = both(app, tmp_path)
    body = [dict(zip(NAMES, row, strict=True)) for row in rows]
    walked, run = (client.post("/", json=body).get_json()["predictions"] for client in (python, native))
    assert len(run) == 10_000
    assert max(abs(a["score"] - b["score"]) for a, b in zip(walked, run, strict=True)) <= 1e-12
    expected = booster.predict(matrix(rows))
    assert max(abs(p["score"] - float(e)) for p, e in zip(run, expected, strict=True)) <= 1e-6
    assert native.get("/v1/model").get_json()["scorer"] == "onnxruntime"
    assert "scorer" not in python.get("/v1/model").get_json()


def test_native_explanations_are_the_pure_python_ones(app: Flask, tmp_path: Path) -> None:
    python, native = both(app, tmp_path)
    body = [dict(zip(NAMES, row, strict=True)) for row in edge_rows(forty_trees(), 20)]
    walked, run = (client.post("/v1/predictions?explain=true", json=body).get_json() for client in (python, native))
    assert run["predictions"] == pytest.approx(walked["predictions"], abs=1e-12)


def test_a_forest_and_a_tree_of_one_leaf_score_alike(tmp_path: Path) -> None:
    model, schema = tmp_path / "forest.joblib", tmp_path / "schema.json"
    joblib.dump(sklearn_trees("forest"), model)  # the identity link, categories as one-hot columns
    schema.write_text(json.dumps(SCHEMA))
    out = tmp_path / "forest.json"
    result = CliRunner().invoke(import_model_command, [str(model), "--schema", str(schema), "--out", str(out)])
    assert result.exit_code == 0, result.output
    artifact = json.loads(out.read_text())
    leaf = {"feature": [-1], "threshold": [0.0], "left": [0], "right": [0], "value": [0.125], "cover": [1.0]}
    artifact["model"]["trees"].append({**leaf, "column": [-1]})  # a tree that never splits
    artifact["checksum"] = checksum(artifact)
    assert artifact["format"] == TREES_FORMAT
    rows = [tuple(row) for row in placed({1: {0.0}, 3: {50.0}}, 2000, 9)]
    walked = EmbeddedModel(artifact).predict(rows).scores
    run = EmbeddedModel(artifact, native=True).predict(rows).scores
    assert max(abs(a - b) for a, b in zip(walked, run, strict=True)) <= 1e-12


def test_without_onnxruntime_the_setting_is_named(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served(app, tmp_path, forty_trees(), ".json")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"TREES_NATIVE: needs onnxruntime.*requirements-native\.txt"):
        create_app({"MODEL_PATH": str(tmp_path / "imported.json"), "TREES_NATIVE": "on"})


def _artifact_with(app: Flask, tmp_path: Path, tree: dict[str, Any]) -> dict[str, Any]:
    """An imported artifact on the test schema whose ensemble is this one tree; without missing_left, no field of
    its schema may have gaps."""
    served(app, tmp_path, forty_trees(), ".json")
    artifact = json.loads((tmp_path / "imported.json").read_text())
    artifact["model"]["trees"] = [tree]
    for field in artifact["schema"]["fields"]:
        field["nullable"] = "missing_left" in tree
    artifact["checksum"] = checksum(artifact)
    return artifact


def _category_tree(levels: list[tuple[int, list[str]]]) -> dict[str, Any]:
    """A full tree whose splits at each level test one field's categories, the root's first."""
    tree: dict[str, Any] = {name: [] for name in NODE_ARRAYS} | {"left_categories": {}}

    def grow(level: int) -> int:
        node = len(tree["feature"])
        for name, start in (("feature", -1), ("threshold", 0.0), ("left", -1), ("right", -1)):
            tree[name].append(start)
        tree["value"].append(0.01 * node)
        tree["cover"].append(2.0 ** (len(levels) - level))
        if level < len(levels):
            tree["feature"][node], chosen = levels[level]
            tree["left_categories"][str(node)] = chosen
            tree["left"][node] = grow(level + 1)
            tree["right"][node] = grow(level + 1)
        return node

    grow(0)
    return tree


# site in {north, east} is codes 0 and 2 of four: four runs (in, out, in, out), each reaching its own copy of a way,
# so 3 + 4 x (the copies below) nodes; grade in {high} is two runs (out, in): 1 + both ways; grade in {} is one run,
# no test at all: its way alone.
WITHIN = [(0, ["north", "east"])]  # 3 nodes become 3 + 4 = 7
PAST = [(0, ["north", "east"]), (2, ["high"]), (0, ["north", "east"])]  # 15 nodes become 3 + 4 x (1 + 2 x 7) = 63
# 31 nodes would become 3 + 4 x (3 + 4 x (3 + 4)) = 127: past GROWTH, so sets are kept, but grade in {} still needs
# no node (onnxruntime refuses an empty set)
NONE_PASS = [(0, ["north", "east"])] * 3 + [(2, [])]


@pytest.mark.parametrize(("levels", "reached", "splits"), [(WITHIN, 2, 3), (PAST, 4, 7), (NONE_PASS, 2, 7)])
def test_category_tests_score_alike_copied_into_runs_or_kept_as_sets(
    app: Flask, tmp_path: Path, levels: list[tuple[int, list[str]]], reached: int, splits: int
) -> None:
    assert 7 / 3 <= GROWTH < min(63 / 15, 127 / 31)  # the first is copied into runs, the others keep their sets
    artifact = _artifact_with(app, tmp_path, _category_tree(levels))
    rows = [(site, 0.5, grade, 50.0, 0.0) for site in SITES for grade in GRADES]
    walked = EmbeddedModel(artifact).predict(rows).scores
    assert len(set(walked)) == reached
    native = EmbeddedModel(artifact, native=True)
    run = native.predict(rows).scores
    assert max(abs(a - b) for a, b in zip(walked, run, strict=True)) <= 1e-12
    assert isinstance(native.model, NativeTrees)
    (node,) = _onnx_model(native.model.ensemble, len(NAMES)).graph.node
    assert len(next(a.ints for a in node.attribute if a.name == "nodes_featureids")) == splits


# Every site goes left, and a gap right; no grade goes left, and a gap does: a test each of one run, which needs a
# node for the gap alone.
ONE_WAY = [(0, list(SITES)), (2, [])]


@pytest.mark.parametrize("levels", [WITHIN, PAST, NONE_PASS, ONE_WAY])
def test_category_gaps_take_their_missing_way_copied_into_runs_or_kept_as_sets(
    app: Flask, tmp_path: Path, levels: list[tuple[int, list[str]]]
) -> None:
    tree = _category_tree(levels)
    # Gaps go right at even splits and left at odd ones, whatever way their categories go.
    tree["missing_left"] = [node % 2 if feature != LEAF else 0 for node, feature in enumerate(tree["feature"])]
    artifact = _artifact_with(app, tmp_path, tree)
    rows = [(site, 0.5, grade, 50.0, 0.0) for site in [*SITES, None] for grade in [*GRADES, None]]
    walked = EmbeddedModel(artifact).predict(rows).scores
    run = EmbeddedModel(artifact, native=True).predict(rows).scores
    assert max(abs(a - b) for a, b in zip(walked, run, strict=True)) <= 1e-12
    if levels == ONE_WAY:  # a site goes left (node 1), a gap right (node 4); there, a gap in grade goes left at
        # node 1 (to leaf 2) and right at node 4 (leaf 6), where every grade goes
        leaves = [(2 if grade is None else 3) if site else 6 for site, _, grade, _, _ in rows]
        scores = {leaf: {score for score, at in zip(walked, leaves, strict=True) if at == leaf} for leaf in leaves}
        assert [len(found) for found in scores.values()] == [1, 1, 1] and len(set(walked)) == 3


@pytest.mark.parametrize("outputs", [1, 3])
def test_native_scores_gaps_and_outputs_as_the_pure_python_walk(outputs: int) -> None:
    schema = nullable(turbine_schema())
    rows = list(validate_rows(schema, turbine_dataset(500, DEFAULT_SEED).rows, range(500)))
    model = gapped_ensemble(rows, 5, 7, outputs)
    model["zero_as_missing"] = [4]  # oil_temperature: a number within ZERO_BAND of zero is a gap
    ensemble = TreeEnsemble(model, schema)
    gapped = with_gaps(rows, 0.2, 8)
    gapped[:3] = [(*row[:4], x, *row[5:]) for row, x in zip(gapped, (0.0, ZERO_BAND, -2 * ZERO_BAND), strict=False)]
    walked, run = ensemble.margins(gapped), NativeTrees(ensemble, schema).margins(gapped)
    assert len(run) == 500 and (outputs == 1 or len(run[0]) == outputs)
    flat = (lambda m: m) if outputs == 1 else (lambda m: [x for row in m for x in row])
    assert max(abs(a - b) for a, b in zip(flat(walked), flat(run), strict=True)) <= 1e-12


@pytest.mark.parametrize("levels", [1500, MAX_DEPTH])
def test_a_tree_deeper_than_pythons_recursion_scores_alike(app: Flask, tmp_path: Path, levels: int) -> None:
    """A chain of splits, load and grade in turn, each sending one way to a leaf (a deep scikit-learn tree on sorted
    data looks like this), up to the deepest a tree may be: onnxruntime builds its trees recursively."""
    tree: dict[str, Any] = {name: [] for name in NODE_ARRAYS} | {"left_categories": {}}
    for level in range(levels):
        node = len(tree["feature"])
        grade = level % 2 == 1
        tree["feature"] += [2 if grade else 1, -1]
        tree["threshold"] += [0.0 if grade else -10 + 20 * level / levels, 0.0]
        tree["left"] += [node + 1, -1]
        tree["right"] += [node + 2, -1]
        tree["value"] += [0.0, level / levels]
        tree["cover"] += [float(2 * (levels - level) + 1), 1.0]
        if grade:
            tree["left_categories"][str(node)] = ["high"]
    for name, last in (("feature", -1), ("threshold", 0.0), ("left", -1), ("right", -1), ("value", 2.0)):
        tree[name].append(last)
    tree["cover"].append(1.0)
    artifact = _artifact_with(app, tmp_path, tree)
    rows = [tuple(row) for row in placed({}, 2000, 5)]
    walked = EmbeddedModel(artifact).predict(rows).scores
    assert len(set(walked)) > 100  # rows leave the chain at many depths
    run = EmbeddedModel(artifact, native=True).predict(rows).scores
    assert max(abs(a - b) for a, b in zip(walked, run, strict=True)) <= 1e-12


def test_a_tree_whose_splits_share_their_children_is_refused_at_start_up(app: Flask, tmp_path: Path) -> None:
    """20 splits, each sending both ways to the next: 2^20 paths through 41 nodes, which onnxruntime would copy
    out one by one (and TreeSHAP walk), so start-up would not end."""
    splits = 20
    tree = {
        "feature": [1] * splits + [-1],
        "threshold": [float(n) / splits for n in range(splits)] + [0.0],
        "left": [*range(1, splits + 1), -1],
        "right": [*range(1, splits + 1), -1],
        "value": [0.0] * splits + [1.0],
        "cover": [1.0] * (splits + 1),
    }
    path = tmp_path / "shared.json"
    path.write_text(json.dumps(_artifact_with(app, tmp_path, tree)))
    with pytest.raises(ConfigError, match=r"MODEL_PATH: .*model.trees\[0\]: node 1 is a child of node 0 and again"):
        create_app({"MODEL_PATH": str(path), "TREES_NATIVE": "on"})
