"""Models trained with XGBoost, LightGBM and scikit-learn, imported with `import-model` and served by the embedded
backend with MODEL_PATH: the library's own scores and SHAP values, and refusals that name the part."""

from __future__ import annotations

import functools
import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from flask import Flask

from app import create_app
from app.importing.from_xgboost import float64_threshold
from tests.conftest import small_files

ROOT = Path(__file__).resolve().parent.parent
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


def test_an_artifact_that_cannot_be_written_whole_leaves_the_earlier_one(
    tmp_path: Path, booster: xgboost.Booster
) -> None:
    model, schema, out = tmp_path / "booster.json", tmp_path / "schema.json", tmp_path / "imported.json"
    booster.save_model(str(model))
    schema.write_text(json.dumps(SCHEMA))
    out.write_text("an earlier artifact\n")
    command = ["import-model", str(model), "--schema", str(schema), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=small_files,
    )
    assert (done.returncode, done.stderr) == (1, f"Error: cannot write {out}: File too large\n"), done.stderr
    assert out.read_text() == "an earlier artifact\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["booster.json", "imported.json", "schema.json"]


@pytest.mark.parametrize(
    ("file", "args", "refusal"),
    [
        ("booster.json", ["--name", ".."], "--name '..'"),
        ("booster.json", ["--version", "."], "--version '.'"),
        ("booster.json", ["--name", ""], "--name ''"),
        ("...json", [], "--name '..'"),  # the default: the model file's name without its suffix
    ],
)
def test_a_name_or_version_of_dots_alone_is_refused(
    app: Flask, tmp_path: Path, booster: xgboost.Booster, file: str, args: list[str], refusal: str
) -> None:
    model = tmp_path / file
    booster.save_model(str(model))
    (tmp_path / "imported.json").write_text("an earlier artifact\n")
    result = import_model(app, tmp_path, model, *args)
    expected = f"Error: {refusal} names no folder of its own: it needs a character other than '.'\n"
    assert (result.exit_code, result.output) == (1, expected)
    assert (tmp_path / "imported.json").read_text() == "an earlier artifact\n"


BOUNDS = {1: (-10.0, 10.0), 3: (0.0, 100.0), 4: (-5.0, 5.0)}  # the numeric fields' ranges, by position


def placed(edges: dict[int, set[float]], count: int, seed: int) -> list[list[Any]]:
    """Generated rows whose numbers are, seven times in ten, one of their field's `edges`, kept in its range."""
    rng = random.Random(seed)
    rows, _ = generated(count, 2)
    for row in rows:
        for feature, values in edges.items():
            if values and rng.random() < 0.7:
                low, high = BOUNDS[feature]
                row[feature] = max(low, min(high, float(rng.choice(sorted(values)))))
    return rows


def edge_rows(booster: xgboost.Booster, count: int) -> list[list[Any]]:
    """Rows whose numbers sit exactly on the model's split values, on the float32 midpoints beside them, and
    one float64 step either side: where float32 and float64 comparisons part."""
    document = json.loads(booster.save_raw("json"))
    edges: dict[int, set[float]] = {feature: set() for feature in BOUNDS}
    for tree in document["learner"]["gradient_booster"]["model"]["trees"]:
        for node, feature in enumerate(tree["split_indices"]):
            if tree["left_children"][node] != -1 and tree["split_type"][node] == 0:
                split = float(np.float32(tree["split_conditions"][node]))
                middle = float64_threshold(split)
                edges[feature] |= {split, middle, np.nextafter(middle, -np.inf), np.nextafter(middle, np.inf)}
    return placed(edges, count, 3)


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
    return xgboost.train({"objective": objective, **params}, matrix(rows, labels), num_boost_round=3)


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (lambda: trained("reg:squaredlogerror"), "objective reg:squaredlogerror"),
        (lambda: trained("binary:logitraw"), "objective binary:logitraw"),
        (lambda: trained("rank:pairwise"), "objective rank:pairwise"),
        (lambda: trained("multi:softprob", num_class=2), "objective multi:softprob with 2 classes"),
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


