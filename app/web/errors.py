"""The one error shape: typed exceptions that carry their status, and the handler that renders them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from flask import Response, request

from app.config import MEBIBYTE
from app.core.errors import CaptureOff, DomainError, ExplainUnsupported, ModelFailure, ModelNotFound
from app.logs import service_logger
from app.web.telemetry import current_record

if TYPE_CHECKING:
    from flask import Flask

log = service_logger("errors")
OPEN_INFERENCE = "api.v2_"  # the Open Inference Protocol's routes, whose errors carry their message as "error"
INVOCATIONS = "api.invocations"  # SageMaker's scoring route, whose clients are told Batch Transform's settings

# The status and code of each domain error but a model's failure, whose kind decides.
DOMAIN_ANSWERS: dict[type[DomainError], tuple[int, str]] = {
    ModelNotFound: (404, "not_found"),
    ExplainUnsupported: (400, "explain_unsupported"),
    CaptureOff: (409, "capture_off"),
}

# Short codes for the HTTP errors Flask/Werkzeug raise before a view runs.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error answered with `{"error": code, "message": text, "details": [...]}`."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class ValidationError(ApiError):
    status = 400
    code = "invalid_input"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class NotAcceptable(ApiError):
    status = 406
    code = "not_acceptable"


def batch_hint(fits: int | None, setting: str) -> str:
    """For a 413 at /invocations, what to tell Batch Transform: the largest MaxPayloadInMB whose mini-batches
    fit, `fits` being the bytes that would have (None: unknown), or else the setting to raise; empty elsewhere."""
    if request.endpoint != INVOCATIONS:
        return ""
    if fits is None:
        return f" For Batch Transform, lower MaxPayloadInMB or raise {setting}."
    if fits >= MEBIBYTE:
        return f" For Batch Transform, set MaxPayloadInMB to at most {fits // MEBIBYTE}."
    return f" For Batch Transform, raise {setting}: even MaxPayloadInMB=1 sends more."


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Every JSON answer, errors included, written by orjson: it gives floats their shortest round-trip digits."""
    return Response(orjson.dumps(body), status, headers, mimetype="application/json")


def render(error: ApiError) -> Response:
    body = error.body()
    if (request.endpoint or "").startswith(OPEN_INFERENCE):  # the protocol's clients show only "error"
        body["error"] = error.message
    return json_response(body, error.status, error.headers)


# A model failure's kind, as an HTTP status.
FAILURE_STATUS = {"failed": 502, "unavailable": 503, "timeout": 504}


def domain_answer(error: DomainError) -> ApiError:
    """The HTTP answer to a domain error: its status and code, and the message with its details."""
    if isinstance(error, ModelFailure):
        record = current_record()
        record.backend_error = error.code
        retry = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        # The id finds the logged detail, which the answer never carries.
        message = f"{error.message} Request id: {record.request_id}."
        return ApiError(message, error.details, status=FAILURE_STATUS[error.kind], code=error.code, headers=retry)
    status, code = DOMAIN_ANSWERS[type(error)]
    return ApiError(error.message, error.details, status=status, code=code)


def error_response(error: Exception) -> Response:
    """The answer to an error raised while serving: its own for an ApiError or a domain error; for anything else a
    generic 500, with the traceback logged and never sent."""
    if isinstance(error, DomainError):
        return render(domain_answer(error))
    if isinstance(error, ApiError):
        return render(error)
    log.exception("unhandled error", exc_info=error)
    return render(ApiError("Internal server error."))


def register_error_handlers(app: Flask) -> None:
    """Answer every error, expected or not, in the one JSON shape."""
    from werkzeug.exceptions import ClientDisconnected, HTTPException

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        # Keep Allow (405) and the like; drop the HTML error page's own headers.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        message = error.description or error.name
        if status == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            message = f"The request body is larger than the limit of {limit} bytes."
            message += batch_hint(limit, "MAX_CONTENT_LENGTH")
        elif isinstance(error, ClientDisconnected):
            message = "The body ended before the length its Content-Length announced."
        return render(
            ApiError(message, status=status, code=HTTP_CODES.get(status, "http_error"), headers=headers),
        )

    app.register_error_handler(Exception, error_response)  # ApiError and anything unexpected
