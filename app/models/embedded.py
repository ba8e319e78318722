"""A model served from its artifact: the runtime's margins made scores and labels, and what /v1/model says of it;
no training library at serving time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.prediction import BINARY, MULTICLASS, REGRESSION, Predictions
from app.core.table import Reading
from app.models.artifact import ModelFileError, invalid, read, validate
from app.models.runtimes import scorer


def _probability(z: float) -> float:
    """The logistic function, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _softmax(margins: list[float]) -> list[float]:
    """Each class's probability from its margin, without overflow: shifted by the largest."""
    top = max(margins)
    powers = [math.exp(m - top) for m in margins]
    total = math.fsum(powers)
    return [p / total for p in powers]


def _shares(means: list[float]) -> list[float]:
    """A forest's mean of leaf probabilities, each kept within 0 and 1 when its sum rounds past them."""
    return [min(1.0, max(0.0, m)) for m in means]


def _likeliest(probabilities: list[float]) -> int:
    """The index of the largest probability, the first of equals, as the libraries' argmax picks."""
    return probabilities.index(max(probabilities))


def _exp(margin: float) -> float:
    """A log link's value; past the largest float it is the largest float, as the libraries' float32 gives inf."""
    try:
        return math.exp(margin)
    except OverflowError:
        return math.inf


# The links each task's margins may have: the log-odds or a forest's probability (binary); each class's margin
# made probabilities by softmax, a forest's mean per class, or each class's log-odds against the rest, whose
# probabilities need not add up to 1 (LightGBM's multiclassova: it does not scale them) (multi-class); the value,
# or its log (regression).
LINKS = {
    BINARY: ("logistic", "identity"),
    MULTICLASS: ("softmax", "identity", "logistic"),
    REGRESSION: ("identity", "exp"),
}


class EmbeddedModel:
    """Scores readings with the artifact's model, for whatever fields its schema names; no training library at
    serving time."""

    name = "embedded"

    def __init__(self, artifact: dict[str, Any], native: bool = False) -> None:
        """`native`: a tree ensemble's margins come from onnxruntime (app.models.runtimes.native), which raises
        ImportError when it is not installed; a linear model has nothing to gain and stays as it is."""
        self.artifact = artifact
        self.schema, self.task = validate(artifact)
        self.model = scorer(artifact, self.schema, native)
        self.threshold: float | None = artifact["threshold"] if self.task.kind == BINARY else None
        links = LINKS[self.task.kind]
        if self.model.link not in links:
            raise ModelFileError(f"a {self.task.kind} model's link is one of {', '.join(links)}, not {self.model.link}")
        outputs = len(self.task.classes) if self.task.kind == MULTICLASS else 1
        if self.model.outputs != outputs:
            raise ModelFileError(f"the model has {self.model.outputs} outputs; its task needs {outputs}")

    @classmethod
    def from_file(cls, path: str | Path, native: bool = False) -> EmbeddedModel:
        """The model of an artifact file, read and validated once; raises ModelFileError naming the file."""
        artifact = read(path)
        try:
            return cls(artifact, native)
        except ModelFileError as problem:
            raise invalid(path, problem) from None

    def predict(self, rows: Sequence[Reading], explain: bool = False, inference_id: str | None = None) -> Predictions:
        margins: list[Any] = self.model.margins(rows)
        link, kind = self.model.link, self.task.kind
        labels: list[int] | None
        scores: list[Any]
        if kind == BINARY:
            if link == "logistic":
                scores = list(map(_probability, margins))
            else:  # a forest's mean of leaf shares, kept a probability when its sum rounds past 0 or 1
                scores = [min(1.0, max(0.0, margin)) for margin in margins]
            threshold = float(self.artifact["threshold"])
            labels = [1 if score >= threshold else 0 for score in scores]
        elif kind == MULTICLASS:
            if link == "softmax":
                scores = list(map(_softmax, margins))
            elif link == "logistic":
                scores = [list(map(_probability, m)) for m in margins]
            else:
                scores = list(map(_shares, margins))
            labels = list(map(_likeliest, scores))
        else:
            scores, labels = (list(map(_exp, margins)) if link == "exp" else margins), None
        return Predictions(scores, labels, list(map(self.model.contributions, rows)) if explain else None)

    def describe(self) -> dict[str, Any]:
        a = self.artifact
        return {
            "backend": self.name,
            "name": a["name"],
            "version": a["version"],
            **({"threshold": self.threshold} if self.threshold is not None else {}),
            **self.model.describe(),
            "baseline": self.model.baseline,
            "label": a["label"],
            "metrics": a["metrics"],
            "training": a["training"],
            "distribution": a["distribution"],
            "checksum": a["checksum"],
            "task": self.task.describe(),
        }


def load_artifact(path: str | Path) -> dict[str, Any]:
    """Read a model artifact and check all of it, its model's part by the runtime that would score it; raises
    ModelFileError naming the file."""
    return EmbeddedModel.from_file(path).artifact
