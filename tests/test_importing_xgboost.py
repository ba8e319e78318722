"""XGBoost models of every task imported with `import-model` and scored by the embedded model, in pure Python and
with onnxruntime: XGBoost's own predictions and SHAP values, for readings with gaps (missing values) and numbers on
the splits' thresholds."""

from __future__ import annotations

import functools
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from click.testing import CliRunner

from app.importing.commands import import_model_command
from app.models.embedded import EmbeddedModel
from tests.test_importing import CATEGORIES, NAMES, SCHEMA, generated
from tests.test_importing import edge_rows as splits_edge_rows

GAPPED = (0, 1, 3)  # site, load and heat: a tenth of the readings leave each out
OBJECTIVES = [
    "binary:logistic",
    "multi:softprob",
    "multi:softmax",
    "reg:squarederror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "count:poisson",
    "reg:gamma",
    "reg:tweedie",
]
CLASSES = 4


def with_gaps(rows: list[list[Any]], seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    return [[None if p in GAPPED and rng.random() < 0.1 else x for p, x in enumerate(row)] for row in rows]


def matrix(rows: list[list[Any]], labels: Any = None) -> xgboost.DMatrix:
    """The rows as XGBoost reads them: categories by their position in the schema, a gap NaN."""
    codes = [
        [
            math.nan if v is None else CATEGORIES[n].index(v) if n in CATEGORIES else v
            for n, v in zip(NAMES, row, strict=True)
        ]
        for row in rows
    ]
    types = ["c" if name in CATEGORIES else "q" for name in NAMES]
    return xgboost.DMatrix(
        np.array(codes, dtype=np.float64), labels, feature_names=NAMES, feature_types=types, enable_categorical=True
    )


# What each task learns from the test's data: its classes, several classes, a count, a positive value or any value.
LEARNS = {
    "binary:logistic": "binary",
    "multi:softprob": "classes",
    "multi:softmax": "classes",
    "count:poisson": "count",
    "reg:gamma": "positive",
    "reg:tweedie": "positive",
}


def targets(learns: str, rows: list[list[Any]], labels: list[int], classes: int = CLASSES) -> Any:
    """The labels of one kind (LEARNS; "value" otherwise), the classes and values driven by the same fields."""
    if learns == "binary":
        return labels
    rng = np.random.default_rng(7)
    drive = np.array([0.2 * (row[1] or 0.0) + (0.8 if row[0] in ("south", "west") else 0.0) for row in rows])
    if learns == "classes":
        noisy = drive + rng.normal(0, 0.5, len(rows))
        return np.searchsorted(np.quantile(noisy, np.arange(1, classes) / classes), noisy)
    mean = np.exp(0.5 * drive)
    if learns == "count":
        return rng.poisson(mean)
    if learns == "positive":
        return rng.gamma(2.0, mean / 2.0)
    return 10 * drive + rng.normal(0, 1, len(rows))


@functools.cache
def booster(objective: str) -> xgboost.Booster:
    rows, labels = generated(2000, 11)
    rows = with_gaps(rows, 12)
    params: dict[str, Any] = {"objective": objective, "max_depth": 4, "eta": 0.3, "tree_method": "hist", "seed": 1}
    if objective.startswith("multi:"):
        params["num_class"] = CLASSES
    data = matrix(rows, targets(LEARNS.get(objective, "value"), rows, labels))
    return xgboost.train({**params, "max_cat_to_onehot": 1}, data, num_boost_round=6)


def imported(tmp_path: Path, model: Any, *options: str, file: str = "model.json") -> EmbeddedModel:
    """The model imported with the test's schema and served: `file` names it as its library saves it."""
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    model.save_model(str(tmp_path / file))
    args = [str(tmp_path / file), "--schema", str(tmp_path / "schema.json"), "--out", str(tmp_path / "a.json")]
    result = CliRunner().invoke(import_model_command, [*args, *options])
    assert result.exit_code == 0, result.output
    return EmbeddedModel.from_file(tmp_path / "a.json")


def edge_rows(model: xgboost.Booster, count: int) -> list[list[Any]]:
    """Readings with gaps whose numbers are, seven times in ten, a split's value, the float32 midpoint beside it, or
    one float64 step either side of that."""
    return with_gaps(splits_edge_rows(model, count), 15)


def xgboosts(objective: str, model: xgboost.Booster, rows: list[list[Any]]) -> tuple[Any, Any]:
    """XGBoost's scores, as the embedded model gives them, and labels: the probability of the positive class, each
    class's (softmax of the margins, for multi:softmax, whose predict gives the class alone), or the value."""
    data = matrix(rows)
    if objective == "multi:softmax":
        margins = model.predict(data, output_margin=True).astype(np.float64)
        shares = np.exp(margins - margins.max(axis=1, keepdims=True))
        return shares / shares.sum(axis=1, keepdims=True), model.predict(data).astype(int)
    scores = model.predict(data)
    return scores, scores.argmax(axis=1) if objective == "multi:softprob" else None


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_scores_equal_xgboosts_for_10000_readings_with_gaps(tmp_path: Path, objective: str) -> None:
    model = booster(objective)
    rows = edge_rows(model, 10_000)
    assert 2500 < sum(None in row for row in rows) < 3000
    expected, labels = xgboosts(objective, model, rows)
    for native in (False, True):
        embedded = imported(tmp_path, model)
        if native:
            embedded = EmbeddedModel(embedded.artifact, native=True)
        predicted = embedded.predict([tuple(row) for row in rows])
        scores = np.array(predicted.scores)
        assert scores.shape == expected.shape
        if objective.startswith(("reg:", "count:")):  # XGBoost adds float32 leaves: values agree to float32's bits
            assert np.max(np.abs(scores - expected) / np.maximum(1, np.abs(expected))) <= 1e-6
            assert predicted.labels is None
        else:
            assert np.max(np.abs(scores - expected)) <= 1e-6
        if labels is not None:  # the likeliest class, but where float32 sums leave two within a rounding
            close = np.sort(scores, axis=1)[:, -2] > scores.max(axis=1) - 1e-6
            assert all(p == e or c for p, e, c in zip(predicted.labels or [], labels, close, strict=True))


def test_the_imported_schema_takes_gaps_and_the_task_comes_from_the_objective(tmp_path: Path) -> None:
    embedded = imported(tmp_path, booster("multi:softprob"), "--label", "state")
    assert [field.nullable for field in embedded.schema.fields] == [True] * len(NAMES)
    assert embedded.artifact["task"] == {
        "kind": "multiclass",
        "classes": ["0", "1", "2", "3"],
        "target": "state",
        "unit": "",
    }
    assert "threshold" not in embedded.artifact and embedded.artifact["format"] == "turbine-status-trees/2"
    regression = imported(tmp_path, booster("reg:gamma")).artifact
    assert regression["task"] == {"kind": "regression", "target": "", "unit": ""}
    assert regression["model"]["link"] == "exp"
    binary = imported(tmp_path, booster("binary:logistic")).artifact
    assert "task" not in binary and binary["threshold"] == 0.5


def test_an_import_whose_task_is_not_the_objectives_is_refused(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    booster("reg:squarederror").save_model(str(tmp_path / "model.json"))
    args = [str(tmp_path / "model.json"), "--schema", str(tmp_path / "schema.json"), "--out", str(tmp_path / "a.json")]
    result = CliRunner().invoke(import_model_command, [*args, "--task", "multiclass"])
    assert result.exit_code == 1 and "the model predicts regression, not --task multiclass" in result.output
    assert not (tmp_path / "a.json").exists()


@pytest.mark.parametrize("objective", ["multi:softprob", "reg:tweedie", "binary:logistic"])
def test_explanations_equal_xgboosts_shap_values_with_gaps(tmp_path: Path, objective: str) -> None:
    """Per class for a multi-class model; on the margin (the log of the value) for a log-link regression."""
    model = booster(objective)
    rows = edge_rows(model, 40)
    expected = model.predict(matrix(rows), pred_contribs=True)  # (rows, classes, fields + 1), or (rows, fields + 1)
    margins = model.predict(matrix(rows), output_margin=True)
    classes = CLASSES if objective.startswith("multi:") else 1
    expected, margins = expected.reshape(len(rows), classes, -1), margins.reshape(len(rows), classes)
    assert_explained(imported(tmp_path, model), rows, expected, margins, 1e-5)
    assert any(None in row for row in rows)


def assert_explained(
    embedded: EmbeddedModel, rows: list[list[Any]], expected: Any, margins: Any, tolerance: float
) -> None:
    """Each reading's contributions per output equal the library's (`expected`: readings, outputs, fields and
    the baseline), and with the baseline add up to its margins."""
    outputs = expected.shape[1]
    baseline = np.array(embedded.model.baseline).reshape(outputs)
    assert baseline == pytest.approx(expected[0, :, -1], abs=tolerance)
    for row, want, margin in zip(rows, expected, margins, strict=True):
        explained = embedded.predict([tuple(row)], explain=True).contributions
        assert explained is not None
        shares = np.array([explained[0][name] for name in NAMES]).reshape(len(NAMES), outputs).T
        assert shares == pytest.approx(want[:, :-1], abs=tolerance)
        assert baseline + shares.sum(axis=1) == pytest.approx(margin, abs=tolerance)


def test_metrics_of_held_out_data_fit_the_task(tmp_path: Path) -> None:
    rows, labels = generated(300, 21)
    classes = targets("classes", rows, labels)
    names = ["calm", "breezy", "windy", "stormy"]  # sorted: breezy, calm, stormy, windy are classes 0 to 3
    data = tmp_path / "held_out.csv"
    lines = [",".join([*NAMES, "state"])]
    lines += [",".join([*map(str, row), sorted(names)[c]]) for row, c in zip(rows, classes, strict=True)]
    data.write_text("\n".join(lines) + "\n")
    model = booster("multi:softprob")
    embedded = imported(tmp_path, model, "--data", str(data), "--label", "state")
    assert embedded.task.classes == ("breezy", "calm", "stormy", "windy")
    metrics = embedded.artifact["metrics"]
    predicted = model.predict(matrix(rows)).argmax(axis=1)
    assert metrics["rows"] == 300 and metrics["accuracy"] == pytest.approx(float(np.mean(predicted == classes)))
    assert set(metrics["recall"]) == set(names) and 0 < metrics["macro_f1"] <= 1
    values = targets("value", rows, labels)
    lines = [",".join([*NAMES, "power"])] + [
        ",".join([*map(str, r), str(v)]) for r, v in zip(rows, values, strict=True)
    ]
    data.write_text("\n".join(lines) + "\n")
    regression = imported(tmp_path, booster("reg:squarederror"), "--data", str(data), "--label", "power")
    metrics = regression.artifact["metrics"]
    errors = booster("reg:squarederror").predict(matrix(rows)) - values
    assert metrics["mae"] == pytest.approx(float(np.mean(np.abs(errors))), rel=1e-5)
    assert metrics["rmse"] == pytest.approx(float(np.sqrt(np.mean(errors**2))), rel=1e-5)
    assert metrics["r2"] < 1 and regression.artifact["task"]["target"] == "power"


NUMBERS = ["load", "heat", "shake"]


def multi_output(kind: str) -> xgboost.Booster:
    """Two targets, or a tree for all classes whose leaves hold a value per class (XGBoost grows those on numbers
    only)."""
    rows, labels = generated(300, 4)
    data = np.array([[row[NAMES.index(name)] for name in NAMES if name in NUMBERS] for row in rows])
    if kind == "targets":
        two = np.array([labels, labels], dtype=float).T
        return xgboost.train({"objective": "reg:squarederror"}, xgboost.DMatrix(data, two, feature_names=NUMBERS), 2)
    params = {"objective": "multi:softprob", "num_class": 3, "multi_strategy": "multi_output_tree"}
    return xgboost.train(params, xgboost.DMatrix(data, [c % 3 for c in range(300)], feature_names=NUMBERS), 2)


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("targets", "the model has 2 targets: only one can be imported"),
        ("vector", "(multi_strategy multi_output_tree)"),
    ],
)
def test_a_model_of_vector_leaves_or_several_targets_is_refused_by_name(tmp_path: Path, kind: str, named: str) -> None:
    fields = [field for field in SCHEMA["fields"] if field["name"] in NUMBERS]
    (tmp_path / "schema.json").write_text(json.dumps({**SCHEMA, "fields": fields, "sample": "1.5,70,0.25"}))
    multi_output(kind).save_model(str(tmp_path / "model.json"))
    args = [str(tmp_path / "model.json"), "--schema", str(tmp_path / "schema.json"), "--out", str(tmp_path / "a.json")]
    result = CliRunner().invoke(import_model_command, args)
    assert result.exit_code == 1 and named in result.output, result.output
    assert not (tmp_path / "a.json").exists()


