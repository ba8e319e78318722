"""The SageMaker backend: validated readings go to an endpoint as headerless CSV through sagemaker-runtime."""

from __future__ import annotations

import ast
import json
import logging
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from app.backends import Predictions
from app.errors import ApiError, BackendError
from app.schema import Reading, Schema, load_schema, to_csv, turbine_schema

log = logging.getLogger(__name__)

# Below API Gateway's 29 s integration limit, retries included.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 8
TOTAL_ATTEMPTS = 2
RETRY_AFTER_SECONDS = "2"


def make_client(region: str | None = None) -> Any:
    """A sagemaker-runtime client with bounded timeouts and retries (imports boto3 only here)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
    )
    # A session of its own: boto3's default session caches the credentials it first found.
    return boto3.session.Session().client("sagemaker-runtime", region_name=region, config=config)


def _bad_answer(endpoint: str, why: str) -> BackendError:
    return BackendError(f"Endpoint {endpoint} gave an answer that cannot be used: {why}.", code="bad_model_answer")


def _as_probability(value: Any) -> float:
    """The value as a float, if it is a number from 0 to 1; raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{value!r} is not a probability")
    return float(value)


def _from_item(item: Any) -> tuple[float, int | None]:
    """A score, and a label where the endpoint gave one, from one JSON prediction."""
    if isinstance(item, dict):
        label = item.get("predicted_label")
        if label is not None and label not in (0, 1):
            raise ValueError(f"predicted_label {label!r} is not 0 or 1")
        return _as_probability(item.get("score")), None if label is None else int(label)
    if isinstance(item, list) and len(item) == 2:
        return _as_probability(item[1]), None
    return _as_probability(item), None


def _read_npy(payload: bytes) -> list[Any]:
    """A 1-D array of scores or a 2-D array of [p0, p1] rows, from the .npy format."""
    if payload[:6] != b"\x93NUMPY":
        raise ValueError("not an .npy payload")
    major = payload[6]
    size_format, start = ("<H", 10) if major == 1 else ("<I", 12)
    (header_length,) = struct.unpack(size_format, payload[8:start])
    header = ast.literal_eval(payload[start : start + header_length].decode("latin-1"))
    codes = {"<f8": "d", "<f4": "f", "<i8": "q", "<i4": "i"}
    if header.get("fortran_order") or header.get("descr") not in codes:
        raise ValueError(f"unsupported array layout {header!r}")
    shape = header["shape"]
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 2):
        raise ValueError(f"unsupported array shape {shape}")
    count = math.prod(shape)
    values = list(struct.unpack(f"<{count}{codes[header['descr']]}", payload[start + header_length :]))
    if len(shape) == 1:
        return values
    return [values[i : i + 2] for i in range(0, count, 2)]


def parse_answer(payload: bytes, content_type: str) -> list[tuple[float, int | None]]:
    """(score, label or None) per row from what an endpoint answered; raises ValueError."""
    kind = content_type.split(";")[0].strip().lower()
    items: Any
    if kind == "application/json":
        document = json.loads(payload)
        items = document.get("predictions") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise ValueError("JSON answer without a list of predictions")
    elif kind == "text/csv":
        items = [float(line) for line in payload.decode("utf-8").splitlines() if line.strip()]
    elif kind == "application/x-npy":
        items = _read_npy(payload)
    else:
        raise ValueError(f"unsupported content type {content_type!r}")
    return [_from_item(item) for item in items]


