"""Telemetry: each request's id, its one RequestRecord, the JSON access line it ends with, and the metrics' turn.

The record rides in the WSGI environ under RECORD_KEY rather than on flask.g: the middleware makes it before Flask
has a context and reads it after Flask has let go of it, so hooks, views and error handlers all write the same object
and no hook of its own runs per request."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, request

from app.config import level
from app.logs import FIELDS, service_logger
from app.web.logs import RECORD_KEY, lambda_request_id
from app.web.serving import DATAPLANE

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    # Adds the security headers to an answer's (status line, headers): app.web.security's.
    HeaderWriter = Callable[[str, list[tuple[str, str]]], None]
    # Told after each request what was served: the metrics, when on.
    Observer = Callable[[WSGIEnvironment, "RequestRecord"], None]

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
access_log = service_logger("access")


@dataclass(slots=True)
class RequestRecord:
    """What one request was: written while it is served, read once when it is answered."""

    request_id: str
    inference_id: str | None = None  # a scoring request's, which the capture and X-Inference-Id carry
    route: str | None = None  # the URL rule matched, noted when the metrics are on
    rows: int | None = None  # readings in a scoring request
    labels: Sequence[int] = ()  # the predicted labels, in order
    backend_error: str | None = None  # the code of the BackendError answered
    status: int | None = None  # None when the app never started an answer
    latency: float = field(init=False)  # seconds, set when the request is over


def record(environ: WSGIEnvironment) -> RequestRecord:
    """The record of the request this environ carries."""
    return environ[RECORD_KEY]  # type: ignore[no-any-return]


def current_record() -> RequestRecord:
    """The record of the request being served."""
    return record(request.environ)


def _request_id(environ: WSGIEnvironment) -> str:
    """API Gateway's id on Lambda, else a well-formed X-Request-Id the client sent, else a new one."""
    event = environ.get("lambda.event")
    if event:
        lambda_id = (event.get("requestContext") or {}).get("requestId")
        if lambda_id:
            return str(lambda_id)
    sent = environ.get("HTTP_X_REQUEST_ID", "")
    return sent if REQUEST_ID.fullmatch(sent) else secrets.token_hex(16)


def _path(environ: WSGIEnvironment) -> str:
    """The request path as sent: WSGI carries its UTF-8 bytes as Latin-1 text."""
    return str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace")


class RequestMiddleware:
    """Around the whole app: a request id and its record, the security headers, one JSON access record (never the
    body or a key) on the turbine_status.access logger, and the metrics when they are on.

    Plain WSGI, so the cost per request stays small and errors answered by Flask get the same headers."""

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        backend: str,
        secure: HeaderWriter,
        log: bool,
        observe: Observer | None = None,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.backend = backend
        self.secure = secure
        self.log = log
        self.observe = observe

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        record = environ[RECORD_KEY] = RequestRecord(_request_id(environ))

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            record.status = int(status[:3])
            headers.append(("X-Request-Id", record.request_id))
            if record.inference_id:
                headers.append(("X-Inference-Id", record.inference_id))
            self.secure(status, headers)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            record.latency = latency = time.perf_counter() - started
            if self.log and access_log.isEnabledFor(logging.INFO):
                fields: dict[str, Any] = {"request_id": record.request_id}
                aws_request_id = lambda_request_id(environ)
                if aws_request_id:
                    fields["aws_request_id"] = aws_request_id
                fields.update(
                    method=environ.get("REQUEST_METHOD", ""),
                    route=_path(environ),
                    status=record.status,
                    rows=record.rows,
                    backend=self.backend,
                    latency_ms=round(latency * 1000, 3),
                )
                # A record made and handled directly: logger.info would also look up the caller's file and line,
                # which the access line does not show.
                line = access_log.makeRecord(access_log.name, logging.INFO, "", 0, "request", (), None)
                setattr(line, FIELDS, fields)
                access_log.handle(line)
            if self.observe:
                self.observe(environ, record)


def add_request_middleware(app: Flask, secure: HeaderWriter, observe: Observer | None = None) -> None:
    """Wrap the whole app, last, in RequestMiddleware."""
    app.wsgi_app = RequestMiddleware(  # type: ignore[method-assign]
        app.wsgi_app,
        app.extensions[DATAPLANE].models.default.name,
        secure,
        log=app.config["ACCESS_LOG"] and level(app.config) <= logging.INFO,
        observe=observe,
    )
