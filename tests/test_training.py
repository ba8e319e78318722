"""Training on CSV files of any shape through the flask CLI, and serving what it makes with MODEL_PATH."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from app import create_app
from app.core.schemas import read_sample
from app.models.embedded import EmbeddedModel, load_artifact
from app.training.commands import main
from app.training.data import generate_dataset
from tests.conftest import SAMPLE, small_files

ROOT = Path(__file__).resolve().parent.parent
AI4I_SAMPLE = "L, 298.4, 308.2, 1582, 70.7, 216"


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def train(*args: str) -> Any:
    return CliRunner().invoke(main, ["train", *args])


def test_generate_then_train_through_the_flask_cli(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    data, out = tmp_path / "data.csv", tmp_path / "model.json"
    result = runner.invoke(args=["generate-data", "--out", str(data), "--rows", "3000", "--seed", "5"])
    assert result.exit_code == 0, result.output
    schema = "app/model/turbine-schema.json"
    result = runner.invoke(args=["train", "--data", str(data), "--schema", schema, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "used 3000 rows" in result.output and "on 600 held-out rows" in result.output
    artifact = load_artifact(out)
    assert artifact["training"]["rows"] == 2400 and artifact["schema"]["sample"] == SAMPLE
    backend = EmbeddedModel(artifact)
    assert backend.predict([read_sample(backend.schema)[0]]).labels == [1]


def test_serving_imports_no_training_module_until_a_command_runs() -> None:
    code = "import sys; from app import create_app; create_app(); print(sorted(m for m in sys.modules if "
    code += "m.startswith('app.training.') or m.split('.')[0] in ('sklearn', 'numpy')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['app.training.commands']"


def test_without_scikit_learn_training_names_the_install_line(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now fails as if it were not installed
    data = write_csv(tmp_path / "data.csv", [["x", "label"], [1, "yes"]])
    result = app.test_cli_runner().invoke(args=["train", "--data", str(data), "--out", str(tmp_path / "m.json")])
    assert (result.exit_code, result.output) == (
        1,
        "Error: training needs scikit-learn, which is not installed: pip install -r requirements-train.txt\n",
    )
    assert not (tmp_path / "m.json").exists()


def test_any_header_becomes_fields_typed_from_their_values(tmp_path: Path) -> None:
    rows = [["Air temperature [K]", "Grade", "ID", "Failed"]]
    rows += [[str(290 + n % 20), "ABC"[n % 3], f"id{n}", "TRUE" if n % 4 == 0 else "false"] for n in range(200)]
    out = tmp_path / "m.json"
    result = train(
        "--data",
        str(write_csv(tmp_path / "d.csv", rows)),
        "--label",
        "Failed",
        "--features",
        "Grade,Air temperature [K]",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "used 200 rows (50 true, 150 false)" in result.output
    artifact = load_artifact(out)
    grade, air = artifact["schema"]["fields"]
    assert grade == {
        "name": "grade",
        "label": "Grade",
        "type": "category",
        "unit": "",
        "description": "",
        "categories": ["A", "B", "C"],
    }
    assert (air["name"], air["label"], air["unit"]) == ("air_temperature_k", "Air temperature [K]", "K")
    assert (air["minimum"], air["maximum"]) == pytest.approx((290 - 1.9, 309 + 1.9))
    assert artifact["label"] == {"column": "Failed", "positive": "true", "negative": "false"}
    assert artifact["training"]["used_rows_per_class"] == {"positive": 50, "negative": 150}
    assert set(artifact["distribution"]["grade"]["shares"]) == {"A", "B", "C"}
    assert artifact["distribution"]["air_temperature_k"]["median"] == pytest.approx(299.5, abs=1)


def test_positive_names_the_class_to_detect(tmp_path: Path) -> None:
    rows = [["x", "state"], *([[str(n), "worn" if n % 3 else "ok"] for n in range(60)])]
    out = tmp_path / "m.json"
    result = train(
        "--data", str(write_csv(tmp_path / "d.csv", rows)), "--label", "state", "--positive", "ok", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert load_artifact(out)["label"]["positive"] == "ok"


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ([["a", "y"], ["1", "yes", "extra"]], [], "line 2: 3 values for the 2 columns of the header"),
        ([["a", "y"], ["1", "yes"]], ["--label", "z"], "line 1: no label column 'z'; the header has a, y"),
    ],
)
def test_bad_training_data_stops_with_the_file_and_the_problem(
    tmp_path: Path, rows: list[list[str]], args: list[str], message: str
) -> None:
    data = write_csv(tmp_path / "bad.csv", rows)
    out = tmp_path / "m.json"
    result = train("--data", str(data), "--label", "y", *args, "--out", str(out))
    assert (result.exit_code, result.output) == (1, f"Error: {data}: {message}\n")
    assert not out.exists()


def test_an_artifact_that_cannot_be_written_whole_leaves_the_earlier_one(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", [["x", "y"], *([[str(n), "yes" if n % 3 else "no"] for n in range(60)])])
    out = tmp_path / "m.json"
    out.write_text("an earlier artifact\n")
    command = [sys.executable, "-m", "app.training", "train", "--data", str(data), "--label", "y", "--out", str(out)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, preexec_fn=small_files
    )
    assert (done.returncode, done.stderr) == (1, f"Error: cannot write {out}: File too large\n"), done.stderr
    assert out.read_text() == "an earlier artifact\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d.csv", "m.json"]
    assert train("--data", str(data), "--label", "y", "--out", str(out)).exit_code == 0
    assert load_artifact(out)["training"]["source"] == "d.csv"


@pytest.mark.parametrize(
    ("file", "args", "refusal"),
    [
        ("d.csv", ["--name", ".."], "--name '..'"),
        ("d.csv", ["--version", "."], "--version '.'"),
        ("d.csv", ["--name", ""], "--name ''"),
        ("..csv", [], "--name '.'"),  # the default: the data file's name without its suffix
    ],
)
def test_a_name_or_version_of_dots_alone_is_refused(tmp_path: Path, file: str, args: list[str], refusal: str) -> None:
    data = write_csv(tmp_path / file, [["x", "y"], *([[str(n), "yes" if n % 3 else "no"] for n in range(60)])])
    out = tmp_path / "m.json"
    out.write_text("an earlier artifact\n")
    result = train("--data", str(data), "--label", "y", "--out", str(out), *args)
    expected = f"Error: {refusal} names no folder of its own: it needs a character other than '.'\n"
    assert (result.exit_code, result.output) == (1, expected)
    assert out.read_text() == "an earlier artifact\n"


def test_a_value_outside_the_given_schema_is_named(tmp_path: Path) -> None:
    rows = generate_dataset(200, seed=3)
    rows[9]["wind_speed"] = 400
    data = tmp_path / "d.csv"
    with data.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = train("--data", str(data), "--schema", "app/model/turbine-schema.json", "--out", str(tmp_path / "m"))
    assert result.exit_code == 1
    assert "line 11, field wind_speed: '400' is out of range" in result.output


def test_a_second_shape_is_served_with_model_path_alone(ai4i_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PATH", str(ai4i_model))
    client = create_app().test_client()
    answer = client.post("/", data=AI4I_SAMPLE, content_type="text/csv")
    assert answer.status_code == 200
    [prediction] = answer.get_json()["predictions"]
    assert 0 <= prediction["score"] <= 1 and prediction["predicted_label"] in (0, 1)

    bad = client.post("/", data=AI4I_SAMPLE.replace("L,", "X,"), content_type="text/csv").get_json()
    assert bad["details"] == [{"row": 1, "field": "type", "message": "'X' is not one of L, M, H"}]
    turbine = client.post("/", data=SAMPLE, content_type="text/csv").get_json()
    assert turbine["details"][0]["message"].startswith("expected 6 values (type,air_temperature_k,")

    names = ["type", "air_temperature_k", "process_temperature_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min"]
    model = client.get("/v1/model").get_json()
    assert [f["name"] for f in model["schema"]["fields"]] == names and model["sample"] == "L,298.4,308.2,1582,70.7,216"
    document = client.get("/openapi.json").get_json()
    assert list(document["components"]["schemas"]["Reading"]["properties"]) == names
    assert json.loads(ai4i_model.read_text())["label"]["column"] == "Machine failure"