def xgboost_edited(tmp_path: Path, change: Any) -> Path:
    """A small booster's JSON file, its first tree (two levels of splits, seven nodes) changed."""
    document = json.loads(trained("binary:logistic", max_depth=2).save_raw("json"))
    tree = document["learner"]["gradient_booster"]["model"]["trees"][0]
    assert tree["left_children"] == [1, 3, 5, -1, -1, -1, -1] and tree["right_children"][:3] == [2, 4, 6]
    change(tree)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda t: t["split_indices"].__setitem__(2, 9), "tree 0 node 2 splits on feature index 9, which the model's"),
        (lambda t: t["left_children"].__setitem__(1, 99), "tree 0 node 1 has child 99, which is not one of its 7"),
        (lambda t: t["split_type"].__setitem__(1, 7), "tree 0 node 1: split type 7 cannot be imported"),
        # XGBoost reads a split that sends both ways to one node, or two splits sharing a child.
        (lambda t: t["right_children"].__setitem__(0, 1), "model.trees[0]: node 1 is a child of node 0 and again of"),
        (lambda t: t["right_children"].__setitem__(2, 4), "model.trees[0]: node 4 is a child of node 1 and again of"),
    ],
)
def test_an_xgboost_tree_that_is_not_a_tree_is_refused_in_one_line_naming_its_node(
    app: Flask, tmp_path: Path, change: Any, named: str
) -> None:
    result = import_model(app, tmp_path, xgboost_edited(tmp_path, change))
    assert result.exit_code == 1 and named in result.output, result.output
    assert result.output.count("\n") == 1
    assert not (tmp_path / "imported.json").exists()


def test_a_pruned_xgboost_tree_is_explained_as_xgboost_explains_it(app: Flask, tmp_path: Path) -> None:
    """The exact method prunes with gamma: the deleted nodes stay in the file's arrays, reached from no split, and
    count in no expected value."""
    numbers = ["load", "heat", "shake"]
    rows, labels = generated(2000, 4)
    data = np.array([[row[NAMES.index(name)] for name in numbers] for row in rows])
    params = {"objective": "binary:logistic", "tree_method": "exact", "gamma": 5.0, "max_depth": 6}
    booster = xgboost.train(params, xgboost.DMatrix(data, labels, feature_names=numbers), 30)
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    assert any(int(tree["tree_param"]["num_deleted"]) for tree in trees)
    model, schema = tmp_path / "pruned.json", tmp_path / "numbers.json"
    booster.save_model(str(model))
    fields = [field for field in SCHEMA["fields"] if field["name"] in numbers]
    schema.write_text(json.dumps({**SCHEMA, "fields": fields, "sample": "1.5,70,0.25"}))
    args = ["import-model", str(model), "--schema", str(schema), "--out", str(tmp_path / "imported.json")]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    client = create_app({"MODEL_PATH": str(tmp_path / "imported.json")}).test_client()
    baseline = client.get("/v1/model").get_json()["baseline"]
    expected = booster.predict(xgboost.DMatrix(data[:20], feature_names=numbers), pred_contribs=True)
    answer = client.post(
        "/v1/predictions?explain=true", json=[dict(zip(numbers, row, strict=True)) for row in data[:20].tolist()]
    )
    for item, want in zip(answer.get_json()["predictions"], expected, strict=True):
        assert [item["contributions"][name] for name in numbers] == pytest.approx(want[:-1].tolist(), abs=1e-5)
        assert baseline == pytest.approx(float(want[-1]), abs=1e-5)


# LightGBM: trained from a DataFrame whose categories are in another order than the schema's, so the importer must
# map codes by the category names the model file keeps; and from a plain matrix, where codes are schema positions.


def frame(rows: list[list[Any]]) -> pd.DataFrame:
    columns = {name: [row[i] for row in rows] for i, name in enumerate(NAMES)}
    for name, categories in CATEGORIES.items():
        columns[name] = pd.Categorical(columns[name], categories=categories[::-1])
    return pd.DataFrame(columns)


