"""API keys, rate limits and security headers."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request

from app.web.errors import ApiError, render

if TYPE_CHECKING:
    from app.web.telemetry import HeaderWriter

# Endpoints anyone may call: health, the page, its assets and the API's description with Swagger UI's files.
OPEN_ENDPOINTS = frozenset(
    {
        "api.ping",
        "v2.server",
        "mlflow.version",
        "v2.live",
        "v2.ready",
        "pages.page",
        "static",
        "pages.openapi",
        "pages.docs",
        "swagger_ui",
    }
)
LIMITER_RETRY_AFTER = "X-Limiter-Retry-After"
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


def add_security_headers(status: str, headers: list[tuple[str, str]]) -> None:
    """The headers every answer carries, errors answered by Flask included, and a Content-Security-Policy on a
    page."""
    headers += SECURITY_HEADERS
    if any(k == "Content-Type" and v.startswith("text/html") for k, v in headers):
        headers.append(("Content-Security-Policy", PAGE_SECURITY_POLICY))


def _add_limited_security_headers(status: str, headers: list[tuple[str, str]]) -> None:
    """add_security_headers, when rate limits are on: the limiter computes a retry delay for every answer; only a
    429 of its own should carry it."""
    retry_after = [v for k, v in headers if k == LIMITER_RETRY_AFTER]
    headers[:] = [(k, v) for k, v in headers if k != LIMITER_RETRY_AFTER]
    if retry_after and status.startswith("429"):
        headers.append(("Retry-After", retry_after[0]))
    add_security_headers(status, headers)


def security_headers(app: Flask) -> HeaderWriter:
    """What the request middleware adds to every answer's headers."""
    return _add_limited_security_headers if app.config["RATELIMIT_DEFAULT"] else add_security_headers


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
