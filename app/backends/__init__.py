"""The one swap point: a Backend scores validated readings; make_backend picks one from config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from app.schema import Reading, Schema


class Predictions(NamedTuple):
    """One entry per reading, in order, kept as columns: no object per reading."""

    scores: list[float]
    labels: list[int]
    # Each field's additive contribution to the log-odds per reading, when an explanation was asked for.
    contributions: list[dict[str, float]] | None = None


class Backend(Protocol):
    name: str
    schema: Schema  # the fields its readings have, which the API validates against

    def predict(self, rows: Sequence[Reading], explain: bool = False) -> Predictions:
        """Score readings in order; raises BackendError when the model cannot answer."""
        ...

    def describe(self) -> dict[str, Any]:
        """What /ping and /v1/model report about this backend and its model."""
        ...


def make_backend(config: Mapping[str, Any]) -> Backend:
    """The backend the configuration names; raises ValueError for an unusable configuration."""
    backend: Backend
    if config["MODEL_BACKEND"] == "sagemaker":
        from app.backends.sagemaker import SageMakerBackend

        backend = SageMakerBackend.from_config(config)
    else:
        from app.backends.embedded import EmbeddedBackend

        backend = EmbeddedBackend.from_file(config["MODEL_PATH"])
    return backend
