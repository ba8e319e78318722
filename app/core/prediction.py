"""What a model says of readings: the task it does, the outputs that task declares, and the predictions, kept as
columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
# The words of a binary model whose artifact names no classes: the turbine model's, from before tasks were named.
MAINTENANCE = ("healthy", "maintenance_required")


@dataclass(frozen=True, slots=True)
class Output:
    """A declared output: its name, its element type as the Open Inference Protocol names it, and the shape of one
    reading's value (() for a number, (k,) for k of them)."""

    name: str
    datatype: str
    shape: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Task:
    """What a model predicts: a class of two (binary: the score is the positive class's probability, the label 1
    when it reaches the threshold), one of k classes (the score holds each class's probability, the label is the
    likeliest class's index), or a value (regression: the score is the value, there is no label). `classes` are
    the classes' names in the model's order (binary: the negative's, then the positive's); `target` and `unit` name
    what a regression predicts."""

    kind: str = BINARY
    classes: tuple[str, ...] = ()
    target: str = ""
    unit: str = ""

    def describe(self) -> dict[str, Any]:
        """The task as /v1/model says it: its kind, classes, target and unit, and its outputs."""
        outputs = [{"name": o.name, "datatype": o.datatype, "shape": list(o.shape)} for o in self.outputs]
        return {
            "kind": self.kind,
            "classes": list(self.classes),
            "target": self.target,
            "unit": self.unit,
            "outputs": outputs,
        }

    @property
    def outputs(self) -> tuple[Output, ...]:
        if self.kind == REGRESSION:
            return (Output("score", "FP64"),)
        score = Output("score", "FP64", (len(self.classes),) if self.kind == MULTICLASS else ())
        return (score, Output("predicted_label", "INT64"))


class Predictions(NamedTuple):
    """One entry per reading, in order, kept as columns: no object per reading. A score is a probability (binary), a
    list of k probabilities (multi-class) or the predicted value (regression); a label is a class's index, and
    there are none for a regression."""

    scores: list[Any]
    labels: list[int] | None
    # Each field's additive share of the margin per reading, if asked: a number, or a list of one per class.
    contributions: list[dict[str, Any]] | None = None
