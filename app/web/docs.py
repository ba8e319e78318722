"""Swagger UI's own files for /docs, served from the copy of its distribution that flask-swagger-ui ships."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Flask, Response, abort, send_from_directory

# What static/docs.html loads; the rest of the distribution (its standalone layout, OAuth page) is not served.
SWAGGER_UI_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})
ENDPOINT = "swagger_ui"


def swagger_ui_dist() -> Path:
    """The distribution's folder, found without importing the package (its blueprint is not used: the page it
    renders carries inline script, which the page's Content-Security-Policy refuses)."""
    spec = importlib.util.find_spec("flask_swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("flask-swagger-ui is missing: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "dist"


def add_swagger_ui(app: Flask) -> None:
    """Serve GET /docs/<file> for the few files of Swagger UI that /docs loads."""
    dist = swagger_ui_dist()

    def swagger_ui_file(name: str) -> Response:
        if name not in SWAGGER_UI_FILES:
            abort(404)
        return send_from_directory(dist, name)

    app.add_url_rule("/docs/<name>", ENDPOINT, swagger_ui_file, methods=["GET"])
