"""Runtimes: what scores an artifact's model, found by the artifact's format; each is imported only when an artifact
of its kind is served."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from app.core.fields import Schema
from app.core.table import Reading
from app.models.artifact import FORMAT, LINEAR_FORMAT, TREES_FORMATS, ModelFileError


class Scorer(Protocol):
    """What an artifact's model scores with: a margin per row, and each field's share of one row's. The link
    turns margins into the score (app.models.embedded): "logistic" (the margin is the log-odds; with several
    outputs, each class's against the rest), "softmax" (each class's margin), "exp" (the margin is the value's log)
    or "identity" (it is the score)."""

    link: str
    outputs: int  # margins per reading: 1, or one per class
    # The margin with no field known (one per output); with a row's contributions it sums to the row's.
    baseline: Any

    def margins(self, rows: Sequence[Reading]) -> list[Any]:
        """A margin per reading, or with several outputs a list of them per reading."""
        ...

    def contributions(self, row: Reading) -> dict[str, Any]:
        """Each field's share of the reading's margin: a number, or a list of one per output."""
        ...

    def describe(self) -> dict[str, Any]: ...


def scorer(artifact: dict[str, Any], schema: Schema, native: bool = False) -> Scorer:
    """The scorer of a validated artifact's model, by its format; raises ModelFileError for a model that cannot be
    used, and ImportError when `native` (onnxruntime for trees) is asked for and not installed."""
    kind = artifact["format"]
    if kind in (FORMAT, LINEAR_FORMAT):
        from app.models.runtimes.linear import LinearModel

        return LinearModel(artifact, schema)
    assert kind in TREES_FORMATS
    from app.models.runtimes.trees import TreeEnsemble, TreeFileError

    try:
        trees = TreeEnsemble(artifact.get("model"), schema, TREES_FORMATS.index(kind) + 1)
    except TreeFileError as problem:
        raise ModelFileError(str(problem)) from None
    if not native:
        return trees
    from app.models.runtimes.native import NativeTrees

    return NativeTrees(trees, schema)