LIGHTGBM = {"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 1, "min_data_per_group": 5}


@functools.cache
def lightgbm_booster() -> lightgbm.Booster:
    """60 trees of up to 15 leaves with native categorical splits, from a DataFrame."""
    rows, labels = generated(4000, 1)
    return lightgbm.train({**LIGHTGBM, "max_cat_to_onehot": 1}, lightgbm.Dataset(frame(rows), labels), 60)


def lightgbm_thresholds(booster: lightgbm.Booster) -> dict[int, set[float]]:
    """Each numeric field's thresholds in the model, and the float64 values one step either side of them."""
    edges: dict[int, set[float]] = {feature: set() for feature in BOUNDS}
    pending = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    while pending:
        node = pending.pop()
        if "split_feature" in node:
            pending += [node["left_child"], node["right_child"]]
            if node["decision_type"] == "<=":
                t = float(node["threshold"])
                edges[node["split_feature"]] |= {t, float(np.nextafter(t, -np.inf)), float(np.nextafter(t, np.inf))}
    return edges


def lightgbm_edge_rows(booster: lightgbm.Booster, count: int) -> list[list[Any]]:
    """Rows whose numbers sit exactly on the model's thresholds and one float64 step either side."""
    return placed(lightgbm_thresholds(booster), count, 5)


def served_lightgbm(app: Flask, tmp_path: Path, booster: lightgbm.Booster) -> Flask:
    model = tmp_path / "model.txt"
    booster.save_model(str(model))
    result = import_model(app, tmp_path, model)
    assert result.exit_code == 0, result.output
    assert f"{booster.num_trees()} trees from lightgbm" in result.output
    return create_app({"MODEL_PATH": str(tmp_path / "imported.json")})


def test_scores_equal_lightgbms_over_http_for_10000_rows(app: Flask, tmp_path: Path) -> None:
    booster = lightgbm_booster()
    rows = lightgbm_edge_rows(booster, 10_000)
    expected = booster.predict(frame(rows))
    client = served_lightgbm(app, tmp_path, booster).test_client()
    body = "\n".join(",".join(map(str, row)) for row in rows)  # str() of a float reads back as the same float
    answer = client.post("/", data=body, content_type="text/csv")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    scores = [p["score"] for p in answer.get_json()["predictions"]]
    assert len(scores) == 10_000
    # Both add the same float64 leaves in the same order: only the logistic function's last bit may differ.
    assert max(abs(s - float(e)) for s, e in zip(scores, expected, strict=True)) <= 1e-12


def test_explanations_equal_lightgbms_shap_values(app: Flask, tmp_path: Path) -> None:
    booster = lightgbm_booster()
    rows = lightgbm_edge_rows(booster, 30)
    expected = booster.predict(frame(rows), pred_contrib=True)
    client = served_lightgbm(app, tmp_path, booster).test_client()
    baseline = client.get("/v1/model").get_json()["baseline"]
    answer = client.post("/v1/predictions?explain=true", json=[dict(zip(NAMES, r, strict=True)) for r in rows])
    assert answer.status_code == 200
    for item, want in zip(answer.get_json()["predictions"], expected, strict=True):
        contributions = item["contributions"]
        assert [contributions[n] for n in NAMES] == pytest.approx(want[:-1].tolist(), abs=1e-9)
        assert baseline == pytest.approx(float(want[-1]), abs=1e-9)


@pytest.mark.parametrize("table", ["array", "frame"])
def test_a_lightgbm_model_trained_on_codes_reads_them_as_schema_positions(
    app: Flask, tmp_path: Path, table: str
) -> None:
    rows, labels = generated(3000, 6)
    codes = np.array(
        [[CATEGORIES[n].index(v) if n in CATEGORIES else v for n, v in zip(NAMES, r, strict=True)] for r in rows]
    )
    given = codes if table == "array" else pd.DataFrame(codes, columns=NAMES)
    data = lightgbm.Dataset(given, labels, feature_name=NAMES, categorical_feature=[0, 2])
    booster = lightgbm.train({**LIGHTGBM, "max_cat_to_onehot": 1}, data, 20)
    client = served_lightgbm(app, tmp_path, booster).test_client()
    answer = client.post("/", json=[dict(zip(NAMES, r, strict=True)) for r in rows[:500]])
    scores = [p["score"] for p in answer.get_json()["predictions"]]
    assert max(abs(s - e) for s, e in zip(scores, booster.predict(codes[:500]), strict=True)) <= 1e-12


def lightgbm_trained(**params: Any) -> lightgbm.Booster:
    rows, labels = generated(300, 4)
    return lightgbm.train({**LIGHTGBM, **params}, lightgbm.Dataset(frame(rows), labels), 3)


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (lambda: lightgbm_trained(objective="cross_entropy"), "objective cross_entropy"),
        (lambda: lightgbm_trained(objective="regression", reg_sqrt=True), "square root of its label (reg_sqrt)"),
        (lambda: lightgbm_trained(objective="binary", sigmoid=2.0), "objective binary sigmoid:2: only sigmoid 1"),
        (lambda: lightgbm_trained(boosting="rf", bagging_freq=1, bagging_fraction=0.5), "random forest"),
        (lambda: lightgbm_trained(linear_tree=True), "linear leaves"),
    ],
)
def test_other_lightgbm_models_are_refused_naming_the_part(app: Flask, tmp_path: Path, model: Any, named: str) -> None:
    path = tmp_path / "other.txt"
    model().save_model(str(path))
    result = import_model(app, tmp_path, path)
    assert result.exit_code == 1 and named in result.output, result.output
    assert not (tmp_path / "imported.json").exists()


