"""The embedded model, read from a plain-JSON artifact and scored in pure Python: a logistic regression, or a tree
ensemble (app.backends.trees, imported only for such an artifact)."""

from __future__ import annotations

import hashlib
import json
import math
import operator
from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol

import orjson

from app.backends import Predictions
from app.config import DEFAULT_MODEL_PATH as DEFAULT_MODEL_PATH
from app.schema import Reading, Readings, Schema, SchemaError, schema_from_dict

FORMAT = "turbine-status-logistic/2"
TREES_FORMAT = "turbine-status-trees/1"  # scored by app.backends.trees, imported only for such a file
# The most a model's numbers may add up to in a margin: far enough below the largest float (1.8e308) that the sums
# made scoring and explaining, over as many as millions of leaves, stay finite.
LARGEST_SUM = 1e300


class ModelFileError(ValueError):
    """The model artifact cannot be used; the message says why."""


def checksum(artifact: dict[str, Any]) -> str:
    """SHA-256 of the artifact's canonical JSON, without its own checksum field: keys sorted, no spaces. A tree
    ensemble's canonical JSON is orjson's, which writes its many thousand numbers in a few milliseconds."""
    body = {k: v for k, v in artifact.items() if k != "checksum"}
    if artifact.get("format") == TREES_FORMAT:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    else:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def _finite(value: Any, where: str) -> float:
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


def _validate(artifact: Any) -> tuple[Schema, Model]:
    """The artifact's schema and model; raises ModelFileError unless the artifact matches one of this code's
    formats."""
    if not isinstance(artifact, dict):
        raise ModelFileError("the artifact must be a JSON object")
    kind = artifact.get("format")
    if kind not in (FORMAT, TREES_FORMAT):
        raise ModelFileError(f"format must be {FORMAT!r} or {TREES_FORMAT!r}, found {kind!r}")
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
    threshold = _finite(artifact.get("threshold"), "threshold")
    if not 0 < threshold < 1:
        raise ModelFileError("threshold must lie between 0 and 1")
    if kind == FORMAT:
        return schema, LinearModel(artifact, schema)
    from app.backends.trees import TreeEnsemble, TreeFileError

    try:
        return schema, TreeEnsemble(artifact.get("model"), schema)
    except TreeFileError as problem:
        raise ModelFileError(str(problem)) from None


class Model(Protocol):
    """What the embedded backend scores with: a margin per row, and each field's share of one row's. The link
    turns a margin into the score: "logistic" (the margin is the log-odds) or "identity" (it is the score)."""

    link: str
    baseline: float  # the margin with no field known; with a row's contributions it sums to the row's

    def margins(self, rows: Sequence[Reading]) -> list[float]: ...

    def contributions(self, row: Reading) -> dict[str, float]: ...

    def describe(self) -> dict[str, Any]: ...


class LinearModel:
    """The logistic regression `flask train` fits: a weight per category, a standardised slope per number."""

    link = "logistic"

    def __init__(self, artifact: dict[str, Any], schema: Schema) -> None:
        categorical, numeric = artifact.get("categorical"), artifact.get("numeric")
        if not isinstance(categorical, dict) or not isinstance(numeric, dict):
            raise ModelFileError("categorical and numeric must be objects")
        for field in schema.fields:
            if field.categories:
                weights = categorical.get(field.name)
                if not isinstance(weights, dict) or sorted(weights) != sorted(field.categories):
                    raise ModelFileError(f"categorical.{field.name} must weigh exactly {', '.join(field.categories)}")
                for category, weight in weights.items():
                    _finite(weight, f"categorical.{field.name}.{category}")
            else:
                spec = numeric.get(field.name)
                if not isinstance(spec, dict):
                    raise ModelFileError(f"numeric.{field.name} is missing")
                for key in ("mean", "scale", "coef"):
                    _finite(spec.get(key), f"numeric.{field.name}.{key}")
                if spec["scale"] <= 0:
                    raise ModelFileError(f"numeric.{field.name}.scale must be positive")
        self.intercept = _finite(artifact.get("intercept"), "intercept")
        # A margin adds the intercept, a weight per category and a slope times each number, within its range.
        reach = [("intercept", abs(self.intercept))]
        for field in schema.fields:
            if field.categories:
                reach.append((f"categorical.{field.name}", max(map(abs, categorical[field.name].values()))))
            else:
                spec = numeric[field.name]
                farthest = max(abs(field.minimum), abs(field.maximum)) + abs(spec["mean"])
                reach.append((f"numeric.{field.name}", abs(spec["coef"] / spec["scale"]) * farthest))
        past = past_largest_sum(reach)
        if past is not None:
            raise ModelFileError(
                f"{past}: the intercept, weights and slopes times the schema's ranges add up past {LARGEST_SUM:g} "
                "here, too near the largest float for the sums made scoring and explaining"
            )
        self.names = schema.names
        # coef * (x - mean) / scale == (coef / scale) * x - coef * mean / scale: the constant parts fold into
        # the base. Explanations measure each category against its field's average weight, as numbers are
        # measured against their training mean; the baseline absorbs those averages.
        self._categories: list[tuple[int, str, dict[str, float], float]] = []
        self._numbers: list[tuple[int, str, float, float]] = []
        for position, field in enumerate(schema.fields):
            if field.categories:
                weights = categorical[field.name]
                self._categories.append((position, field.name, weights, math.fsum(weights.values()) / len(weights)))
            else:
                spec = numeric[field.name]
                slope = spec["coef"] / spec["scale"]
                self._numbers.append((position, field.name, slope, slope * spec["mean"]))
        self._base = self.intercept - math.fsum(offset for *_, offset in self._numbers)
        self.baseline = self.intercept + math.fsum(mean for *_, mean in self._categories)

    def margins(self, rows: Sequence[Reading]) -> list[float]:
        """Each row's log-odds: the base, then each category's weight and each number's term, in field order,
        added up row by row."""
        columns = rows.columns if isinstance(rows, Readings) else list(zip(*rows, strict=True))
        terms = [map(weights.__getitem__, columns[position]) for position, _, weights, _ in self._categories]
        terms += [map(operator.mul, repeat(slope), columns[position]) for position, _, slope, _ in self._numbers]
        return list(map(sum, zip(repeat(self._base), *terms)))

    def contributions(self, row: Reading) -> dict[str, float]:
        """Each field's term in the log-odds, relative to an average reading; with the baseline they sum to it."""
        terms = {name: weights[row[position]] - mean for position, name, weights, mean in self._categories}
        terms.update((name, slope * row[position] - offset) for position, name, slope, offset in self._numbers)
        return {name: terms[name] for name in self.names}

    def describe(self) -> dict[str, Any]:
        return {"kind": "linear", "link": self.link, "intercept": self.intercept}