def dataframe_booster(categories: dict[str, list[str]]) -> tuple[xgboost.Booster, list[list[Any]]]:
    """A model trained from a pandas DataFrame whose categories are in these orders: XGBoost numbers its codes
    so, and keeps their names in the file."""
    import pandas as pd

    rows, labels = generated(2000, 31)
    rows = with_gaps(rows, 32)
    columns: dict[str, Any] = {name: [row[i] for row in rows] for i, name in enumerate(NAMES)}
    for name, order in categories.items():  # a category the order leaves out is missing
        columns[name] = pd.Categorical([v if v in order else None for v in columns[name]], categories=order)
    for name in ("load", "heat", "shake"):
        columns[name] = np.array([np.nan if v is None else v for v in columns[name]], dtype=np.float64)
    params = {"objective": "binary:logistic", "max_depth": 4, "tree_method": "hist", "max_cat_to_onehot": 1}
    return xgboost.train(params, xgboost.DMatrix(pd.DataFrame(columns), labels, enable_categorical=True), 8), rows


def test_a_model_trained_from_a_dataframe_reads_its_codes_by_the_categories_it_kept(tmp_path: Path) -> None:
    import pandas as pd

    reversed_order = {name: categories[::-1] for name, categories in CATEGORIES.items()}
    model, _ = dataframe_booster(reversed_order)
    rows = edge_rows(model, 2000)
    columns: dict[str, Any] = {name: [row[i] for row in rows] for i, name in enumerate(NAMES)}
    for name, order in reversed_order.items():
        columns[name] = pd.Categorical(columns[name], categories=order)
    for name in ("load", "heat", "shake"):
        columns[name] = np.array([np.nan if v is None else v for v in columns[name]], dtype=np.float64)
    expected = model.predict(xgboost.DMatrix(pd.DataFrame(columns), enable_categorical=True))
    scores = imported(tmp_path, model).predict([tuple(row) for row in rows]).scores
    assert max(abs(s - float(e)) for s, e in zip(scores, expected, strict=True)) <= 1e-6
    fewer, _ = dataframe_booster({"site": ["north", "south", "east"], "grade": CATEGORIES["grade"]})
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    fewer.save_model(str(tmp_path / "model.json"))
    args = [str(tmp_path / "model.json"), "--schema", str(tmp_path / "schema.json"), "--out", str(tmp_path / "b.json")]
    result = CliRunner().invoke(import_model_command, args)
    assert (
        result.exit_code == 1 and "feature site: the schema's category 'west' is not one the model was" in result.output
    )
