"""Data generation and training through the flask CLI, including the original data's raw CSV format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from app.backends.embedded import EmbeddedBackend, load_artifact
from app.schema import FIELD_NAMES, TURBINE
from app.training import DATA_COLUMNS, generate_dataset, main
from tests.conftest import SAMPLE


def test_generator_is_reproducible_and_follows_the_schema() -> None:
    first, second = generate_dataset(500, seed=1), generate_dataset(500, seed=1)
    assert first == second
    assert first != generate_dataset(500, seed=2)
    for row in first:
        TURBINE.parse_text_values([str(row[n]) for n in FIELD_NAMES], 1)
    assert 0.05 < sum(r["breakdown"] == "yes" for r in first) / 500 < 0.4


def test_generate_then_train_through_the_flask_cli(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    data, out = tmp_path / "data.csv", tmp_path / "model.json"
    result = runner.invoke(args=["generate-data", "--out", str(data), "--rows", "3000", "--seed", "5"])
    assert result.exit_code == 0, result.output
    with data.open() as f:
        assert tuple(next(csv.reader(f))) == DATA_COLUMNS
    result = runner.invoke(args=["train", "--data", str(data), "--out", str(out), "--version", "cli"])
    assert result.exit_code == 0, result.output
    assert "ROC AUC" in result.output and "on 600 held-out rows" in result.output
    artifact = load_artifact(out)
    assert artifact["version"] == "cli" and artifact["training"]["rows"] == 2400
    assert EmbeddedBackend(artifact).predict([TURBINE.parse_text_values(SAMPLE.split(","), 1)]).labels == [1]


def test_raw_original_format_fills_its_documented_gaps(app: Flask, tmp_path: Path) -> None:
    rows = generate_dataset(1000, seed=8)
    rows[0]["turbine_type"] = ""
    rows[1]["oil_temperature"] = ""
    data = tmp_path / "raw.csv"
    with data.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=DATA_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    result = app.test_cli_runner().invoke(args=["train", "--data", str(data), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["training"]["source"] == "raw.csv"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("breakdown", "maybe", "line 3: breakdown must be yes or no"),
        ("wind_speed", "fast", "line 3: wind_speed: 'fast'"),
    ],
)
def test_bad_training_rows_are_named(tmp_path: Path, column: str, value: str, message: str) -> None:
    rows = generate_dataset(20, seed=8)
    rows[1][column] = value
    data = tmp_path / "bad.csv"
    with data.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=DATA_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "m.json").exists()
