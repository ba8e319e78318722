"""LightGBM models of every task imported with `import-model` and scored by the embedded model, in pure Python and
with onnxruntime: LightGBM's own predictions and SHAP values, for readings with gaps (missing values), numbers on
the splits' thresholds, and numbers near zero where zero is taken as missing."""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pytest

from app.importing import from_lightgbm
from app.models.embedded import EmbeddedModel
from app.models.runtimes.trees import ZERO_BAND
from tests.test_importing import CATEGORIES, NAMES, generated, lightgbm_edge_rows
from tests.test_importing_xgboost import assert_explained, targets
from tests.test_importing_xgboost import imported as imported_file

TRAINED_GAPS = (0, 1, 3)  # site, load and heat: a tenth of the training rows leave each out
READ_GAPS = (0, 1, 2, 3, 4)  # readings leave out any field, those training never left out too
OBJECTIVES = [
    "binary",
    "multiclass",
    "multiclassova",
    "regression",
    "regression_l1",
    "huber",
    "quantile",
    "poisson",
    "gamma",
    "tweedie",
]
CLASSES = 3


def with_gaps(rows: list[list[Any]], fields: tuple[int, ...], seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    return [[None if p in fields and rng.random() < 0.1 else x for p, x in enumerate(row)] for row in rows]


def frame(rows: list[list[Any]]) -> pd.DataFrame:
    """The rows as a DataFrame whose categories are in another order than the schema's; a gap is missing."""
    columns: dict[str, Any] = {name: [row[i] for row in rows] for i, name in enumerate(NAMES)}
    for name, categories in CATEGORIES.items():
        columns[name] = pd.Categorical(columns[name], categories=categories[::-1])
    for name in NAMES:
        if name not in CATEGORIES:
            columns[name] = np.array([np.nan if v is None else v for v in columns[name]], dtype=np.float64)
    return pd.DataFrame(columns)


# What each objective learns from the test's data (tests.test_importing_xgboost.targets); "value" otherwise.
LEARNS = {
    "binary": "binary",
    "multiclass": "classes",
    "multiclassova": "classes",
    "poisson": "count",
    "gamma": "positive",
    "tweedie": "positive",
}


PARAMS = {"num_leaves": 7, "verbose": -1, "seed": 1, "min_data_per_group": 5, "max_cat_to_onehot": 1}


@functools.cache
def booster(objective: str) -> lightgbm.Booster:
    rows, labels = generated(2000, 11)
    rows = with_gaps(rows, TRAINED_GAPS, 12)
    params = {**PARAMS, "objective": objective}
    if objective.startswith("multiclass"):
        params["num_class"] = CLASSES
    learned = targets(LEARNS.get(objective, "value"), rows, labels, CLASSES)
    return lightgbm.train(params, lightgbm.Dataset(frame(rows), learned), 6)


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """LightGBM reads the model file here rather than in a child process: the import is otherwise the command's."""
    monkeypatch.setattr(from_lightgbm, "load", lambda content: json.loads(from_lightgbm._describe(content)))


def imported(tmp_path: Path, model: lightgbm.Booster, *options: str) -> EmbeddedModel:
    return imported_file(tmp_path, model, *options, file="model.txt")


def edge_rows(model: lightgbm.Booster, count: int) -> list[list[Any]]:
    """Readings with gaps in any field whose numbers are, seven times in ten, a threshold or one float64 step
    either side of it."""
    return with_gaps(lightgbm_edge_rows(model, count), READ_GAPS, 15)


def assert_scores_equal(embedded: EmbeddedModel, rows: list[list[Any]], expected: Any, regression: bool) -> None:
    for native in (False, True):
        model = EmbeddedModel(embedded.artifact, native=True) if native else embedded
        predicted = model.predict([tuple(row) for row in rows])
        scores = np.array(predicted.scores)
        assert scores.shape == expected.shape
        # Both add the same float64 leaves in the same order: only the link's last bits may differ.
        scale = np.maximum(1, np.abs(expected)) if regression else 1
        assert np.max(np.abs(scores - expected) / scale) <= 1e-9
        if expected.ndim == 2:
            assert predicted.labels == expected.argmax(axis=1).tolist()


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_scores_equal_lightgbms_for_10000_readings_with_gaps(tmp_path: Path, objective: str) -> None:
    model = booster(objective)
    rows = edge_rows(model, 10_000)
    assert 4000 < sum(None in row for row in rows) < 4500
    expected = model.predict(frame(rows))
    embedded = imported(tmp_path, model)
    assert [field.nullable for field in embedded.schema.fields] == [True] * len(NAMES)
    assert_scores_equal(embedded, rows, expected, objective not in ("binary", "multiclass", "multiclassova"))


@pytest.mark.usefixtures("in_process")
def test_numbers_near_zero_are_missing_where_the_model_takes_zero_as_missing(tmp_path: Path) -> None:
    """zero_as_missing: LightGBM sends a number within kZeroThreshold of zero, and a gap, the default way."""
    rows, labels = generated(2000, 16)
    rng = random.Random(17)
    for row in rows:  # a fifth of the loads are zero, the model's missing load
        row[1] = 0.0 if rng.random() < 0.2 else row[1]
        row[3] = None if rng.random() < 0.1 else row[3]
    params = {**PARAMS, "objective": "binary", "zero_as_missing": True}
    model = lightgbm.train(params, lightgbm.Dataset(frame(rows), labels), 6)
    kinds = {node["missing_type"] for node in _nodes(model) if node.get("decision_type") == "<="}
    assert "Zero" in kinds
    near = [0.0, -0.0, ZERO_BAND, -ZERO_BAND, 1e-36, 2 * ZERO_BAND, -2 * ZERO_BAND, 1e-30, -1e-30]
    readings = edge_rows(model, 10_000)
    for row in readings:
        if rng.random() < 0.3:
            row[rng.choice([1, 3, 4])] = rng.choice(near)
    embedded = imported(tmp_path, model)
    assert embedded.artifact["model"]["zero_as_missing"] == [1, 4]  # load and shake; no tree splits heat
    assert_scores_equal(embedded, readings, model.predict(frame(readings)), False)
    contributions = model.predict(frame(readings[:20]), pred_contrib=True)
    for row, want in zip(readings[:20], contributions, strict=True):
        explained = embedded.predict([tuple(row)], explain=True).contributions
        assert explained is not None
        assert [explained[0][name] for name in NAMES] == pytest.approx(want[:-1].tolist(), abs=1e-9)


def _nodes(model: lightgbm.Booster) -> list[dict[str, Any]]:
    found, pending = [], [tree["tree_structure"] for tree in model.dump_model()["tree_info"]]
    while pending:
        node = pending.pop()
        found.append(node)
        pending += [node[way] for way in ("left_child", "right_child") if way in node]
    return found


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize("objective", ["multiclass", "gamma", "binary"])
def test_explanations_equal_lightgbms_shap_values_with_gaps(tmp_path: Path, objective: str) -> None:
    """Per class for a multi-class model; on the margin (the log of the value) for a log-link regression."""
    model = booster(objective)
    rows = edge_rows(model, 40)
    classes = CLASSES if objective.startswith("multiclass") else 1
    expected = model.predict(frame(rows), pred_contrib=True).reshape(len(rows), classes, len(NAMES) + 1)
    margins = model.predict(frame(rows), raw_score=True).reshape(len(rows), classes)
    assert_explained(imported(tmp_path, model), rows, expected, margins, 1e-9)


def test_a_multiclassova_model_imported_with_held_out_data_names_its_classes(tmp_path: Path) -> None:
    """The whole command, LightGBM reading the file in its child process: each class's own probability, which
    LightGBM does not scale to add up to 1."""
    model = booster("multiclassova")
    rows, labels = generated(200, 21)
    classes = targets("classes", rows, labels, CLASSES)
    data = tmp_path / "held_out.csv"
    lines = [",".join([*NAMES, "state"])]
    lines += [",".join([*map(str, row), str(c + 1)]) for row, c in zip(rows, classes, strict=True)]  # 1, 2 and 3
    data.write_text("\n".join(lines) + "\n")
    embedded = imported(tmp_path, model, "--data", str(data), "--label", "state")
    assert embedded.task.classes == ("1", "2", "3") and embedded.model.link == "logistic"
    predicted = model.predict(frame(rows))
    assert max(abs(predicted.sum(axis=1) - 1)) > 0.01
    assert np.array(embedded.predict([tuple(row) for row in rows]).scores) == pytest.approx(predicted, abs=1e-9)
    metrics = embedded.artifact["metrics"]
    assert metrics["accuracy"] == pytest.approx(float(np.mean(predicted.argmax(axis=1) == classes)))
    assert list(metrics["recall"]) == ["1", "2", "3"]