def test_a_truncated_lightgbm_model_or_an_unseen_category_is_refused(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    lightgbm_booster().save_model(str(path))
    text = path.read_bytes()
    # Cut among the trees; after them, which LightGBM reads without a word; inside the last line, where LightGBM
    # itself crashes reading it.
    for cut in (len(text) // 2, text.index(b"end of trees\n") + 13, len(text) - 10):
        path.write_bytes(text[:cut])
        result = import_model(app, tmp_path, path)
        assert result.exit_code == 1 and "LightGBM cannot read the file" in result.output, result.output
    path.write_bytes(text)
    grades = SCHEMA["fields"][2] | {"categories": [*GRADES, "medium"]}
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({**SCHEMA, "fields": [*SCHEMA["fields"][:2], grades, *SCHEMA["fields"][3:]]}))
    args = ["import-model", str(path), "--schema", str(schema), "--out", str(tmp_path / "imported.json")]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1 and "category 'medium' is not one the model was trained on" in result.output
    assert not (tmp_path / "imported.json").exists()


# scikit-learn: a LogisticRegression after a ColumnTransformer, saved with skops (types checked before loading)
# or joblib (unpickled: the user's act at import time).


def sklearn_pipeline(rows: list[list[Any]], labels: list[int], *parts: Any, model: Any = None) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    model = LogisticRegression(C=0.5, max_iter=2000) if model is None else model
    pipeline = Pipeline([("columns", ColumnTransformer(list(parts))), ("model", model)])
    return pipeline.fit(pd.DataFrame(rows, columns=NAMES), labels)


def every_step() -> list[Any]:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    # Columns named, by position, by a slice of names; passthrough; a field used twice; every accepted step.
    return [
        ("sites", OneHotEncoder(drop="first"), ["site"]),
        ("grades", OrdinalEncoder(categories=[GRADES[::-1]]), ["grade"]),
        ("scaled", make_pipeline(SimpleImputer(), StandardScaler()), ["load"]),
        ("heat", StandardScaler(with_mean=False), [3]),
        ("range", MinMaxScaler(), slice("heat", "shake")),
        ("shake", "passthrough", [4]),
    ]


def saved(estimator: Any, path: Path) -> Path:
    import joblib
    import skops.io

    if path.suffix == ".skops":
        skops.io.dump(estimator, path)
    else:
        joblib.dump(estimator, path)
    return path


@pytest.mark.parametrize("suffix", [".skops", ".joblib", ".joblib.gz"])  # .gz: joblib compresses it
def test_scores_equal_a_scikit_learn_pipelines_over_http_for_10000_rows(
    app: Flask, tmp_path: Path, suffix: str
) -> None:
    pipeline = sklearn_pipeline(*generated(3000, 1), *every_step())
    result = import_model(app, tmp_path, saved(pipeline, tmp_path / f"pipeline{suffix}"))
    assert result.exit_code == 0 and "a logistic regression from scikit-learn" in result.output, result.output
    rows, _ = generated(10_000, 2)
    expected = pipeline.predict_proba(pd.DataFrame(rows, columns=NAMES))[:, 1]
    client = create_app({"MODEL_PATH": str(tmp_path / "imported.json")}).test_client()
    answer = client.post("/", json=[dict(zip(NAMES, row, strict=True)) for row in rows])
    scores = [p["score"] for p in answer.get_json()["predictions"]]
    assert len(scores) == 10_000
    assert max(abs(s - float(e)) for s, e in zip(scores, expected, strict=True)) <= 1e-9
    explained = client.post("/v1/predictions?explain=true", json=[dict(zip(NAMES, rows[0], strict=True))])
    item, baseline = explained.get_json()["predictions"][0], client.get("/v1/model").get_json()["baseline"]
    log_odds = np.log(expected[0] / (1 - expected[0]))
    assert baseline + sum(item["contributions"].values()) == pytest.approx(float(log_odds), abs=1e-9)


def other_sklearn(kind: str) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    rows, labels = generated(400, 4)
    encoder = ("sites", OneHotEncoder(), ["site", "grade"])
    numbers = ["load", "heat", "shake"]
    if kind == "neighbours":
        return sklearn_pipeline(rows, labels, encoder, ("n", "passthrough", numbers), model=KNeighborsClassifier())
    if kind == "indicator":
        imputed = ("n", SimpleImputer(add_indicator=True), numbers)
        return sklearn_pipeline(rows, labels, encoder, imputed, model=GradientBoostingClassifier(n_estimators=3))
    if kind == "missing":
        imputed = ("n", SimpleImputer(missing_values=0.0), numbers)
        return sklearn_pipeline(rows, labels, encoder, imputed, model=GradientBoostingClassifier(n_estimators=3))
    if kind == "weights":
        pipeline = sklearn_pipeline(rows, labels, encoder, ("n", "passthrough", numbers))
        pipeline[0].transformer_weights = {"n": -1.0}
        return pipeline.fit(pd.DataFrame(rows, columns=NAMES), labels)
    if kind == "exponential":
        model = GradientBoostingClassifier(loss="exponential", n_estimators=3)
        return sklearn_pipeline(rows, labels, encoder, ("n", "passthrough", numbers), model=model)
    if kind == "function":
        return sklearn_pipeline(rows, labels, encoder, ("n", FunctionTransformer(np.negative), numbers))
    if kind == "classes":
        return sklearn_pipeline(rows, [i % 3 for i in range(400)], encoder, ("n", "passthrough", numbers))
    kept = [(row, label) for row, label in zip(rows, labels, strict=True) if row[0] != "west"]
    return sklearn_pipeline([r for r, _ in kept], [y for _, y in kept], encoder, ("n", "passthrough", numbers))


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("neighbours", "KNeighborsClassifier: only LogisticRegression, DecisionTreeClassifier"),
        ("exponential", "loss exponential: only log_loss"),
        ("indicator", "a SimpleImputer that adds indicators or treats a value as missing cannot be imported"),
        ("missing", "a SimpleImputer that adds indicators or treats a value as missing cannot be imported"),
        ("weights", "a ColumnTransformer with transformer_weights cannot be imported"),
        ("function", "transformer FunctionTransformer with a function cannot be imported"),
        ("classes", "several classes"),
        ("unseen", "category 'west' is not one the model was trained on"),
    ],
)
def test_other_scikit_learn_models_are_refused_naming_the_part(
    app: Flask, tmp_path: Path, kind: str, named: str
) -> None:
    # A joblib file reaches these checks whatever it holds; a skops file holding a type of its own is refused
    # before it is loaded (below).
    result = import_model(app, tmp_path, saved(other_sklearn(kind), tmp_path / "other.joblib"))
    assert result.exit_code == 1 and named in result.output, result.output
    assert not (tmp_path / "imported.json").exists()


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("neighbours", "sklearn.neighbors._classification.KNeighborsClassifier, sklearn.neighbors._kd_tree.KDTree, "),
        ("exponential", "sklearn._loss.loss.ExponentialLoss, which are not"),
        ("indicator", "sklearn.impute._base.MissingIndicator, which is not"),
        ("function", "numpy.negative, which is not"),
    ],
)
def test_a_skops_file_holding_a_type_the_importer_does_not_read_is_refused_by_name(
    app: Flask, tmp_path: Path, kind: str, named: str
) -> None:
    result = import_model(app, tmp_path, saved(other_sklearn(kind), tmp_path / "other.skops"))
    assert result.exit_code == 1 and named in result.output, result.output
    assert not (tmp_path / "imported.json").exists()


