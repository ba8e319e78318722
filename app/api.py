"""HTTP routes: thin views that parse, call the backend and answer JSON."""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from itertools import repeat
from typing import Any

from flask import Blueprint, Request, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from app.backends import Backend, Predictions
from app.errors import ValidationError
from app.openapi import build_document
from app.schema import SAMPLE_CSV, Readings, parse_body, schema_dict
from app.security import ROWS_KEY

bp = Blueprint("api", __name__)


def _backend() -> Backend:
    return current_app.extensions["backend"]  # type: ignore[no-any-return]


@lru_cache(maxsize=64)
def _content_type(header: str) -> tuple[str, str | None]:
    """The media type and charset of a Content-Type header; clients send few distinct ones."""
    mimetype, params = parse_options_header(header)
    return mimetype.lower(), params.get("charset")


def _readings() -> Readings:
    """The request's validated readings; raises the schema's typed errors."""
    current: Request = request._get_current_object()  # type: ignore[attr-defined]  # one lookup, not five
    environ, config = current.environ, current_app.config
    rows = parse_body(
        _body(current, config["MAX_CONTENT_LENGTH"]),
        *_content_type(environ.get("CONTENT_TYPE", "")),
        config["MAX_ROWS"],
    )
    environ[ROWS_KEY] = len(rows)
    return rows


def _body(current: Request, limit: int) -> bytes:
    """The body. A declared length within the limit is read in one call, as PEP 3333 allows; a missing,
    chunked or too large one goes through werkzeug's guarded stream, which answers 413 when it must."""
    environ = current.environ
    declared = environ.get("CONTENT_LENGTH", "")
    length = int(declared) if declared.isdigit() else -1
    if not 0 <= length <= limit or "HTTP_TRANSFER_ENCODING" in environ:
        streamed = current.get_data(cache=False)
        # werkzeug ends a streamed body at the limit without a word: one more byte means it was longer.
        if len(streamed) == limit and environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
        return streamed
    body: bytes = environ["wsgi.input"].read(length)
    if len(body) != length:
        raise ValidationError(f"The body ended after {len(body)} of the {length} bytes its Content-Length announced.")
    return body


def _flag(name: str) -> bool:
    """A true/false query parameter; raises ValidationError for any other value."""
    value = request.args.get(name, "false")
    if value not in ("true", "false"):
        raise ValidationError(
            f"Query parameter {name} must be true or false.",
            [{"row": None, "field": name, "message": f"{value!r} is not true or false"}],
        )
    return value == "true"


def _json(body: Any) -> Response:
    # json.dumps straight into a Response: Flask's provider adds nothing these bodies need.
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


@bp.post("/")
def predict_classic() -> Response:
    """Score readings and answer in the SageMaker linear-learner shape."""
    return Response(classic_json(_backend().predict(_readings())), mimetype="application/json")


def classic_json(predictions: Predictions) -> str:
    """The linear-learner answer, formatted directly: three times faster than json.dumps of one dict per
    reading, for the same JSON (repr of a finite float is a JSON number)."""
    scores, labels, _ = predictions
    items = ",".join([f'{{"score":{s!r},"predicted_label":{k}}}' for s, k in zip(scores, labels, strict=True)])
    return f'{{"predictions":[{items}]}}'


def _versioned(score: float, label: int, contributions: dict[str, float] | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "score": score,
        "predicted_label": label,
        "label": "maintenance_required" if label else "healthy",
    }
    if contributions is not None:
        item["contributions"] = contributions
    return item


@bp.post("/v1/predictions")
def predict_v1() -> Response:
    """Score readings; adds a text label, the model, and with ?explain=true each field's contribution."""
    explain = _flag("explain")
    backend = _backend()
    scores, labels, contributions = backend.predict(_readings(), explain=explain)
    info = backend.describe()
    return _json(
        {
            "predictions": list(map(_versioned, scores, labels, contributions or repeat(None))),
            "model": {"backend": info["backend"], "name": info.get("name"), "version": info.get("version")},
        }
    )


@bp.get("/ping")
def ping() -> Response:
    """Say the service is up and which backend answers."""
    info = _backend().describe()
    return _json({"status": "ok", "backend": info["backend"], "model": info.get("name") or info.get("endpoint")})


@bp.get("/v1/model")
def model() -> Response:
    """Describe the model, its metrics and the reading's fields."""
    return _json({**_backend().describe(), "schema": schema_dict(), "sample": SAMPLE_CSV})


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
    return _json(build_document(str(_backend().describe().get("version", "1"))))
