"""The one swap point: a Backend scores validated readings; make_backend picks one from config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from app.config import ConfigError
from app.schema import Reading, Schema, SchemaError, load_schema


class Predictions(NamedTuple):
    """One entry per reading, in order, kept as columns: no object per reading."""

    scores: list[float]
    labels: list[int]
    # Each field's additive share of the margin (the log-odds, or a forest's probability) per reading, if asked.
    contributions: list[dict[str, float]] | None = None


class Backend(Protocol):
    name: str
    schema: Schema  # the fields its readings have, which the API validates against

    def predict(self, rows: Sequence[Reading], explain: bool = False, inference_id: str | None = None) -> Predictions:
        """Score readings in order; raises BackendError when the model cannot answer. `inference_id` names the
        request in the capture, for a backend that records it too."""
        ...

    def describe(self) -> dict[str, Any]:
        """What /ping and /v1/model report about this backend and its model."""
        ...


def identity(backend: Backend) -> tuple[str, str]:
    """The served model's name and version, as /v1/model gives them (a SageMaker endpoint's name)."""
    info = backend.describe()
    return str(info.get("name") or info.get("endpoint")), str(info.get("version", "1"))


def configured_schema(config: Mapping[str, Any]) -> Schema | None:
    """The schema SCHEMA_PATH names, if set; raises ConfigError."""
    if not config["SCHEMA_PATH"]:
        return None
    try:
        return load_schema(config["SCHEMA_PATH"])
    except SchemaError as problem:
        raise ConfigError("SCHEMA_PATH", str(problem)) from None


def make_backend(config: Mapping[str, Any]) -> Backend:
    """The backend the configuration names; raises ConfigError naming the setting it cannot honour."""
    backend: Backend
    schema = configured_schema(config)
    if config["MODEL_BACKEND"] == "sagemaker":
        from app.backends.sagemaker import SageMakerBackend

        return SageMakerBackend.from_config(config, schema)
    from app.backends.embedded import EmbeddedBackend, ModelFileError

    try:
        backend = EmbeddedBackend.from_file(config["MODEL_PATH"], config["TREES_NATIVE"])
    except ModelFileError as problem:
        raise ConfigError("MODEL_PATH", str(problem)) from None
    except ImportError as missing:
        why = f"needs {missing.name}, which is not installed: pip install -r requirements-native.txt"
        raise ConfigError("TREES_NATIVE", why) from None
    if schema is not None and schema.to_dict()["fields"] != backend.schema.to_dict()["fields"]:
        raise ConfigError(
            "SCHEMA_PATH",
            f"{config['SCHEMA_PATH']} names other fields than the model in MODEL_PATH; the embedded model "
            "validates against its own schema, so leave SCHEMA_PATH unset or point it at the same fields",
        )
    return backend
