"""The embedded model: a logistic regression read from a plain-JSON artifact and scored in pure Python."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.backends import Predictions
from app.schema import (
    CATEGORICAL_FIELDS,
    CATEGORICAL_POSITIONS,
    FIELD_NAMES,
    NUMERIC_FIELDS,
    NUMERIC_POSITIONS,
    SCHEMA_VERSION,
    TURBINE,
    Reading,
)

FORMAT = "turbine-status-logistic/1"
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "model" / "model.json"


class ModelFileError(ValueError):
    """The model artifact cannot be used; the message says why."""


def checksum(artifact: dict[str, Any]) -> str:
    """SHA-256 of the artifact's canonical JSON, without its own checksum field."""
    body = {k: v for k, v in artifact.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ModelFileError(f"{where} must be a finite number")
    return float(value)


def _validate(artifact: Any) -> None:
    """Raise ModelFileError unless the artifact matches this code's format and schema."""
    if not isinstance(artifact, dict):
        raise ModelFileError("the artifact must be a JSON object")
    if artifact.get("format") != FORMAT:
        raise ModelFileError(f"format must be {FORMAT!r}, found {artifact.get('format')!r}")
    if artifact.get("schema_version") != SCHEMA_VERSION:
        raise ModelFileError(f"schema_version must be {SCHEMA_VERSION}")
    if artifact.get("checksum") != checksum(artifact):
        raise ModelFileError("checksum mismatch: the file was changed after it was exported")
    categorical, numeric = artifact.get("categorical"), artifact.get("numeric")
    if not isinstance(categorical, dict) or not isinstance(numeric, dict):
        raise ModelFileError("categorical and numeric must be objects")
    for field in CATEGORICAL_FIELDS:
        weights = categorical.get(field.name)
        if not isinstance(weights, dict) or sorted(weights) != sorted(field.categories):
            raise ModelFileError(f"categorical.{field.name} must weigh exactly {', '.join(field.categories)}")
        for category, weight in weights.items():
            _finite(weight, f"categorical.{field.name}.{category}")
    for field in NUMERIC_FIELDS:
        spec = numeric.get(field.name)
        if not isinstance(spec, dict):
            raise ModelFileError(f"numeric.{field.name} is missing")
        for key in ("mean", "scale", "coef"):
            _finite(spec.get(key), f"numeric.{field.name}.{key}")
        if spec["scale"] <= 0:
            raise ModelFileError(f"numeric.{field.name}.scale must be positive")
    _finite(artifact.get("intercept"), "intercept")
    threshold = _finite(artifact.get("threshold"), "threshold")
    if not 0 < threshold < 1:
        raise ModelFileError("threshold must lie between 0 and 1")


def load_artifact(path: str | Path) -> dict[str, Any]:
    """Read and validate a model artifact; raises ModelFileError with a clear message."""
    try:
        artifact = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as problem:
        raise ModelFileError(f"cannot read model file {path}: {problem.strerror}") from None
    except ValueError as problem:
        raise ModelFileError(f"model file {path} is not valid JSON: {problem}") from None
    try:
        _validate(artifact)
    except ModelFileError as problem:
        raise ModelFileError(f"model file {path} is invalid: {problem}") from None
    return artifact  # type: ignore[no-any-return]


def _probability(z: float) -> float:
    """The logistic function, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class EmbeddedBackend:
    """Scores readings with the artifact's coefficients; no scikit-learn at serving time."""

    name = "embedded"

    def __init__(self, artifact: dict[str, Any]) -> None:
        self.artifact = artifact
        self.schema = TURBINE
        self.threshold: float = artifact["threshold"]
        categorical, numeric = artifact["categorical"], artifact["numeric"]
        self._category_weights = [categorical[f.name] for f in CATEGORICAL_FIELDS]
        if CATEGORICAL_POSITIONS != (0, 1, 10) or NUMERIC_POSITIONS != tuple(range(2, 10)):
            raise RuntimeError("log_odds unrolls the schema's field order; update it with the schema")
        # coef * (x - mean) / scale == (coef / scale) * x - coef * mean / scale: fold the constant part.
        specs = [numeric[f.name] for f in NUMERIC_FIELDS]
        self._slopes = [s["coef"] / s["scale"] for s in specs]
        self._offsets = [s["coef"] * s["mean"] / s["scale"] for s in specs]
        self._base = artifact["intercept"] - math.fsum(self._offsets)
        # Explanations measure each category against its field's average weight, as numbers are measured
        # against their training mean; the baseline absorbs those averages so terms still sum to the log-odds.
        self._category_means = [math.fsum(w.values()) / len(w) for w in self._category_weights]
        self.baseline = artifact["intercept"] + math.fsum(self._category_means)

    @classmethod
    def from_file(cls, path: str | Path) -> EmbeddedBackend:
        return cls(load_artifact(path))

    def log_odds(self, rows: Sequence[Reading]) -> list[float]:
        """Each row's log-odds of a breakdown. Unrolled over the fields: measured faster than any loop."""
        a, b, c = self._category_weights
        s0, s1, s2, s3, s4, s5, s6, s7 = self._slopes
        base = self._base
        return [
            base + a[t] + b[k] + c[d] + s0 * x0 + s1 * x1 + s2 * x2 + s3 * x3 + s4 * x4 + s5 * x5 + s6 * x6 + s7 * x7
            for t, k, x0, x1, x2, x3, x4, x5, x6, x7, d in rows
        ]

    def contributions(self, row: Reading) -> dict[str, float]:
        """Each field's term in the log-odds, relative to an average reading; with the baseline they sum to it."""
        terms = {}
        for field, position, weights, mean in zip(
            CATEGORICAL_FIELDS, CATEGORICAL_POSITIONS, self._category_weights, self._category_means, strict=True
        ):
            terms[field.name] = weights[row[position]] - mean
        for field, position, slope, offset in zip(
            NUMERIC_FIELDS, NUMERIC_POSITIONS, self._slopes, self._offsets, strict=True
        ):
            terms[field.name] = slope * row[position] - offset
        return {name: terms[name] for name in FIELD_NAMES}

    def predict(self, rows: Sequence[Reading], explain: bool = False) -> Predictions:
        scores = list(map(_probability, self.log_odds(rows)))
        threshold = self.threshold
        labels = [1 if score >= threshold else 0 for score in scores]
        return Predictions(scores, labels, list(map(self.contributions, rows)) if explain else None)

    def describe(self) -> dict[str, Any]:
        a = self.artifact
        return {
            "backend": self.name,
            "name": a["name"],
            "version": a["version"],
            "threshold": self.threshold,
            "intercept": a["intercept"],
            "baseline": self.baseline,
            "metrics": a["metrics"],
            "training": a["training"],
            "checksum": a["checksum"],
        }
