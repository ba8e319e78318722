"""Models trained with XGBoost, imported with `import-model` and served by the embedded backend with MODEL_PATH:
the library's own scores and SHAP values, and refusals that name the part."""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from flask import Flask

from app import create_app
from app.importing.from_xgboost import float64_threshold

# The test's own data: two categorical fields and three numeric ones, categories in the schema's order.
SITES, GRADES = ["north", "south", "east", "west"], ["low", "high"]
SCHEMA = {
    "version": 1,
    "fields": [
        {"name": "site", "type": "category", "categories": SITES},
        {"name": "load", "type": "number", "minimum": -10, "maximum": 10},
        {"name": "grade", "type": "category", "categories": GRADES},
        {"name": "heat", "type": "number", "minimum": 0, "maximum": 100},
        {"name": "shake", "type": "number", "minimum": -5, "maximum": 5},
    ],
    "sample": "east,1.5,high,70,0.25",
}
NAMES = [field["name"] for field in SCHEMA["fields"]]
CATEGORIES = {"site": SITES, "grade": GRADES}


def generated(rows: int, seed: int) -> tuple[list[list[Any]], list[int]]:
    rng = random.Random(seed)
    data, labels = [], []
    for _ in range(rows):
        row = [rng.choice(SITES), rng.uniform(-10, 10), rng.choice(GRADES), rng.uniform(0, 100), rng.gauss(0, 2)]
        row[4] = max(-5.0, min(5.0, row[4]))
        z = 0.3 * row[1] + (1.2 if row[0] in ("south", "west") else -0.4) + 0.03 * (row[3] - 50) * (row[2] == "high")
        labels.append(int(rng.random() < 1 / (1 + np.exp(-z - 0.5 * row[4]))))
        data.append(row)
    return data, labels


def matrix(rows: list[list[Any]], labels: list[int] | None = None) -> xgboost.DMatrix:
    codes = [
        [CATEGORIES[n].index(v) if n in CATEGORIES else v for n, v in zip(NAMES, row, strict=True)] for row in rows
    ]
    types = ["c" if name in CATEGORIES else "q" for name in NAMES]
    return xgboost.DMatrix(
        np.array(codes, dtype=np.float64), labels, feature_names=NAMES, feature_types=types, enable_categorical=True
    )


@functools.cache
def forty_trees() -> xgboost.Booster:
    """40 trees of depth 4 on the test's data, with native categorical splits."""
    rows, labels = generated(4000, 1)
    params = {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "tree_method": "hist", "seed": 1}
    return xgboost.train({**params, "max_cat_to_onehot": 1}, matrix(rows, labels), num_boost_round=40)


@pytest.fixture
def booster() -> xgboost.Booster:
    return forty_trees()


def import_model(app: Flask, tmp_path: Path, model: Path, *options: str) -> Any:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    args = ["import-model", str(model), "--schema", str(schema), "--out", str(tmp_path / "imported.json"), *options]
    return app.test_cli_runner().invoke(args=args)


def served(app: Flask, tmp_path: Path, booster: xgboost.Booster, suffix: str) -> Flask:
    model = tmp_path / f"model{suffix}"
    booster.save_model(str(model))
    result = import_model(app, tmp_path, model)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "40 trees from xgboost" in result.output
    return create_app({"MODEL_PATH": str(tmp_path / "imported.json")})


def edge_rows(booster: xgboost.Booster, count: int) -> list[list[Any]]:
    """Rows whose numbers sit exactly on the model's split values, on the float32 midpoints beside them, and
    one float64 step either side: where float32 and float64 comparisons part."""
    document = json.loads(booster.save_raw("json"))
    edges: dict[int, set[float]] = {1: set(), 3: set(), 4: set()}
    for tree in document["learner"]["gradient_booster"]["model"]["trees"]:
        for node, feature in enumerate(tree["split_indices"]):
            if tree["left_children"][node] != -1 and tree["split_type"][node] == 0:
                split = float(np.float32(tree["split_conditions"][node]))
                middle = float64_threshold(split)
                edges[feature] |= {split, middle, np.nextafter(middle, -np.inf), np.nextafter(middle, np.inf)}
    rng = random.Random(3)
    rows, _ = generated(count, 2)
    for row in rows:
        for feature, values in edges.items():
            if values and rng.random() < 0.7:
                row[feature] = float(rng.choice(sorted(values)))
    bounds = {1: 10, 3: 100, 4: 5}
    return [
        [v if i not in bounds else max(-bounds[i] if i != 3 else 0, min(bounds[i], v)) for i, v in enumerate(r)]
        for r in rows
    ]


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_scores_equal_xgboosts_over_http_for_10000_rows(
    app: Flask, tmp_path: Path, booster: xgboost.Booster, suffix: str
) -> None:
    rows = edge_rows(booster, 10_000)
    expected = booster.predict(matrix(rows))
    client = served(app, tmp_path, booster, suffix).test_client()
    answer = client.post("/", json=[dict(zip(NAMES, row, strict=True)) for row in rows])
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    scores = [p["score"] for p in answer.get_json()["predictions"]]
    assert len(scores) == 10_000
    assert max(abs(s - float(e)) for s, e in zip(scores, expected, strict=True)) <= 1e-6


