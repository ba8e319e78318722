"""HTTP routes: thin views that parse, call the backend and answer JSON."""

from __future__ import annotations

from html import escape
from itertools import repeat
from typing import TYPE_CHECKING, Any

import orjson
from flask import Blueprint, Flask, Request, Response, current_app, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import RequestEntityTooLarge

from app.core.prediction import Predictions
from app.models import Model, identity
from app.schema import ReadingsError, TooManyReadings, UnsupportedBody, shown
from app.web.errors import (
    ApiError,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
    batch_hint,
    json_response,
    render,
)
from app.web.openapi import build_document
from app.web.routes import CUSTOM_ATTRIBUTES, CUSTOM_ATTRIBUTES_LIMIT, HEADER_LENGTH, INVOCATION_ANSWERS, ROUTES
from app.web.telemetry import record

if TYPE_CHECKING:
    from app.monitoring.capture import Capture

bp = Blueprint("api", __name__)
OPENAPI_KEY = "turbine_status.openapi"  # the built document, in app.extensions
# The answers to the validator's errors, wherever in the app they are raised.
READINGS_ERRORS: dict[type[ReadingsError], type[ApiError]] = {
    TooManyReadings: PayloadTooLarge,
    UnsupportedBody: UnsupportedMediaType,
    ReadingsError: ValidationError,
}