class SageMakerBackend:
    """Forwards readings to a SageMaker endpoint and reads its answer."""

    name = "sagemaker"

    def __init__(self, endpoint: str, client: Any, threshold: float = 0.5, schema: Schema | None = None) -> None:
        self.endpoint = endpoint
        self.client = client
        self.threshold = threshold
        self.schema = schema or turbine_schema()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SageMakerBackend:
        endpoint = config["SAGEMAKER_ENDPOINT_NAME"]
        if not endpoint:
            raise ValueError("MODEL_BACKEND=sagemaker needs SAGEMAKER_ENDPOINT_NAME")
        schema = load_schema(config["SCHEMA_PATH"]) if config["SCHEMA_PATH"] else None
        return cls(endpoint, make_client(), config["SAGEMAKER_THRESHOLD"], schema)

    def predict(self, rows: Sequence[Reading], explain: bool = False) -> Predictions:
        if explain:
            raise ApiError(
                "Explanations come from the embedded model; the SageMaker backend cannot give them.",
                status=400,
                code="explain_unsupported",
            )
        response = self._invoke(to_csv(rows))
        try:
            answers = parse_answer(response["Body"].read(), response.get("ContentType", ""))
        except (ValueError, UnicodeDecodeError) as problem:
            raise _bad_answer(self.endpoint, str(problem)) from None
        if len(answers) != len(rows):
            raise _bad_answer(self.endpoint, f"{len(answers)} predictions for {len(rows)} readings")
        scores = [score for score, _ in answers]
        labels = [int(score >= self.threshold) if label is None else label for score, label in answers]
        return Predictions(scores, labels)

    def _invoke(self, body: str) -> Any:
        """Call InvokeEndpoint; raises BackendError with the status that fits the failure."""
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
            return self.client.invoke_endpoint(
                EndpointName=self.endpoint, ContentType="text/csv", Accept="application/json", Body=body
            )
        except ClientError as error:
            raise self._client_error(error) from None
        except ReadTimeoutError:
            raise self._failed(504, "endpoint_timeout", f"Endpoint {self.endpoint} did not answer in time.") from None
        except (ConnectTimeoutError, EndpointConnectionError):
            raise self._failed(502, "endpoint_unreachable", "The SageMaker runtime could not be reached.") from None
        except (NoCredentialsError, PartialCredentialsError):
            raise self._failed(
                503,
                "no_credentials",
                "The service has no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE, or give the host an IAM role allowed sagemaker:InvokeEndpoint.",
            ) from None
        except BotoCoreError as error:  # connection resets, TLS failures and the like
            raise self._failed(502, "endpoint_unreachable", f"The SageMaker call failed: {error}") from None

    def _client_error(self, error: Any) -> BackendError:
        response = error.response
        code = response.get("Error", {}).get("Code", "")
        message = response.get("Error", {}).get("Message") or ""
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        request_id = response.get("ResponseMetadata", {}).get("RequestId", "")
        if code == "ModelError":
            original = response.get("OriginalMessage") or message
            return self._failed(502, "model_error", f"Endpoint {self.endpoint} failed: {original}", request_id)
        if (
            code in ("ThrottlingException", "TooManyRequestsException")
            or status == 429
            or (status == 400 and not message)
        ):
            return self._failed(
                503,
                "endpoint_throttled",
                f"Endpoint {self.endpoint} is throttling requests; retry later.",
                request_id,
                {"Retry-After": RETRY_AFTER_SECONDS},
            )
        if code == "ValidationError" and "not found" in message.lower():
            return self._failed(502, "endpoint_not_found", f"Endpoint {self.endpoint} was not found.", request_id)
        if code == "ValidationError":
            return self._failed(
                502, "endpoint_invalid", f"Endpoint {self.endpoint} refused the call: {message}", request_id
            )
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            return self._failed(
                503, "access_denied", f"Not allowed to invoke endpoint {self.endpoint}: {message}", request_id
            )
        return self._failed(
            502, "backend_error", f"Endpoint {self.endpoint} failed: {code} {message}".strip(), request_id
        )

    def _failed(
        self, status: int, code: str, message: str, request_id: str = "", headers: dict[str, str] | None = None
    ) -> BackendError:
        log.warning("sagemaker %s (%s): %s request_id=%s", code, status, message, request_id or "-")
        return BackendError(message, status=status, code=code, headers=headers)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "endpoint": self.endpoint,
            "region": self.client.meta.region_name,
            "threshold": self.threshold,
        }
