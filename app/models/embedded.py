"""A model served from its artifact: the runtime's margins made scores and labels, and what /v1/model says of it;
no training library at serving time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.prediction import Predictions, Task
from app.models.artifact import ModelFileError, invalid, read, validate
from app.models.runtimes import scorer
from app.schema import Reading


def _probability(z: float) -> float:
    """The logistic function, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class EmbeddedModel:
    """Scores readings with the artifact's model, for whatever fields its schema names; no training library at
    serving time."""

    name = "embedded"

    def __init__(self, artifact: dict[str, Any], native: bool = False) -> None:
        """`native`: a tree ensemble's margins come from onnxruntime (app.models.runtimes.native), which raises
        ImportError when it is not installed; a linear model has nothing to gain and stays as it is."""
        self.artifact = artifact
        self.schema = validate(artifact)
        self.model = scorer(artifact, self.schema, native)
        self.threshold: float = artifact["threshold"]
        self.task = Task()

    @classmethod
    def from_file(cls, path: str | Path, native: bool = False) -> EmbeddedModel:
        """The model of an artifact file, read and validated once; raises ModelFileError naming the file."""
        artifact = read(path)
        try:
            return cls(artifact, native)
        except ModelFileError as problem:
            raise invalid(path, problem) from None

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


def load_artifact(path: str | Path) -> dict[str, Any]:
    """Read a model artifact and check all of it, its model's part by the runtime that would score it; raises
    ModelFileError naming the file."""
    return EmbeddedModel.from_file(path).artifact