@pytest.mark.parametrize(("suffix", "named"), [(".skops", "skops cannot read"), (".joblib", "joblib cannot read")])
def test_a_truncated_scikit_learn_file_is_refused(app: Flask, tmp_path: Path, suffix: str, named: str) -> None:
    path = saved(sklearn_pipeline(*generated(300, 1), *every_step()), tmp_path / f"pipeline{suffix}")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = import_model(app, tmp_path, path)
    assert result.exit_code == 1 and named in result.output, result.output
    assert not (tmp_path / "imported.json").exists()


def test_a_scikit_learn_model_scoring_the_other_class_is_refused(app: Flask, tmp_path: Path) -> None:
    rows, labels = generated(300, 1)
    named = ["failure" if label else "ok" for label in labels]  # classes_ sort as failure, ok: it scores "ok"
    path = saved(sklearn_pipeline(rows, named, *every_step()), tmp_path / "pipeline.skops")
    result = import_model(app, tmp_path, path, "--positive", "failure")
    assert result.exit_code == 1 and "scores its class 'ok'" in result.output, result.output
    assert import_model(app, tmp_path, path, "--positive", "ok").exit_code == 0


# scikit-learn's tree models, after the same pipeline or reading the fields themselves.


def sklearn_trees(kind: str) -> Any:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import DecisionTreeClassifier

    rows, labels = generated(3000, 1)
    if kind == "hist-native":  # HistGradientBoosting's own categories, from the DataFrame's category columns
        table = frame(rows)
        return HistGradientBoostingClassifier(max_iter=40, categorical_features="from_dtype").fit(table, labels)
    model = {
        "tree": DecisionTreeClassifier(max_depth=8, random_state=1),
        "forest": RandomForestClassifier(30, max_depth=8, random_state=1),
        "extra-trees": ExtraTreesClassifier(30, max_depth=8, random_state=1),
        "boosting": GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=1),
        # The ordinal grade column (the pipeline's fourth) as a native category: a bitset of codes at its nodes.
        "hist": HistGradientBoostingClassifier(max_iter=40, categorical_features=[3], random_state=1),
    }[kind]
    return sklearn_pipeline(rows, labels, *every_step(), model=model)