@bp.app_errorhandler(ReadingsError)
def readings_error(error: ReadingsError) -> Response:
    """A body the validator refused, answered in the one error shape with its status."""
    message = error.message
    if isinstance(error, TooManyReadings):  # the bytes that would have held the most readings allowed
        size = request.content_length
        message += batch_hint(size * error.limit // error.count if size else None, "MAX_ROWS")
    return render(READINGS_ERRORS[type(error)](message, error.details))


def _backend() -> Model:
    return current_app.extensions["backend"]  # type: ignore[no-any-return]


def _body(req: Request) -> bytes:
    """The body; werkzeug answers 413 for a declared length over the limit and 400 for a body that ends early."""
    body = req.get_data(cache=False)
    # werkzeug ends a body without Content-Length (chunked) at the limit without a word: one more byte means it
    # was longer. With a Content-Length werkzeug has already compared it, and a read past it would wait on the
    # connection for bytes that never come.
    if req.content_length is None and len(body) == req.max_content_length and req.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return body


def _scored(explain: bool = False, values: list[list[Any]] | None = None) -> tuple[Model, Predictions]:
    """The request body's readings (or, from another protocol, `values` per reading in field order), validated
    and scored, noted in the request's record; raises the schema's ReadingsError or the backend's BackendError."""
    # The objects behind Flask's proxies, read once: each read through a proxy looks the context up again.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    backend: Model = app.extensions["backend"]
    if values is None:
        rows = backend.schema.parse_body(
            _body(req), req.mimetype, req.mimetype_params.get("charset"), app.config["MAX_ROWS"]
        )
    else:
        rows = backend.schema.parse_values(values, app.config["MAX_ROWS"])
    if explain:
        _check_explained(len(rows), app.config["MAX_EXPLAIN_ROWS"], req.content_length)
    served = record(req.environ)
    served.rows = len(rows)
    served.inference_id = inference_id = app.extensions["inference_ids"].issue(len(rows))
    predictions = backend.predict(rows, explain=explain, inference_id=inference_id)
    served.labels = predictions.labels
    capture: Capture | None = app.extensions.get("capture")
    if capture is not None and capture.wanted():
        capture.predicted(inference_id, rows.columns, predictions.scores, predictions.labels)
    return backend, predictions


def _check_explained(count: int, limit: int, size: int | None) -> None:
    """Raises PayloadTooLarge when more readings ask to be explained than one request may: each costs far more
    than a score (tens of milliseconds for hundreds of trees), and the bound keeps a request within its client's
    patience."""
    if count > limit:
        message = (
            f"{count} readings sent to be explained; at most {limit} are explained in one request (MAX_EXPLAIN_ROWS): "
            f"send {limit} or fewer per request, or leave explanations off."
        )
        raise PayloadTooLarge(message + batch_hint(size * limit // count if size else None, "MAX_EXPLAIN_ROWS"))


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
    return json_response(classic_body(_scored()[1]))


def classic_body(predictions: Predictions) -> dict[str, Any]:
    """The linear-learner answer: {"predictions": [{"score": ..., "predicted_label": ...}, ...]}."""
    return {"predictions": classic_items(predictions)}


def classic_items(predictions: Predictions) -> list[dict[str, Any]]:
    """Each reading's score and label, and its contributions if they were asked for."""
    scores, labels, contributions = predictions
    if contributions is None:
        return [{"score": s, "predicted_label": k} for s, k in zip(scores, labels, strict=True)]
    return [
        {"score": s, "predicted_label": k, "contributions": c}
        for s, k, c in zip(scores, labels, contributions, strict=True)
    ]


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
    backend, (scores, labels, contributions) = _scored(explain=_flag("explain"))
    info = backend.describe()
    return json_response(
        {
            "predictions": list(map(_versioned, scores, labels, contributions or repeat(None))),
            "model": {"backend": info["backend"], "name": info.get("name"), "version": info.get("version")},
        }
    )


@bp.post("/invocations")
def invocations() -> Response:
    """SageMaker's scoring route: the bodies POST / takes, answered as JSON, CSV or JSON Lines as Accept asks,
    one prediction per reading in order (so Batch Transform's AssembleWith=Line joins them line for line)."""
    # Decided before the body is read: an answer nobody can take is not worth scoring.
    # Matched on the media type alone: parameters such as charset=utf-8 or header=present change nothing here.
    accept = MIMEAccept([(value.partition(";")[0].strip(), quality) for value, quality in request.accept_mimetypes])
    answer = accept.best_match(INVOCATION_ANSWERS) if accept else INVOCATION_ANSWERS[0]
    if answer is None:
        raise NotAcceptable(
            f"Accept asks for none of the types this route answers: {', '.join(INVOCATION_ANSWERS)}.",
            [{"row": None, "field": "Accept", "message": f"{request.headers.get('Accept')!r} matches none"}],
        )
    backend, predictions = _scored(explain=_explain_attribute())
    if answer == "text/csv":  # score,label, then each field's contribution in field order
        scores, labels, contributions = predictions
        lines = [f"{score!r},{label}" for score, label in zip(scores, labels, strict=True)]
        if contributions is not None:
            names = backend.schema.names
            extra = ([repr(c[name]) for name in names] for c in contributions)
            lines = [",".join([line, *more]) for line, more in zip(lines, extra, strict=True)]
        return Response("\n".join(lines), mimetype=answer)
    if answer == "application/jsonlines":
        return Response(b"\n".join(map(orjson.dumps, classic_items(predictions))), mimetype=answer)
    return json_response(classic_body(predictions))


def _explain_attribute() -> bool:
    """Whether SageMaker's custom attributes, comma-separated key=value pairs, hold explain=true; other pairs are
    the caller's own and left alone. Raises ValidationError for an explain that is neither true nor false."""
    attributes = request.headers.get(CUSTOM_ATTRIBUTES, "")
    if len(attributes) > CUSTOM_ATTRIBUTES_LIMIT:
        raise ValidationError(
            f"{CUSTOM_ATTRIBUTES} is longer than SageMaker's {CUSTOM_ATTRIBUTES_LIMIT} characters.",
            [{"row": None, "field": CUSTOM_ATTRIBUTES, "message": f"{len(attributes)} characters"}],
        )
    pairs = (part.partition("=") for part in attributes.split(","))
    values = [value.strip() for key, sep, value in pairs if sep and key.strip() == "explain"]
    refused = [value for value in values if value not in ("true", "false")]
    if refused:
        raise ValidationError(
            f"{CUSTOM_ATTRIBUTES}: explain must be true or false.",
            [{"row": None, "field": "explain", "message": f"{shown(refused[0])!r} is not true or false"}],
        )
    return "true" in values


@bp.post("/v1/feedback")
def feedback() -> Response:
    """Take ground truth back: the label each reading of an answered request turned out to have."""
    from app.monitoring.feedback import parse_feedback

    capture: Capture | None = current_app.extensions.get("capture")
    if capture is None:
        raise ApiError(
            "Capture is off: ground truth is kept only with CAPTURE_URI set.", status=409, code="capture_off"
        )
    truths = parse_feedback(
        _body(request), request.mimetype, current_app.config["MAX_ROWS"], current_app.extensions["inference_ids"].rows
    )
    capture.add(truths)
    return json_response({"accepted": len(truths)}, 202)


# The Open Inference Protocol (V2): the model is the one /v1/model describes, by its name and version.
@bp.get("/v2")
def v2_server() -> Response:
    return json_response({"name": "turbine-status", "version": "1", "extensions": ["binary_tensor_data"]})


@bp.get("/v2/health/live")
def v2_live() -> Response:
    return json_response({"live": True})


@bp.get("/v2/health/ready")
def v2_ready() -> Response:
    return json_response({"ready": True})  # the app exists only once its backend is built


def _served(name: str, version: str | None) -> tuple[str, str]:
    """The served model's name and version, if the path names them; raises a 404 naming what it serves."""
    served = identity(_backend())
    if name != served[0] or version not in (None, served[1]):
        asked = f"{name} version {version}" if version else name
        raise ApiError(
            f"No model {asked}: this server serves {served[0]} version {served[1]}.",
            [{"row": None, "field": "version" if name == served[0] else "name", "message": "not served here"}],
            status=404,
            code="not_found",
        )
    return served


@bp.get("/v2/models/<name>")
@bp.get("/v2/models/<name>/versions/<version>")
def v2_model(name: str, version: str | None = None) -> Response:
    from app.inference_protocol import model_metadata

    return json_response(model_metadata(*_served(name, version), _backend().schema))


@bp.get("/v2/models/<name>/ready")
@bp.get("/v2/models/<name>/versions/<version>/ready")
def v2_model_ready(name: str, version: str | None = None) -> Response:
    return json_response({"name": _served(name, version)[0], "ready": True})


@bp.post("/v2/models/<name>/infer")
@bp.post("/v2/models/<name>/versions/<version>/infer")
def v2_infer(name: str, version: str | None = None) -> Response:
    """Score the readings an infer request's tensors hold, one per field, through the one validator."""
    from app.inference_protocol import ProtocolError, infer_response, parse_infer

    served = _served(name, version)
    try:
        wanted = parse_infer(
            _body(request), request.headers.get(HEADER_LENGTH), _backend().schema, current_app.config["MAX_ROWS"]
        )
    except ProtocolError as error:
        raise ValidationError(error.message, [{"row": None, "field": error.field, "message": error.message}]) from None
    _, predictions = _scored(values=wanted.rows)
    body, header = infer_response(*served, wanted, predictions)
    if header is None:
        return Response(body, mimetype="application/json")
    return Response(body, mimetype="application/octet-stream", headers={HEADER_LENGTH: str(header)})


@bp.get("/ping")
def ping() -> Response:
    """Say the service is up and which backend answers."""
    info = _backend().describe()
    return json_response(
        {"status": "ok", "backend": info["backend"], "model": info.get("name") or info.get("endpoint")}
    )


@bp.get("/v1/model")
def model() -> Response:
    """Describe the model, its metrics and the reading's fields."""
    backend = _backend()
    return json_response({**backend.describe(), "schema": backend.schema.to_dict(), "sample": backend.schema.sample})


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
        backend, config = _backend(), current_app.config
        extensions[OPENAPI_KEY] = build_document(
            identity(_backend()),
            backend.schema,
            [route for route in ROUTES if route.served(config)],
            bool(config["API_KEYS"]),
            config["MAX_ROWS"],
        )
    return json_response(extensions[OPENAPI_KEY])
