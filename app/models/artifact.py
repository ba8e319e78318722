"""The one artifact format: a model's JSON file with its schema, task, description and checksum, read, verified and
validated here for serving, training, importing and monitoring. What scores its model is a runtime, found by the
artifact's format (app.models.runtimes)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from app.config import DEFAULT_MODEL_PATH as DEFAULT_MODEL_PATH
from app.core.fields import Schema
from app.core.prediction import BINARY, MAINTENANCE, MULTICLASS, REGRESSION, Task
from app.core.schemas import SchemaError, schema_from_dict

FORMAT = "turbine-status-logistic/2"
# Tree ensembles: /1 scores one output and no gaps; /2, which import-model writes, adds outputs and gaps
# (app.models.runtimes.trees).
TREES_FORMAT = "turbine-status-trees/2"
TREES_FORMATS = ("turbine-status-trees/1", TREES_FORMAT)
LINEAR_FORMAT = "turbine-status-linear/1"  # a linear model of any task, with gaps
FORMATS = (FORMAT, LINEAR_FORMAT, *TREES_FORMATS)
TASKS = (BINARY, MULTICLASS, REGRESSION)
# The most a model's numbers may add up to in a margin: far enough below the largest float (1.8e308) that the sums
# made scoring and explaining, over as many as millions of leaves, stay finite.
LARGEST_SUM = 1e300


class ModelFileError(ValueError):
    """The model artifact cannot be used; the message says why."""


def checksum(artifact: dict[str, Any]) -> str:
    """SHA-256 of the artifact's canonical JSON, without its own checksum field: keys sorted, no spaces. A tree
    ensemble's canonical JSON is orjson's, which writes its many thousand numbers in a few milliseconds."""
    body = {k: v for k, v in artifact.items() if k != "checksum"}
    if artifact.get("format") in TREES_FORMATS:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    else:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ModelFileError(f"{where} must be a finite number")
    return float(value)


def check_name(value: Any, what: str) -> str:
    """`value` as a model's name or version; raises ModelFileError unless it is a string with a character other
    than '.'. Capture files records in folders named after both (any character but a letter, digit, '.', '_' or
    '-' made '-'), and '', '.' and '..' name no folder of their own."""
    if not isinstance(value, str):
        raise ModelFileError(f"{what} must be a string")
    if not value.strip("."):  # the folder's cleaning keeps dots, and makes nothing else one
        raise ModelFileError(f"{what} {value!r} names no folder of its own: it needs a character other than '.'")
    return value


def past_largest_sum(parts: Iterable[tuple[str, float]]) -> str | None:
    """The first part whose magnitude takes the running sum of the parts' past LARGEST_SUM (or to NaN), if any."""
    total = 0.0
    for part, magnitude in parts:
        total += magnitude
        if not total <= LARGEST_SUM:
            return part
    return None


def validate(artifact: Any) -> tuple[Schema, Task]:
    """The artifact's schema and task, once everything but its model's own part is checked; raises ModelFileError
    unless the artifact is of a format a runtime reads."""
    if not isinstance(artifact, dict):
        raise ModelFileError("the artifact must be a JSON object")
    kind = artifact.get("format")
    if kind not in FORMATS:
        raise ModelFileError(f"format must be {' or '.join(map(repr, FORMATS))}, found {kind!r}")
    if artifact.get("checksum") != checksum(artifact):
        raise ModelFileError("checksum mismatch: the file was changed after it was exported")
    try:
        schema = schema_from_dict(artifact.get("schema"), "schema")
    except SchemaError as problem:
        raise ModelFileError(str(problem)) from None
    described = ("name", "version", "label", "metrics", "training", "distribution")
    missing = [key for key in described if key not in artifact]
    if missing:
        raise ModelFileError(f"missing {', '.join(missing)}")
    check_name(artifact["name"], "name")
    check_name(artifact["version"], "version")
    task = task_of(artifact.get("task"))
    if task.kind == BINARY:
        threshold = finite(artifact.get("threshold"), "threshold")
        if not 0 < threshold < 1:
            raise ModelFileError("threshold must lie between 0 and 1")
    return schema, task


def task_of(spec: Any) -> Task:
    """The task an artifact's "task" section states; none is the binary task of artifacts made before tasks had a
    section. Raises ModelFileError."""
    if spec is None:
        return Task(BINARY, MAINTENANCE)
    if not isinstance(spec, dict) or set(spec) - {"kind", "classes", "target", "unit"}:
        raise ModelFileError("task must be an object of kind, classes, target and unit")
    kind, classes = spec.get("kind"), spec.get("classes", [])
    if kind not in TASKS:
        raise ModelFileError(f"task.kind must be one of {', '.join(TASKS)}")
    if (
        not isinstance(classes, list)
        or not all(isinstance(c, str) and c for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise ModelFileError("task.classes must list distinct class names")
    wanted = {BINARY: "exactly 2", MULTICLASS: "at least 3", REGRESSION: "no"}[kind]
    if not (len(classes) == 2 if kind == BINARY else len(classes) >= 3 if kind == MULTICLASS else not classes):
        raise ModelFileError(f"task.classes: a {kind} model has {wanted} classes, found {len(classes)}")
    texts = {key: spec.get(key, "") for key in ("target", "unit")}
    if not all(isinstance(text, str) for text in texts.values()):
        raise ModelFileError("task.target and task.unit must be text")
    return Task(kind, tuple(classes), texts["target"], texts["unit"])


def read(path: str | Path) -> Any:
    try:
        return orjson.loads(Path(path).read_bytes())
    except OSError as problem:
        raise ModelFileError(f"cannot read model file {path}: {problem.strerror}") from None
    except ValueError as problem:
        raise ModelFileError(f"model file {path} is not valid JSON: {problem}") from None


def invalid(path: str | Path, problem: ModelFileError) -> ModelFileError:
    return ModelFileError(f"model file {path} is invalid: {problem}")
