"""The service's own routes: the classic POST / (SageMaker linear-learner's answer), /v1 (predictions with the
label's name and explanations, ground truth, the model), and /ping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Request, Response, current_app, request

from app.codecs import body, classic
from app.codecs.json import versioned
from app.core.errors import CaptureOff, ReadingsError
from app.web.errors import json_response
from app.web.serving import body as read_body
from app.web.serving import plane
from app.web.telemetry import record

if TYPE_CHECKING:
    from app.dataplane import Inference
    from app.monitoring.capture import Capture

bp = Blueprint("api", __name__)


def scored(req: Request, explain: bool = False) -> Inference:
    """The body's readings, decoded by their dialect, validated and scored by the default model."""
    served = plane()
    model = served.models.default
    decoded = body.decode(
        read_body(req), req.mimetype, req.mimetype_params.get("charset"), model.schema, served.limits.max_rows
    )
    return served.infer(model, decoded, record(req.environ), explain)


@bp.post("/")
def predict_classic() -> Response:
    """Score readings and answer in the SageMaker linear-learner shape."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    return json_response(classic.body(scored(req).predictions))


def _flag(name: str) -> bool:
    """A true/false query parameter; raises ReadingsError for any other value."""
    value = request.args.get(name, "false")
    if value not in ("true", "false"):
        raise ReadingsError(
            f"Query parameter {name} must be true or false.",
            [{"row": None, "field": name, "message": f"{value!r} is not true or false"}],
        )
    return value == "true"


@bp.post("/v1/predictions")
def predict_v1() -> Response:
    """Score readings; adds a text label, the model, and with ?explain=true each field's contribution."""
    inference = scored(request, explain=_flag("explain"))
    info = inference.model.describe()
    model = {"backend": info["backend"], "name": info.get("name"), "version": info.get("version")}
    return json_response(versioned(inference.model.task, inference.predictions, model))


@bp.post("/v1/feedback")
def feedback() -> Response:
    """Take ground truth back: the label each reading of an answered request turned out to have."""
    from app.monitoring.feedback import parse_feedback

    capture: Capture | None = current_app.extensions.get("capture")
    if capture is None:
        raise CaptureOff("Capture is off: ground truth is kept only with CAPTURE_URI set.")
    served = plane()
    truths = parse_feedback(read_body(request), request.mimetype, served.limits.max_rows, served.ids.rows)
    capture.add(truths)
    return json_response({"accepted": len(truths)}, 202)


@bp.get("/ping")
def ping() -> Response:
    """Say the service is up and which backend answers."""
    info = plane().models.default.describe()
    return json_response(
        {"status": "ok", "backend": info["backend"], "model": info.get("name") or info.get("endpoint")}
    )


@bp.get("/v1/model")
def model() -> Response:
    """Describe the model, its metrics and the reading's fields."""
    served = plane().models.default
    return json_response({**served.describe(), "schema": served.schema.to_dict(), "sample": served.schema.sample})
