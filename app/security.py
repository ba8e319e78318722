"""API keys, rate limits, request ids, security headers and the one JSON access-log line per request."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, g, request

from app.config import level
from app.errors import ApiError, render
from app.logs import FIELDS, REQUEST_ID_KEY, access_log, lambda_request_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    # Told after each request what was served (environ, request id, status, seconds): the metrics, when on.
    Observer = Callable[[WSGIEnvironment, str, int | None, float], None]

# Endpoints anyone may call: health, the page, its assets and the API's description with Swagger UI's files.
OPEN_ENDPOINTS = frozenset({"api.ping", "api.page", "static", "api.openapi", "api.docs", "swagger_ui"})
LIMITER_RETRY_AFTER = "X-Limiter-Retry-After"
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
ROWS_KEY = "turbine_status.rows"
LABELS_KEY = "turbine_status.labels"  # the predicted labels, in order, for the metrics
PAGE_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src *; base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _key_matches(key: str, hashes: tuple[str, ...]) -> bool:
    """Compare against every hash in constant time, so timing tells nothing about which or how much matched."""
    digest = hash_key(key)
    matched = False
    for expected in hashes:
        matched |= hmac.compare_digest(digest, expected)
    return matched


def _identify() -> None:
    """Who a request counts against: its API key once verified, else its client address. Runs before the
    rate limit, so a missing, wrong or invented key is counted against the address that sent it."""
    g.api_key_ok = False
    g.rate_client = _address()
    keys = current_app.config["API_KEYS"]
    key = request.headers.get("X-API-Key")
    if keys and key and _key_matches(key, keys):
        g.api_key_ok = True
        g.rate_client = "API key sha256:" + hash_key(key)[:12]


def _rate_key() -> str:
    return str(g.get("rate_client") or _address())


def _address() -> str:
    return "address " + (request.remote_addr or "unknown")


def _is_open() -> bool:
    return request.method == "OPTIONS" or request.endpoint in OPEN_ENDPOINTS


def _require_key() -> None:
    """Refuse a request without a listed X-API-Key; raises ApiError (401)."""
    if _is_open() or g.get("api_key_ok"):
        return
    raise ApiError(
        "A valid API key is required: send it in the X-API-Key header.",
        status=401,
        code="unauthorized",
        headers={"WWW-Authenticate": "X-API-Key"},
    )


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
    """Around the whole app: a request id, security headers, one JSON access record (never the body or a key)
    on the turbine_status.access logger, and the metrics when they are on.

    Plain WSGI, so the cost per request stays small and errors answered by Flask get the same headers."""

    def __init__(
        self, wsgi_app: WSGIApplication, backend: str, rate_limited: bool, log: bool, observe: Observer | None = None
    ) -> None:
        self.wsgi_app = wsgi_app
        self.backend = backend
        self.rate_limited = rate_limited
        self.log = log
        self.observe = observe

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = environ[REQUEST_ID_KEY] = _request_id(environ)
        status_line = ""

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            nonlocal status_line
            status_line = status
            if self.rate_limited:
                # The limiter computes a retry delay for every answer; only a 429 of its own should carry it.
                retry_after = [v for k, v in headers if k == LIMITER_RETRY_AFTER]
                headers[:] = [(k, v) for k, v in headers if k != LIMITER_RETRY_AFTER]
                if retry_after and status.startswith("429"):
                    headers.append(("Retry-After", retry_after[0]))
            headers += (("X-Request-Id", request_id), *SECURITY_HEADERS)
            if any(k == "Content-Type" and v.startswith("text/html") for k, v in headers):
                headers.append(("Content-Security-Policy", PAGE_SECURITY_POLICY))
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            latency = time.perf_counter() - started
            status = int(status_line[:3]) if status_line else None
            if self.log and access_log.isEnabledFor(logging.INFO):
                fields: dict[str, Any] = {"request_id": request_id}
                aws_request_id = lambda_request_id(environ)
                if aws_request_id:
                    fields["aws_request_id"] = aws_request_id
                fields.update(
                    method=environ.get("REQUEST_METHOD", ""),
                    route=_path(environ),
                    status=status,
                    rows=environ.get(ROWS_KEY),
                    backend=self.backend,
                    latency_ms=round(latency * 1000, 3),
                )
                # A record made and handled directly: logger.info would also look up the caller's file and line,
                # which the access line does not show.
                record = access_log.makeRecord(access_log.name, logging.INFO, "", 0, "request", (), None)
                setattr(record, FIELDS, fields)
                access_log.handle(record)
            if self.observe:
                self.observe(environ, request_id, status, latency)


def add_request_middleware(app: Flask, observe: Observer | None = None) -> None:
    """Wrap the whole app, last, in RequestMiddleware."""
    app.wsgi_app = RequestMiddleware(  # type: ignore[method-assign]
        app.wsgi_app,
        app.extensions["backend"].name,
        rate_limited=bool(app.config["RATELIMIT_DEFAULT"]),
        log=app.config["ACCESS_LOG"] and level(app.config) <= logging.INFO,
        observe=observe,
    )


def init_security(app: Flask) -> None:
    """Install key checks and rate limits when configured: who the request is, then its limit, then its key."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the addresses the trusted proxies appended: anything further left was written by the client.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    if not (app.config["API_KEYS"] or app.config["RATELIMIT_DEFAULT"]):
        return
    app.before_request(_identify)
    if app.config["RATELIMIT_DEFAULT"]:
        _init_limiter(app)
    if app.config["API_KEYS"]:
        app.before_request(_require_key)


def _init_limiter(app: Flask) -> None:
    # Imported only here: it pulls in asyncio and storage drivers, a cost a start-up without limits need not pay.
    from flask_limiter import HeaderNames, Limiter
    from flask_limiter.errors import RateLimitExceeded

    limiter = Limiter(
        _rate_key,
        app=app,
        # One budget per key or address across every guarded route, as a client counts its calls.
        application_limits=[app.config["RATELIMIT_DEFAULT"]],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        headers_enabled=True,
        header_name_mapping={HeaderNames.RETRY_AFTER: LIMITER_RETRY_AFTER},
        strategy="fixed-window",  # one counter per key: constant memory and time whatever the limit
        swallow_errors=True,  # a storage outage is logged and lets requests through rather than failing them
    )
    limiter.request_filter(_is_open)

    @app.errorhandler(RateLimitExceeded)
    def limited(error: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        retry = max(1, math.ceil(current.reset_at - time.time())) if current else 1
        return render(
            ApiError(
                f"Rate limit of {error.limit.limit} used up for {_rate_key()}; retry in {retry} s.",
                status=429,
                code="too_many_requests",
            )
        )