def sklearn_edge_rows(artifact: Path, count: int) -> list[list[Any]]:
    """Rows whose numbers sit on the imported thresholds and one float64 step below them: the last value that
    goes left and the first that goes right, where a rounding scikit-learn makes differently would show."""
    trees = json.loads(artifact.read_text())["model"]["trees"]
    edges: dict[int, set[float]] = {feature: set() for feature in BOUNDS}
    for tree in trees:
        for feature, threshold in zip(tree["feature"], tree["threshold"], strict=True):
            if feature in edges:
                edges[feature] |= {threshold, float(np.nextafter(threshold, -np.inf))}
    return placed(edges, count, 5)


def link_margin(score: float, link: str) -> float:
    return float(np.log(score / (1 - score))) if link == "logistic" else score


@pytest.mark.parametrize("kind", ["tree", "forest", "extra-trees", "boosting", "hist", "hist-native"])
def test_scores_equal_scikit_learn_tree_models_over_http_for_10000_rows(app: Flask, tmp_path: Path, kind: str) -> None:
    model = sklearn_trees(kind)
    result = import_model(app, tmp_path, saved(model, tmp_path / "model.skops"))
    assert result.exit_code == 0 and "from scikit-learn" in result.output, result.output
    rows = sklearn_edge_rows(tmp_path / "imported.json", 10_000)
    expected = model.predict_proba(frame(rows) if kind == "hist-native" else pd.DataFrame(rows, columns=NAMES))[:, 1]
    client = create_app({"MODEL_PATH": str(tmp_path / "imported.json")}).test_client()
    answer = client.post("/", json=[dict(zip(NAMES, row, strict=True)) for row in rows])
    scores = [p["score"] for p in answer.get_json()["predictions"]]
    assert len(scores) == 10_000
    assert max(abs(s - float(e)) for s, e in zip(scores, expected, strict=True)) <= 1e-9
    described = client.get("/v1/model").get_json()
    assert described["link"] == ("identity" if kind in ("tree", "forest", "extra-trees") else "logistic")
    explained = client.post("/v1/predictions?explain=true", json=[dict(zip(NAMES, r, strict=True)) for r in rows[:20]])
    for item in explained.get_json()["predictions"]:
        total = described["baseline"] + sum(item["contributions"].values())
        assert total == pytest.approx(link_margin(item["score"], described["link"]), abs=1e-9)