def test_explanations_equal_xgboosts_shap_values(app: Flask, tmp_path: Path, booster: xgboost.Booster) -> None:
    rows = edge_rows(booster, 30)
    expected = booster.predict(matrix(rows), pred_contribs=True)
    margins = booster.predict(matrix(rows), output_margin=True)
    client = served(app, tmp_path, booster, ".json").test_client()
    baseline = client.get("/v1/model").get_json()["baseline"]
    answer = client.post("/v1/predictions?explain=true", json=[dict(zip(NAMES, r, strict=True)) for r in rows])
    assert answer.status_code == 200
    for item, want, margin in zip(answer.get_json()["predictions"], expected, margins, strict=True):
        contributions = item["contributions"]
        assert list(contributions) == NAMES
        assert [contributions[n] for n in NAMES] == pytest.approx(want[:-1].tolist(), abs=1e-5)
        assert baseline == pytest.approx(float(want[-1]), abs=1e-5)
        log_odds = np.log(item["score"] / (1 - item["score"]))
        assert baseline + sum(contributions.values()) == pytest.approx(float(log_odds), abs=1e-9)
        assert float(margin) == pytest.approx(float(log_odds), abs=1e-5)


def test_the_served_model_follows_the_imported_schema(app: Flask, tmp_path: Path, booster: xgboost.Booster) -> None:
    client = served(app, tmp_path, booster, ".json").test_client()
    model = client.get("/v1/model").get_json()
    assert [f["name"] for f in model["schema"]["fields"]] == NAMES and model["kind"] == "tree_ensemble"
    assert model["trees"] == 40 and model["source"] == f"xgboost {xgboost.__version__}"
    answer = client.post("/", data="east,1.5,medium,70,0.25", content_type="text/csv")
    assert answer.status_code == 400
    assert answer.get_json()["details"][0]["field"] == "grade"


def test_a_float32_split_becomes_the_float64_threshold_that_sends_each_value_the_same_way() -> None:
    for split in (0.28087965, -0.5522362, 1e-45, 70.0, 3.3333333, -7.1):
        threshold = float64_threshold(split)
        for value in (threshold, np.nextafter(threshold, -np.inf), np.nextafter(threshold, np.inf), split):
            assert (float(value) < threshold) == bool(np.float32(value) < np.float32(split))


def trained(objective: str, **params: Any) -> xgboost.Booster:
    rows, labels = generated(300, 4)
    target = labels if objective != "reg:squarederror" else [float(v) for v in labels]
    return xgboost.train({"objective": objective, **params}, matrix(rows, target), num_boost_round=3)


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (lambda: trained("reg:squarederror"), "objective reg:squarederror"),
        (lambda: trained("multi:softprob", num_class=3), "objective multi:softprob"),
        (lambda: trained("binary:logistic", booster="dart"), "booster dart"),
    ],
)
def test_other_models_are_refused_naming_the_part(app: Flask, tmp_path: Path, model: Any, named: str) -> None:
    path = tmp_path / "other.json"
    model().save_model(str(path))
    result = import_model(app, tmp_path, path)
    assert result.exit_code == 1 and named in result.output
    assert not (tmp_path / "imported.json").exists()


def test_a_truncated_or_mismatched_model_is_refused(app: Flask, tmp_path: Path, booster: xgboost.Booster) -> None:
    path = tmp_path / "model.json"
    booster.save_model(str(path))
    path.write_bytes(path.read_bytes()[:5000])
    result = import_model(app, tmp_path, path)
    assert result.exit_code == 1 and "XGBoost cannot read the file" in result.output
    renamed = SCHEMA["fields"][0] | {"name": "place"}
    booster.save_model(str(path))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({**SCHEMA, "fields": [renamed, *SCHEMA["fields"][1:]], "sample": ""}))
    args = ["import-model", str(path), "--schema", str(schema), "--out", str(tmp_path / "imported.json")]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1 and "unknown ['site'], missing ['place']" in result.output
    assert not (tmp_path / "imported.json").exists()
