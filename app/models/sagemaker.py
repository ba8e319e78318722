"""The SageMaker endpoint as a model: validated readings go to it as headerless CSV through sagemaker-runtime."""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from app.config import ConfigError
from app.core.errors import ExplainUnsupported, ModelFailure
from app.core.fields import Schema
from app.core.prediction import BINARY, MAINTENANCE, Predictions, Task
from app.core.schemas import turbine_schema
from app.core.table import Reading, Readings, csv_lines
from app.logs import service_logger

log = service_logger("sagemaker")
DEFAULT_SCHEMA_SOURCE = "the bundled turbine fields (app/model/turbine-schema.json)"
# What a caller is told for each failure: fixed sentences, never AWS's or the container's words.
CALLER_MESSAGES = {
    "model_error": "The model endpoint failed to score the readings.",
    "bad_model_answer": "The model endpoint gave an answer that cannot be used.",
    "endpoint_throttled": "The model endpoint is busy; retry later.",
    "endpoint_not_found": "The model endpoint is not available.",
    "endpoint_invalid": "The model endpoint refused the call.",
    "access_denied": "The service is not allowed to call its model endpoint.",
    "no_credentials": "The service has no credentials for its model endpoint.",
    "endpoint_timeout": "The model endpoint did not answer in time.",
    "endpoint_unreachable": "The model endpoint could not be reached.",
    "backend_error": "The model endpoint failed.",
}

FAILED, UNAVAILABLE, TIMEOUT = "failed", "unavailable", "timeout"  # ModelFailure's kinds
# Below API Gateway's 29 s integration limit, retries included.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 8
TOTAL_ATTEMPTS = 2
RETRY_AFTER_SECONDS = 2


def make_client(region: str | None = None) -> Any:
    """A sagemaker-runtime client with bounded timeouts and retries (imports boto3 only here); raises ConfigError
    when no region is configured anywhere."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
    )
    try:
        # A session of its own: boto3's default session caches the credentials it first found.
        return boto3.session.Session().client("sagemaker-runtime", region_name=region or None, config=config)
    except NoRegionError:
        raise ConfigError(
            "SAGEMAKER_REGION", "no AWS region is configured: set SAGEMAKER_REGION or AWS_REGION"
        ) from None


class BadAnswer(ValueError):
    """The endpoint's answer cannot be read as one probability per reading."""


