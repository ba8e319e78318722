"""Errors at the web layer's edge: a domain error, an HTTP error or a bug made one answer with its status, and each
protocol's blueprint rendering it in its own shape (the default `{"error": code, "message": text, "details":
[...]}`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app
from werkzeug.exceptions import ClientDisconnected, HTTPException

from app.codecs.sagemaker import NotAcceptable
from app.core.errors import (
    CaptureOff,
    DomainError,
    ExplainUnsupported,
    ModelFailure,
    ModelNotFound,
    ReadingsError,
    TooManyReadings,
    UnsupportedBody,
)
from app.logs import service_logger
from app.web.telemetry import current_record

log = service_logger("errors")

# The status and code of each domain error (a subclass answers as its nearest listed class), but a model's failure,
# whose kind decides.
DOMAIN_ANSWERS: dict[type[DomainError], tuple[int, str]] = {
    ReadingsError: (400, "invalid_input"),
    TooManyReadings: (413, "payload_too_large"),
    UnsupportedBody: (415, "unsupported_media_type"),
    NotAcceptable: (406, "not_acceptable"),
    ModelNotFound: (404, "not_found"),
    ExplainUnsupported: (400, "explain_unsupported"),
    CaptureOff: (409, "capture_off"),
}
# A model failure's kind, as an HTTP status.
FAILURE_STATUS = {"failed": 502, "unavailable": 503, "timeout": 504}
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
    """An answer of the web layer's own (a missing key, a used-up limit), or any error made an answer: its status,
    code, message, details and headers."""

    def __init__(
        self,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        status: int = 500,
        code: str = "internal_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.status = status
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Every JSON answer, errors included, written by orjson: it gives floats their shortest round-trip digits."""
    return Response(orjson.dumps(body), status, headers, mimetype="application/json")


def render(error: ApiError) -> Response:
    """The default error shape."""
    return json_response(error.body(), error.status, error.headers)


def answer(error: Exception) -> ApiError:
    """The answer to an error raised while serving: a domain error's by its class (a model failure's by its kind,
    with the request's id, which finds the logged detail), an HTTP error's by its status, an ApiError's own; for
    anything else a generic 500, with the traceback logged and never sent."""
    if isinstance(error, ModelFailure):
        record = current_record()
        record.backend_error = error.code
        retry = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        message = f"{error.message} Request id: {record.request_id}."
        return ApiError(message, error.details, status=FAILURE_STATUS[error.kind], code=error.code, headers=retry)
    if isinstance(error, DomainError):
        status, code = next(DOMAIN_ANSWERS[kind] for kind in type(error).__mro__ if kind in DOMAIN_ANSWERS)
        return ApiError(error.message, error.details, status=status, code=code)
    if isinstance(error, HTTPException):
        return _http(error)
    if isinstance(error, ApiError):
        return error
    log.exception("unhandled error", exc_info=error)
    return ApiError("Internal server error.")


def _http(error: HTTPException) -> ApiError:
    status = error.code or 500
    # Keep Allow (405) and the like; drop the HTML error page's own headers.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    message = error.description or error.name
    if status == 413:
        message = f"The request body is larger than the limit of {current_app.config['MAX_CONTENT_LENGTH']} bytes."
    elif isinstance(error, ClientDisconnected):
        message = "The body ended before the length its Content-Length announced."
    return ApiError(message, status=status, code=HTTP_CODES.get(status, "http_error"), headers=headers)


Handler = Callable[[Exception], Response]


def register_error_handlers(target: Flask | Blueprint, handle: Handler | None = None) -> None:
    """Answer every error raised in the app (or a protocol's blueprint) with `handle`, by default the answer in
    the default shape."""
    handler = handle or (lambda error: render(answer(error)))
    for kind in (HTTPException, Exception):
        target.register_error_handler(kind, handler)
