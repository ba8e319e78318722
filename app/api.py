"""HTTP routes: thin views that parse, call the backend and answer JSON."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from html import escape
from itertools import repeat
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Config, Flask, Request, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from app.backends import Backend, Predictions
from app.errors import ValidationError, error_response, json_response
from app.openapi import build_document
from app.schema import SAMPLE_CSV, Readings, parse_body, schema_dict
from app.security import ROWS_KEY

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

bp = Blueprint("api", __name__)


def _app() -> Flask:
    """The app itself: each use of the current_app proxy costs a context lookup."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _backend(app: Flask) -> Backend:
    return app.extensions["backend"]  # type: ignore[no-any-return]


@lru_cache(maxsize=64)
def _content_type(header: str) -> tuple[str, str | None]:
    """The media type and charset of a Content-Type header; clients send few distinct ones."""
    mimetype, params = parse_options_header(header)
    return mimetype.lower(), params.get("charset")


def _readings(environ: WSGIEnvironment, body: bytes, config: Config) -> Readings:
    """The body's validated readings; raises the schema's typed errors."""
    rows = parse_body(body, *_content_type(environ.get("CONTENT_TYPE", "")), config["MAX_ROWS"])
    environ[ROWS_KEY] = len(rows)
    return rows


def _request_readings(app: Flask) -> Readings:
    current: Request = request._get_current_object()  # type: ignore[attr-defined]  # one lookup, not three
    return _readings(current.environ, _body(current, app.config["MAX_CONTENT_LENGTH"]), app.config)


def _declared_length(environ: WSGIEnvironment, limit: int) -> int | None:
    """The body's length when it is declared, within the limit and not chunked: then one read takes it all."""
    declared = environ.get("CONTENT_LENGTH", "")
    if not declared.isdigit() or "HTTP_TRANSFER_ENCODING" in environ:
        return None
    length = int(declared)
    return length if length <= limit else None


def _read(environ: WSGIEnvironment, length: int) -> bytes:
    """A body of declared length, in one call as PEP 3333 allows; raises ValidationError if it ends early."""
    body: bytes = environ["wsgi.input"].read(length)
    if len(body) != length:
        raise ValidationError(f"The body ended after {len(body)} of the {length} bytes its Content-Length announced.")
    return body


def _body(current: Request, limit: int) -> bytes:
    """The body; a missing, chunked or too large length goes through werkzeug's guarded stream, which
    answers 413 when it must."""
    length = _declared_length(current.environ, limit)
    if length is not None:
        return _read(current.environ, length)
    streamed = current.get_data(cache=False)
    # werkzeug ends a streamed body at the limit without a word: one more byte means it was longer.
    if len(streamed) == limit and current.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return streamed


def _flag(name: str) -> bool:
    """A true/false query parameter; raises ValidationError for any other value."""
    value = request.args.get(name, "false")
    if value not in ("true", "false"):
        raise ValidationError(
            f"Query parameter {name} must be true or false.",
            [{"row": None, "field": name, "message": f"{value!r} is not true or false"}],
        )
    return value == "true"


@bp.post("/")
def predict_classic() -> Response:
    """Score readings and answer in the SageMaker linear-learner shape."""
    app = _app()
    return _classic_answer(app, _request_readings(app))


def _classic_answer(app: Flask, readings: Readings) -> Response:
    return json_response(classic_body(_backend(app).predict(readings)))


class ClassicShortcut:
    """POST / answered beneath Flask's dispatch: its routing and request context cost more than parsing and
    scoring one reading, and add nothing when the app has no request hooks (create_app installs this only
    then; Flask's signals are not sent for these requests). The same body reading, parsing, backend, answer
    and error shape as the view. A request with an Origin (CORS), or a chunked, undeclared or too large body,
    goes to Flask."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flask = app.wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.app
        if environ["REQUEST_METHOD"] == "POST" and environ.get("PATH_INFO") == "/" and "HTTP_ORIGIN" not in environ:
            length = _declared_length(environ, app.config["MAX_CONTENT_LENGTH"])
            if length is not None:
                try:
                    response = _classic_answer(app, _readings(environ, _read(environ, length), app.config))
                except Exception as error:  # as Flask's handler would: ApiError's own answer, else a bare 500
                    response = error_response(error)
                return response(environ, start_response)
        return self.flask(environ, start_response)


def classic_body(predictions: Predictions) -> dict[str, Any]:
    """The linear-learner answer: {"predictions": [{"score": ..., "predicted_label": ...}, ...]}."""
    scores, labels, _ = predictions
    return {"predictions": [{"score": s, "predicted_label": k} for s, k in zip(scores, labels, strict=True)]}


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
    app = _app()
    backend = _backend(app)
    scores, labels, contributions = backend.predict(_request_readings(app), explain=explain)
    info = backend.describe()
    return json_response(
        {
            "predictions": list(map(_versioned, scores, labels, contributions or repeat(None))),
            "model": {"backend": info["backend"], "name": info.get("name"), "version": info.get("version")},
        }
    )


@bp.get("/ping")
def ping() -> Response:
    """Say the service is up and which backend answers."""
    info = _backend(current_app).describe()
    return json_response(
        {"status": "ok", "backend": info["backend"], "model": info.get("name") or info.get("endpoint")}
    )


@bp.get("/v1/model")
def model() -> Response:
    """Describe the model, its metrics and the reading's fields."""
    return json_response({**_backend(current_app).describe(), "schema": schema_dict(), "sample": SAMPLE_CSV})


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
    return json_response(build_document(str(_backend(current_app).describe().get("version", "1"))))
