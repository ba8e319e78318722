"""The pages: the demo page, the API's docs, and the OpenAPI document they read."""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response, current_app, request

from app.models import identity
from app.web.errors import json_response
from app.web.openapi import build_document
from app.web.routes import ROUTES
from app.web.serving import plane

bp = Blueprint("pages", __name__)
OPENAPI_KEY = "turbine_status.openapi"  # the built document, in app.extensions


def _html(name: str) -> Response:
    """A page from static/, based at the app's root so relative URLs work under a stage prefix."""
    assert current_app.static_folder is not None
    with open(f"{current_app.static_folder}/{name}", encoding="utf-8") as f:
        html = f.read()
    base = f'<base href="{escape(request.script_root, quote=True)}/">'
    return Response(html.replace("<head>", "<head>\n  " + base, 1), mimetype="text/html")


@bp.get("/")
def page() -> Response:
    """Serve the demo page."""
    return _html("index.html")


@bp.get("/docs")
def docs() -> Response:
    """Serve the human-readable API docs, rendered from /openapi.json."""
    return _html("docs.html")


@bp.get("/openapi.json")
def openapi() -> Response:
    """Describe every route, input format and error as OpenAPI 3.1."""
    # Built once per app: it changes only with the model and the configuration.
    extensions = current_app.extensions
    if OPENAPI_KEY not in extensions:
        model, config = plane().models.default, current_app.config
        extensions[OPENAPI_KEY] = build_document(
            identity(model),
            model.schema,
            [route for route in ROUTES if route.served(config)],
            bool(config["API_KEYS"]),
            config["MAX_ROWS"],
            model.task,
        )
    return json_response(extensions[OPENAPI_KEY])
