"""The application factory: config, CORS, backend, routes and error handlers."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from flask import Flask, Response, request
from flask_cors import CORS

from app import config as settings
from app.backends import Backend, make_backend
from app.errors import register_error_handlers
from app.security import add_request_middleware, init_security

STATIC_FOLDER = Path(__file__).resolve().parent.parent / "static"


def create_app(config: Mapping[str, Any] | None = None, backend: Backend | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `config`; `backend` replaces the configured one."""
    app = Flask(__name__, static_folder=STATIC_FOLDER, static_url_path="/static")
    app.config.update(settings.defaults())
    app.config.update(settings.from_env(os.environ))
    app.config.update(config or {})

    CORS(
        app,
        origins=app.config["CORS_ORIGINS"],
        supports_credentials=False,
        send_wildcard=app.config["CORS_ORIGINS"] == "*",
        always_send=False,  # CORS headers answer an Origin; other clients need none
        allow_headers=["Content-Type", "X-API-Key"],
        expose_headers=[
            "X-Request-Id",
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
        max_age=600,
    )
    cors_hook = _skip_cors_without_origin(app)
    app.extensions["backend"] = backend or make_backend(app.config)
    register_error_handlers(app)
    init_security(app)

    from app import api, cli

    app.register_blueprint(api.bp)
    cli.register_commands(app)
    if _has_no_hooks_but(app, cors_hook):
        app.wsgi_app = api.ClassicShortcut(app)  # type: ignore[method-assign]
    add_request_middleware(app)
    return app


def _has_no_hooks_but(app: Flask, hook: Callable[[Response], Response]) -> bool:
    """Whether Flask runs nothing around a view but `hook` (API keys and rate limits add their own)."""
    hooks = [*app.before_request_funcs.values(), *app.teardown_request_funcs.values()]
    hooks += [*app.url_value_preprocessors.values(), app.teardown_appcontext_funcs]
    return not any(hooks) and list(app.after_request_funcs.items()) == [(None, [hook])]


def _skip_cors_without_origin(app: Flask) -> Callable[[Response], Response]:
    """flask-cors answers nothing to a request without an Origin (always_send=False), but its after-request
    hook still costs as much as the rest of a single-row prediction; skip it for those requests."""
    hooks = app.after_request_funcs[None]
    position = next(i for i, hook in enumerate(hooks) if hook.__name__ == "cors_after_request")
    cors_hook = cast(Callable[[Response], Response], hooks[position])  # flask-cors's hook is synchronous

    def cors_after_request(response: Response) -> Response:
        return cors_hook(response) if "HTTP_ORIGIN" in request.environ else response

    hooks[position] = cors_after_request
    return cors_after_request
