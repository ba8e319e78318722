"""The application factory: config, CORS, backend, routes, error handlers, security and telemetry."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS

from app import config as settings
from app.codecs.inference_protocol import HEADER_LENGTH
from app.codecs.sagemaker import CUSTOM_ATTRIBUTES
from app.dataplane import DataPlane, Limits
from app.logs import service_logger
from app.models import Model, identity, load_model
from app.models.registry import Registry
from app.monitoring.ids import InferenceIds
from app.web.docs import add_swagger_ui
from app.web.errors import register_error_handlers
from app.web.logs import init_logging
from app.web.metrics import init_metrics
from app.web.security import init_security, security_headers
from app.web.serving import DATAPLANE
from app.web.telemetry import add_request_middleware

STATIC_FOLDER = Path(__file__).resolve().parent.parent / "static"
EVERY_PATH = re.compile(".*")  # where CORS applies; compiled, flask-cors matches it as it is


def _inference_ids(app: Flask) -> InferenceIds:
    """What signs X-Inference-Id: INFERENCE_ID_SECRET, or a secret of this process's own, said in the log when
    feedback depends on it."""
    secret = app.config["INFERENCE_ID_SECRET"]
    if not secret and app.config["CAPTURE_URI"]:
        service_logger("capture").warning(
            "INFERENCE_ID_SECRET is not set: /v1/feedback takes only ids this process issued (set it, the same on "
            "every worker and instance, to take them all)"
        )
    return InferenceIds(secret.encode() if secret else secrets.token_bytes(32))


def create_app(config: Mapping[str, Any] | None = None, model: Model | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `config`; `model` replaces the configured one."""
    app = Flask(__name__, static_folder=STATIC_FOLDER, static_url_path="/static")
    try:
        app.config.update(settings.resolve(os.environ, config))
        init_logging(app)
        with app.app_context():  # what the model logs at start-up follows this app's LOG_LEVEL
            models = Registry([model or load_model(app.config)])
            ids = _inference_ids(app)
    except settings.ConfigError as error:
        error.debug = app.config.get("LOG_LEVEL", os.environ.get("LOG_LEVEL")) == "DEBUG"
        raise

    CORS(
        app,
        resources=EVERY_PATH,
        origins=app.config["CORS_ORIGINS"],
        supports_credentials=False,
        send_wildcard=app.config["CORS_ORIGINS"] == "*",
        always_send=False,  # CORS headers answer an Origin; other clients need none
        methods=["GET", "HEAD", "POST", "OPTIONS"],  # the methods the routes answer
        allow_headers=["Content-Type", "X-API-Key", CUSTOM_ATTRIBUTES, HEADER_LENGTH],
        expose_headers=[
            HEADER_LENGTH,
            "X-Request-Id",
            "X-Inference-Id",
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
        max_age=600,
    )
    register_error_handlers(app)
    metrics = init_metrics(app)
    init_security(app)
    hooks = []
    if app.config["CAPTURE_URI"]:
        from app.monitoring.capture import capture_from_config

        counted = metrics.captured if metrics else None
        capture = capture_from_config(app.config, identity(models.default), counted)
        app.extensions["capture"] = capture
        hooks.append(capture.scored)
    limits = Limits(app.config["MAX_ROWS"], app.config["MAX_EXPLAIN_ROWS"])
    app.extensions[DATAPLANE] = DataPlane(models, limits, ids, hooks)

    from app import cli
    from app.web import api, inference_protocol, mlflow, pages, sagemaker

    for blueprint in (pages.bp, api.bp, sagemaker.bp, inference_protocol.bp, mlflow.bp):
        app.register_blueprint(blueprint)
    add_swagger_ui(app)
    cli.register_commands(app)
    add_request_middleware(app, security_headers(app), metrics.observe if metrics else None)
    return app