def _as_probability(value: Any) -> float:
    """The value as a float, if it is a number from 0 to 1 (NaN is not); raises BadAnswer."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise BadAnswer(f"{str(value)[:40]} is not a probability")
    return float(value)


def _from_item(item: Any) -> tuple[float, int | None]:
    """A score, and a label where the endpoint gave one, from one JSON prediction."""
    if isinstance(item, dict):
        label = item.get("predicted_label")
        if label is not None and (isinstance(label, bool) or label not in (0, 1)):
            raise BadAnswer(f"predicted_label {str(label)[:40]} is not 0 or 1")
        return _as_probability(item.get("score")), None if label is None else int(label)
    if isinstance(item, list) and len(item) == 2:
        return _as_probability(item[1]), None
    return _as_probability(item), None


NPY_HEADER = re.compile(
    r"\{'descr': '(?P<descr><[fi][48])', 'fortran_order': False, 'shape': \((?P<shape>\d+,(?: ?\d+)?)\),? ?\} *\n"
)
NPY_CODES = {"<f8": "d", "<f4": "f", "<i8": "q", "<i4": "i"}


def _read_npy(payload: bytes) -> list[Any]:
    """A 1-D array of scores or a 2-D array of [p0, p1] rows, from the .npy format (the header numpy writes for
    a C-ordered array of little-endian floats or integers, and nothing else); raises BadAnswer."""
    if payload[:6] != b"\x93NUMPY" or len(payload) < 10:
        raise BadAnswer("not an .npy payload")
    size_format, start = ("<H", 10) if payload[6] == 1 else ("<I", 12)
    if len(payload) < start:
        raise BadAnswer("truncated .npy header")
    (header_length,) = struct.unpack(size_format, payload[8:start])
    header = NPY_HEADER.fullmatch(payload[start : start + header_length].decode("latin-1"))
    if header is None:
        raise BadAnswer("unsupported .npy header: only C-ordered 1-D arrays or [p0, p1] rows of <f8, <f4, <i8, <i4")
    shape = [int(n) for n in header["shape"].replace(" ", "").split(",") if n]
    if len(shape) == 2 and shape[1] != 2:
        raise BadAnswer(f"unsupported array shape {shape}")
    code = NPY_CODES[header["descr"]]
    count = math.prod(shape)
    data = payload[start + header_length :]
    if len(data) != count * struct.calcsize(code):
        raise BadAnswer(f"{len(data)} data bytes for {count} values")
    values = list(struct.unpack(f"<{count}{code}", data))
    if len(shape) == 1:
        return values
    return [values[i : i + 2] for i in range(0, count, 2)]


def parse_answer(payload: bytes, content_type: str) -> list[tuple[float, int | None]]:
    """(score, label or None) per row from what an endpoint answered; raises BadAnswer for anything else."""
    kind = content_type.split(";")[0].strip().lower()
    items: Any
    try:
        if kind == "application/json":
            document = json.loads(payload)
            items = document.get("predictions") if isinstance(document, dict) else document
            if not isinstance(items, list):
                raise BadAnswer("JSON answer without a list of predictions")
        elif kind == "text/csv":
            items = [float(line) for line in payload.decode("utf-8").splitlines() if line.strip()]
        elif kind == "application/x-npy":
            items = _read_npy(payload)
        else:
            raise BadAnswer(f"unsupported content type {content_type[:60]!r}")
    except RecursionError:
        raise BadAnswer("JSON answer nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as problem:  # json and float's errors are ValueErrors
        raise BadAnswer(str(problem)[:200]) from None
    return [_from_item(item) for item in items]


def _columns(rows: Sequence[Reading]) -> Sequence[list[Any]]:
    return rows.columns if isinstance(rows, Readings) else [list(column) for column in zip(*rows, strict=True)]


class SageMakerModel:
    """Forwards readings to a SageMaker endpoint and reads its answer.

    Callers get a stable code and a short message; what AWS or the model container said, which can name roles,
    accounts and internals, goes only to the turbine_status.sagemaker log, with the request's id."""

    name = "sagemaker"

    def __init__(
        self,
        endpoint: str,
        client: Any,
        threshold: float = 0.5,
        schema: Schema | None = None,
        schema_source: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.client = client
        self.threshold = threshold
        self.schema = schema or turbine_schema()
        self.schema_source = schema_source or DEFAULT_SCHEMA_SOURCE
        self.task = Task(BINARY, MAINTENANCE)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], schema: Schema | None) -> SageMakerModel:
        """The backend for the configured endpoint, validating against `schema` (SCHEMA_PATH's) or, said in the
        log and in /v1/model, the bundled turbine fields; raises ConfigError."""
        endpoint = config["SAGEMAKER_ENDPOINT_NAME"]
        if not endpoint:
            raise ConfigError("SAGEMAKER_ENDPOINT_NAME", "is required when MODEL_BACKEND=sagemaker")
        client = make_client(config["SAGEMAKER_REGION"])
        backend = cls(endpoint, client, config["SAGEMAKER_THRESHOLD"], schema, config["SCHEMA_PATH"])
        if schema is None:
            log.warning("SCHEMA_PATH is not set: readings are validated against %s", DEFAULT_SCHEMA_SOURCE)
        log.info("endpoint %s in %s; readings validated against %s", endpoint, backend.region, backend.schema_source)
        return backend

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name)

    def predict(self, rows: Sequence[Reading], explain: bool = False, inference_id: str | None = None) -> Predictions:
        if explain:
            raise ExplainUnsupported(
                "Explanations come from the embedded model; the SageMaker backend cannot give them."
            )
        payload, content_type = self._invoke(csv_lines(_columns(rows)), inference_id)
        try:
            answers = parse_answer(payload, content_type)
            if len(answers) != len(rows):
                raise BadAnswer(f"{len(answers)} predictions for {len(rows)} readings")
        except BadAnswer as problem:
            raise self._failed(FAILED, "bad_model_answer", f"unusable answer: {problem}") from None
        scores = [score for score, _ in answers]
        labels = [int(score >= self.threshold) if label is None else label for score, label in answers]
        return Predictions(scores, labels)

    def _invoke(self, body: str, inference_id: str | None) -> tuple[bytes, str]:
        """Call InvokeEndpoint and read its answer; raises ModelFailure of the kind that fits the failure. The
        inference id goes along, so the endpoint's own Data Capture records join ours."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
            ReadTimeoutError,
        )

        try:
            named = {"InferenceId": inference_id} if inference_id else {}
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint, ContentType="text/csv", Accept="application/json", Body=body, **named
            )
            return response["Body"].read(), str(response.get("ContentType", ""))
        except ClientError as error:
            raise self._client_error(error) from None
        except ReadTimeoutError as error:
            raise self._failed(TIMEOUT, "endpoint_timeout", str(error)) from None
        except (ConnectTimeoutError, EndpointConnectionError) as error:
            raise self._failed(FAILED, "endpoint_unreachable", str(error)) from None
        except (NoCredentialsError, PartialCredentialsError) as error:
            raise self._failed(UNAVAILABLE, "no_credentials", str(error)) from None
        except BotoCoreError as error:  # connection resets, TLS failures, a body cut short and the like
            raise self._failed(FAILED, "endpoint_unreachable", f"{type(error).__name__}: {error}") from None

    def _client_error(self, error: Any) -> ModelFailure:
        response = error.response
        code = response.get("Error", {}).get("Code", "")
        message = response.get("Error", {}).get("Message") or ""
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = f"{code} ({status}): {message}; AWS request id {response.get('ResponseMetadata', {}).get('RequestId')}"
        if code == "ModelError":
            return self._failed(FAILED, "model_error", f"{detail}; container said: {response.get('OriginalMessage')}")
        if (
            code in ("ThrottlingException", "TooManyRequestsException")
            or status == 429
            or (status == 400 and not message)
        ):
            return self._failed(UNAVAILABLE, "endpoint_throttled", detail, RETRY_AFTER_SECONDS)
        if code == "ValidationError" and "not found" in message.lower():
            return self._failed(FAILED, "endpoint_not_found", detail)
        if code == "ValidationError":
            return self._failed(FAILED, "endpoint_invalid", detail)
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            return self._failed(UNAVAILABLE, "access_denied", detail)
        return self._failed(FAILED, "backend_error", detail)

    def _failed(self, kind: str, code: str, detail: str, retry_after: int | None = None) -> ModelFailure:
        """The caller's error, with only the code and a fixed sentence; the detail goes to the log, where the
        record carries the request's id."""
        log.warning("endpoint %s: %s (%s): %s", self.endpoint, code, kind, detail)
        return ModelFailure(CALLER_MESSAGES[code], code, kind, retry_after)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "endpoint": self.endpoint,
            "region": self.region,
            "threshold": self.threshold,
            "schema_source": self.schema_source,
            "task": self.task.describe(),
        }
