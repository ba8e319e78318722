"""API keys, rate limits, request ids and the one JSON access-log line per request."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from flask_limiter import HeaderNames, Limiter

from app.errors import ApiError

access_log = logging.getLogger("turbine_status.requests")

# Endpoints anyone may call: health, the page, its assets and the API's description.
OPEN_ENDPOINTS = frozenset({"api.ping", "api.page", "static", "api.openapi", "api.docs"})
LIMITER_RETRY_AFTER = "X-Limiter-Retry-After"
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _key_matches(key: str, hashes: tuple[str, ...]) -> bool:
    """Compare against every hash in constant time, so timing tells nothing about which or how much matched."""
    digest = hash_key(key)
    matched = False
    for expected in hashes:
        matched |= hmac.compare_digest(digest, expected)
    return matched


def _request_id() -> str:
    event = request.environ.get("lambda.event") or {}
    lambda_id = (event.get("requestContext") or {}).get("requestId")
    if lambda_id:
        return str(lambda_id)
    sent = request.headers.get("X-Request-Id", "")
    return sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def _rate_key() -> str:
    key = request.headers.get("X-API-Key")
    return "key:" + hash_key(key) if key else "ip:" + (request.remote_addr or "unknown")


def _start() -> None:
    g.started = time.perf_counter()
    g.request_id = _request_id()
    hashes = current_app.config["API_KEYS"]
    if not hashes or request.method == "OPTIONS" or request.endpoint in OPEN_ENDPOINTS:
        return
    key = request.headers.get("X-API-Key")
    if not key or not _key_matches(key, hashes):
        raise ApiError(
            "A valid API key is required: send it in the X-API-Key header.",
            status=401,
            code="unauthorized",
            headers={"WWW-Authenticate": "X-API-Key"},
        )


def _finish(response: Response) -> Response:
    request_id = g.get("request_id") or _request_id()
    response.headers["X-Request-Id"] = request_id
    # The limiter computes a retry delay for every answer; only a 429 of its own should carry it.
    limiter_retry_after = response.headers.pop(LIMITER_RETRY_AFTER, None)
    if response.status_code == 429 and limiter_retry_after is not None:
        response.headers["Retry-After"] = limiter_retry_after
    started = g.get("started")
    access_log.info(
        json.dumps(
            {
                "request_id": request_id,
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "path": request.path,
                "status": response.status_code,
                "rows": g.get("rows"),
                "backend": current_app.extensions["backend"].name,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3) if started else None,
            }
        )
    )
    return response


def init_security(app: Flask) -> None:
    """Install key checks, rate limits, request ids and access logs on the app."""
    if not logging.getLogger().handlers and not access_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    app.before_request(_start)
    app.after_request(_finish)
    limiter = Limiter(
        _rate_key,
        app=app,
        default_limits=[app.config["RATELIMIT_DEFAULT"]],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        headers_enabled=True,
        header_name_mapping={HeaderNames.RETRY_AFTER: LIMITER_RETRY_AFTER},
        strategy="moving-window",
        swallow_errors=True,  # a storage outage is logged and lets requests through rather than failing them
    )
    limiter.request_filter(lambda: request.method == "OPTIONS" or request.endpoint in OPEN_ENDPOINTS)
    app.extensions["limiter_instance"] = limiter
