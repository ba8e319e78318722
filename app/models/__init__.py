"""Models: the artifact format, the runtimes that score it, the SageMaker endpoint behind the same protocol, and
the registry that finds a model by name and version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from app.config import ConfigError
from app.core.fields import Schema
from app.core.prediction import Predictions, Task
from app.core.schemas import SchemaError, load_schema
from app.core.table import Readings


class Model(Protocol):
    """The one swap point: what scores validated readings. `name` says how (embedded or sagemaker)."""

    name: str
    schema: Schema  # the fields its readings have, which every protocol validates against
    task: Task

    def predict(self, rows: Readings, explain: bool = False, inference_id: str | None = None) -> Predictions:
        """Score readings in order; raises ModelFailure when the model cannot answer, ExplainUnsupported when asked
        to explain and it cannot. `inference_id` names the request, for a model that records it too."""
        ...

    def describe(self) -> dict[str, Any]:
        """What /ping and /v1/model report about the model."""
        ...


def identity(model: Model) -> tuple[str, str]:
    """The model's name and version, as /v1/model gives them (a SageMaker endpoint's name)."""
    info = model.describe()
    return str(info.get("name") or info.get("endpoint")), str(info.get("version", "1"))


def configured_schema(config: Mapping[str, Any]) -> Schema | None:
    """The schema SCHEMA_PATH names, if set; raises ConfigError."""
    if not config["SCHEMA_PATH"]:
        return None
    try:
        return load_schema(config["SCHEMA_PATH"])
    except SchemaError as problem:
        raise ConfigError("SCHEMA_PATH", str(problem)) from None


def load_model(config: Mapping[str, Any]) -> Model:
    """The model the configuration names; raises ConfigError naming the setting it cannot honour."""
    schema = configured_schema(config)
    if config["MODEL_BACKEND"] == "sagemaker":
        from app.models.sagemaker import SageMakerModel

        return SageMakerModel.from_config(config, schema)
    from app.models.artifact import ModelFileError
    from app.models.embedded import EmbeddedModel

    try:
        model = EmbeddedModel.from_file(config["MODEL_PATH"], config["TREES_NATIVE"])
    except ModelFileError as problem:
        raise ConfigError("MODEL_PATH", str(problem)) from None
    except ImportError as missing:
        why = f"needs {missing.name}, which is not installed: pip install -r requirements-native.txt"
        raise ConfigError("TREES_NATIVE", why) from None
    if schema is not None and schema.to_dict()["fields"] != model.schema.to_dict()["fields"]:
        raise ConfigError(
            "SCHEMA_PATH",
            f"{config['SCHEMA_PATH']} names other fields than the model in MODEL_PATH; the embedded model "
            "validates against its own schema, so leave SCHEMA_PATH unset or point it at the same fields",
        )
    return model