def shapley_by_columns(model: Any, encoded: list[float]) -> list[float]:
    """Each column's exact Shapley value for a gradient-boosted model, by enumerating every coalition: a known
    column follows the row, an unknown one averages the children by training weight (TreeSHAP's definition)."""
    import itertools
    import math

    def expected(tree: Any, known: frozenset[int], node: int = 0) -> float:
        if tree.children_left[node] == -1:
            return float(tree.value[node, 0, 0])
        left, right, column = tree.children_left[node], tree.children_right[node], tree.feature[node]
        if column in known:
            goes_left = float(np.float32(encoded[column])) <= tree.threshold[node]
            return expected(tree, known, left if goes_left else right)
        weight = tree.weighted_n_node_samples
        shares = weight[left] * expected(tree, known, left) + weight[right] * expected(tree, known, right)
        return float(shares / weight[node])

    def value(known: frozenset[int]) -> float:
        return model.learning_rate * sum(expected(t.tree_, known) for t in model.estimators_[:, 0])

    width = len(encoded)
    phi = [0.0] * width
    for size in range(width):
        weight = math.factorial(size) * math.factorial(width - size - 1) / math.factorial(width)
        for others in itertools.combinations(range(width), size):
            for column in set(range(width)) - set(others):
                known = frozenset(others)
                phi[column] += weight * (value(known | {column}) - value(known))
    return phi


def test_a_one_hot_fields_contribution_is_the_sum_of_its_columns_shapley_values(app: Flask, tmp_path: Path) -> None:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.preprocessing import OneHotEncoder

    rows, labels = generated(2000, 7)
    parts = [("sites", OneHotEncoder(), ["site", "grade"]), ("numbers", "passthrough", ["load", "heat", "shake"])]
    model = GradientBoostingClassifier(n_estimators=6, max_depth=3, random_state=1)
    pipeline = sklearn_pipeline(rows, labels, *parts, model=model)
    assert import_model(app, tmp_path, saved(pipeline, tmp_path / "model.skops")).exit_code == 0
    client = create_app({"MODEL_PATH": str(tmp_path / "imported.json")}).test_client()
    owners = ["site"] * 4 + ["grade"] * 2 + ["load", "heat", "shake"]  # the pipeline's nine columns
    for row in rows[:5]:
        encoded = pipeline[:-1].transform(pd.DataFrame([row], columns=NAMES))
        phi = shapley_by_columns(
            pipeline[-1], np.asarray(encoded.todense() if hasattr(encoded, "todense") else encoded)[0].tolist()
        )
        answer = client.post("/v1/predictions?explain=true", json=[dict(zip(NAMES, row, strict=True))])
        contributions = answer.get_json()["predictions"][0]["contributions"]
        for name in NAMES:
            want = sum(share for owner, share in zip(owners, phi, strict=True) if owner == name)
            assert contributions[name] == pytest.approx(want, abs=1e-9)


def renamed(content: bytes, old: str, new: str) -> bytes:
    """A skops file with every object of type `old` (`module.name`) said to be of type `new`: what a crafted file
    can name."""
    before, after = tuple(old.rsplit(".", 1)), new.rsplit(".", 1)

    def rename(node: Any) -> None:
        if isinstance(node, dict):
            if (node.get("__module__"), node.get("__class__")) == before:
                node["__module__"], node["__class__"] = after
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)

    saved, edited = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(edited, "w") as out:
        for item in saved.infolist():
            data = saved.read(item.filename)
            if item.filename == "schema.json":
                document = json.loads(data)
                rename(document)
                data = json.dumps(document).encode()
            out.writestr(item, data)
    return edited.getvalue()


