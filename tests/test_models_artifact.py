"""The one artifact format: a bad artifact refused naming its part, numbers that would overflow a margin, and
start-up stopped in one line that names the file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.config import ConfigError
from app.models.artifact import LARGEST_SUM, TREES_FORMAT, ModelFileError, checksum
from app.models.embedded import load_artifact
from tests.conftest import write
from tests.test_config import flask
from tests.test_models_trees import _ensemble as tree_ensemble

ROOT = Path(__file__).resolve().parent.parent


def resigned(artifact: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = {**artifact, **changes}
    changed["checksum"] = checksum(changed)
    return changed


PAST = f"the intercept, weights and slopes times the schema's ranges add up past {LARGEST_SUM:g} here"


def huge_weights(artifact: dict[str, Any], weight: float, *fields: str) -> dict[str, Any]:
    """The categorical weights, these fields' all this weight."""
    categorical = artifact["categorical"]
    return {**categorical, **{field: dict.fromkeys(categorical[field], weight) for field in fields}}


def huge_slope(artifact: dict[str, Any], coef: float, scale: float) -> dict[str, Any]:
    numeric = artifact["numeric"]
    return {**numeric, "humidity": {**numeric["humidity"], "coef": coef, "scale": scale}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: {**a, "intercept": a["intercept"] + 1}, "checksum mismatch"),
        (lambda a: resigned(a, format="pickle"), "format must be"),
        (lambda a: resigned(a, threshold=1.5), "threshold must lie between 0 and 1"),
        (lambda a: resigned(a, intercept="high"), "intercept must be a finite number"),
        (
            lambda a: resigned(a, categorical={**a["categorical"], "turbine_type": {"HAWT": 0.1}}),
            "turbine_type must weigh",
        ),
        (
            lambda a: resigned(a, numeric={**a["numeric"], "humidity": {"mean": 1, "scale": 0, "coef": 1}}),
            "scale must be positive",
        ),
        (lambda a: resigned(a, intercept=2e300), f"intercept: {PAST}"),
        (
            lambda a: resigned(a, categorical=huge_weights(a, 1.5e308, "turbine_type")),
            f"categorical.turbine_type: {PAST}",
        ),
        # Each weight within the limit, a reading's two (turbine_type, then wind_direction, in field order) past it.
        (
            lambda a: resigned(a, categorical=huge_weights(a, 6e299, "turbine_type", "wind_direction")),
            "categorical.wind_direction: ",
        ),
        (lambda a: resigned(a, numeric=huge_slope(a, 1e308, 1e-5)), f"numeric.humidity: {PAST}"),
        # A slope of 1e298 takes humidity's largest value past the limit.
        (lambda a: resigned(a, numeric=huge_slope(a, 1e298, 1.0)), f"numeric.humidity: {PAST}"),
        (lambda a: [a], "must be a JSON object"),
        (lambda a: resigned(a, schema={"fields": []}), "non-empty fields list"),
        (lambda a: resigned({k: v for k, v in a.items() if k != "distribution"}), "missing distribution"),
        (lambda a: resigned(a, name=".."), "name '..' names no folder of its own: it needs a character other than"),
        (lambda a: resigned(a, version="."), "version '.' names no folder of its own"),
        (lambda a: resigned(a, name=""), "name '' names no folder of its own"),
        (lambda a: resigned(a, version=2), "version must be a string"),
    ],
)
def test_bad_artifacts_are_refused(
    trained: tuple[dict[str, Any], Any], tmp_path: Path, change: Any, message: str
) -> None:
    path = write(tmp_path, change(trained[0]))
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load_artifact(path)


def test_unreadable_artifacts_fail_app_start_up_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"MODEL_PATH: .*broken\.json is not valid JSON"):
        create_app({"MODEL_PATH": str(tmp_path / "broken.json")})
    with pytest.raises(ConfigError, match=r"MODEL_PATH: cannot read model file .*missing\.json: No such file"):
        create_app({"MODEL_PATH": str(tmp_path / "missing.json")})


def test_a_model_named_dots_stops_start_up_in_one_line(trained: tuple[dict[str, Any], Any], tmp_path: Path) -> None:
    path = write(tmp_path, resigned(trained[0], name=".."))
    command = [sys.executable, "-m", "flask", "--app", "app", "routes"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "MODEL_PATH": str(path)}, check=False
    )
    line = f"error: MODEL_PATH: model file {path} is invalid: name '..' names no folder of its own: it needs a "
    assert done.returncode == 2 and done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr


def huge_leaves() -> dict[str, Any]:
    """A tree ensemble two of whose leaves are 1e308: their sum passes the largest float."""
    model = tree_ensemble()
    model["trees"][0].update(value=[0.0, 1e308, 0.0, 1e308, 0.5], cover=[1.0] * 5)
    return model


def as_trees(artifact: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """A tree ensemble's artifact with the same schema and description as this linear one."""
    kept = {key: value for key, value in artifact.items() if key not in ("intercept", "categorical", "numeric")}
    return resigned(kept, format=TREES_FORMAT, model=model)


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda a: resigned(a, categorical=huge_weights(a, 1.5e308, "turbine_type")),
            f"categorical.turbine_type: {PAST}",
        ),
        (lambda a: as_trees(a, huge_leaves()), "model.trees[0]: the base score and each tree's largest value"),
    ],
)
def test_numbers_that_would_overflow_stop_start_up_in_one_line(
    trained: tuple[dict[str, Any], Any], tmp_path: Path, change: Any, line: str
) -> None:
    path = write(tmp_path, change(trained[0]))
    done = flask("routes", MODEL_PATH=str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: MODEL_PATH: model file {path} is invalid: {line}"), done.stderr
    assert done.stderr.count("\n") == 1
