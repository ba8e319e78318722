"""What a model says of readings: the task it does, the outputs that task declares, and the predictions, kept as
columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"


@dataclass(frozen=True, slots=True)
class Output:
    """A declared output: its name, its element type as the Open Inference Protocol names it, and the shape of one
    reading's value (() for a number, (k,) for k of them)."""

    name: str
    datatype: str
    shape: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Task:
    """What a model predicts. A binary model's score is the positive class's probability and its label 1 when the
    score reaches the threshold; its class names are the negative's, then the positive's."""

    kind: str = BINARY
    classes: tuple[str, ...] = ("healthy", "maintenance_required")

    @property
    def outputs(self) -> tuple[Output, ...]:
        return (Output("score", "FP64"), Output("predicted_label", "INT64"))


class Predictions(NamedTuple):
    """One entry per reading, in order, kept as columns: no object per reading."""

    scores: list[Any]
    labels: list[int]
    # Each field's additive share of the margin (the log-odds, or a forest's probability) per reading, if asked.
    contributions: list[dict[str, float]] | None = None