def skops_with_another_function(kind: str, tmp_path: Path) -> bytes:
    """A fitted HistGradientBoosting saved with skops, its preprocessor's partial(check_array) swapped for a
    scikit-learn function that runs code it is given, or a file that names another library's function as if it
    were defined in scikit-learn."""
    import skops.io
    from sklearn.utils._testing import assert_run_python_script_without_output

    model = sklearn_trees("hist-native")
    wrapped = model._preprocessor.transformers_[1][1]
    if kind == "sklearn function":
        source = f"open({str(tmp_path / 'ran')!r}, 'w').write('ran')"
        wrapped.func = functools.partial(assert_run_python_script_without_output, source)
        return skops.io.dumps(model)
    # subprocess.check_output, which sklearn.utils._testing imports: the file is edited to name it from there
    wrapped.func = functools.partial(subprocess.check_output, ["touch", str(tmp_path / "ran")])
    return renamed(skops.io.dumps(model), "subprocess.check_output", "sklearn.utils._testing.check_output")


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("sklearn function", "sklearn.utils._testing.assert_run_python_script_without_output, which is not"),
        ("named as scikit-learn's", "sklearn.utils._testing.check_output, which is not"),
    ],
)
def test_a_skops_file_holding_a_function_other_than_check_array_is_refused_unloaded(
    app: Flask, tmp_path: Path, kind: str, named: str
) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(skops_with_another_function(kind, tmp_path))
    result = import_model(app, tmp_path, path)
    assert result.exit_code == 1 and named in result.output, result.output
    assert not (tmp_path / "imported.json").exists() and not (tmp_path / "ran").exists()


def test_a_subclass_of_a_model_is_refused(app: Flask, tmp_path: Path) -> None:
    from sklearn.tree import ExtraTreeClassifier  # a DecisionTreeClassifier that splits otherwise

    model = sklearn_pipeline(*generated(300, 1), *every_step(), model=ExtraTreeClassifier(random_state=1))
    result = import_model(app, tmp_path, saved(model, tmp_path / "model.skops"))
    assert result.exit_code == 1 and "ExtraTreeClassifier: only LogisticRegression" in result.output, result.output


def skops_pipeline_naming(name: str) -> bytes:
    """A fitted pipeline saved with skops, its LogisticRegression said to be of type `name`."""
    import skops.io

    pipeline = sklearn_pipeline(*generated(300, 1), *every_step())
    return renamed(skops.io.dumps(pipeline), "sklearn.linear_model._logistic.LogisticRegression", name)


def test_a_skops_file_naming_a_module_that_exits_when_imported_is_refused_with_status_1(tmp_path: Path) -> None:
    # Importing numpy.f2py.__main__ runs f2py's command line, which ends the process with status 0.
    model, schema, out = tmp_path / "model.skops", tmp_path / "schema.json", tmp_path / "imported.json"
    model.write_bytes(skops_pipeline_naming("numpy.f2py.__main__.X"))
    schema.write_text(json.dumps(SCHEMA))
    out.write_text("an earlier artifact\n")
    command = ["import-model", str(model), "--schema", str(schema), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "the file holds numpy.f2py.__main__.X, which is not among" in done.stderr and done.stdout == ""
    assert out.read_text() == "an earlier artifact\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["imported.json", "model.skops", "schema.json"]


def test_a_skops_file_naming_a_type_of_another_module_is_refused_without_importing_it(
    app: Flask, tmp_path: Path
) -> None:
    module = "sklearn.experimental.enable_iterative_imputer"  # importing it adds IterativeImputer to sklearn.impute
    assert module not in sys.modules
    path = tmp_path / "model.skops"
    path.write_bytes(skops_pipeline_naming(f"{module}.IterativeImputer"))
    result = import_model(app, tmp_path, path)
    assert result.exit_code == 1 and f"{module}.IterativeImputer, which is not among" in result.output, result.output
    assert module not in sys.modules
    assert not (tmp_path / "imported.json").exists()


def test_a_pickle_that_exits_when_read_is_refused(app: Flask, tmp_path: Path) -> None:
    import joblib

    class Exits:
        def __reduce__(self) -> tuple[Any, ...]:
            return (sys.exit, (0,))

    path = tmp_path / "model.joblib"
    joblib.dump(Exits(), path)
    (tmp_path / "imported.json").write_text("an earlier artifact\n")
    result = import_model(app, tmp_path, path)
    assert (result.exit_code, result.output) == (1, f"Error: {path}: reading the file failed: SystemExit: 0\n")
    assert (tmp_path / "imported.json").read_text() == "an earlier artifact\n"