def _read(path: str | Path) -> Any:
    try:
        return orjson.loads(Path(path).read_bytes())
    except OSError as problem:
        raise ModelFileError(f"cannot read model file {path}: {problem.strerror}") from None
    except ValueError as problem:
        raise ModelFileError(f"model file {path} is not valid JSON: {problem}") from None


def load_artifact(path: str | Path) -> dict[str, Any]:
    """Read and validate a model artifact, building no backend; raises ModelFileError naming the file."""
    artifact = _read(path)
    try:
        _validate(artifact)
    except ModelFileError as problem:
        raise _invalid(path, problem) from None
    return artifact  # type: ignore[no-any-return]


def _invalid(path: str | Path, problem: ModelFileError) -> ModelFileError:
    return ModelFileError(f"model file {path} is invalid: {problem}")


def _probability(z: float) -> float:
    """The logistic function, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class EmbeddedBackend:
    """Scores readings with the artifact's model, for whatever fields its schema names; no training library at
    serving time."""

    name = "embedded"

    def __init__(self, artifact: dict[str, Any], native: bool = False) -> None:
        """`native`: a tree ensemble's margins come from onnxruntime (app.backends.native), which raises
        ImportError when it is not installed; a linear model has nothing to gain and stays as it is."""
        self.artifact = artifact
        self.schema, self.model = _validate(artifact)
        self.threshold: float = artifact["threshold"]
        if native and artifact["format"] == TREES_FORMAT:
            from app.backends.native import NativeTrees
            from app.backends.trees import TreeEnsemble

            assert isinstance(self.model, TreeEnsemble)
            self.model = NativeTrees(self.model, self.schema)

    @classmethod
    def from_file(cls, path: str | Path, native: bool = False) -> EmbeddedBackend:
        """The backend for an artifact file, read and validated once; raises ModelFileError naming the file."""
        artifact = _read(path)
        try:
            return cls(artifact, native)
        except ModelFileError as problem:
            raise _invalid(path, problem) from None

    def predict(self, rows: Sequence[Reading], explain: bool = False, inference_id: str | None = None) -> Predictions:
        margins = self.model.margins(rows)
        if self.model.link == "logistic":
            scores = list(map(_probability, margins))
        else:  # a forest's mean of leaf shares, kept a probability when its sum rounds past 0 or 1
            scores = [min(1.0, max(0.0, margin)) for margin in margins]
        threshold = self.threshold
        labels = [1 if score >= threshold else 0 for score in scores]
        return Predictions(scores, labels, list(map(self.model.contributions, rows)) if explain else None)

    def describe(self) -> dict[str, Any]:
        a = self.artifact
        return {
            "backend": self.name,
            "name": a["name"],
            "version": a["version"],
            "threshold": self.threshold,
            **self.model.describe(),
            "baseline": self.model.baseline,
            "label": a["label"],
            "metrics": a["metrics"],
            "training": a["training"],
            "distribution": a["distribution"],
            "checksum": a["checksum"],
        }
