"""The Open Inference Protocol (KServe's V2) over REST: health, the server's and each model's metadata, and infer,
for the models the registry serves by name and version; its errors carry their message as "error"."""

from __future__ import annotations

from flask import Blueprint, Response, request

from app.codecs import inference_protocol as protocol
from app.codecs.mlflow import VERSION
from app.models import identity
from app.web.errors import ApiError, answer, json_response, register_error_handlers
from app.web.serving import body, plane
from app.web.telemetry import record

bp = Blueprint("v2", __name__)


@bp.get("/v2")
def server() -> Response:
    return json_response({"name": "turbine-status", "version": VERSION, "extensions": ["binary_tensor_data"]})


@bp.get("/v2/health/live")
def live() -> Response:
    return json_response({"live": True})


@bp.get("/v2/health/ready")
def ready() -> Response:
    return json_response({"ready": True})  # the app exists only once its models are loaded


@bp.get("/v2/models/<name>")
@bp.get("/v2/models/<name>/versions/<version>")
def model(name: str, version: str | None = None) -> Response:
    served = plane().model(name, version)
    return json_response(protocol.model_metadata(served))


@bp.get("/v2/models/<name>/config")
@bp.get("/v2/models/<name>/versions/<version>/config")
def model_config(name: str, version: str | None = None) -> Response:
    """The model as Triton's model configuration describes one."""
    return json_response(protocol.model_config(plane().model(name, version)))


@bp.get("/v2/models/<name>/ready")
@bp.get("/v2/models/<name>/versions/<version>/ready")
def model_ready(name: str, version: str | None = None) -> Response:
    return json_response({"name": identity(plane().model(name, version))[0], "ready": True})


@bp.post("/v2/models/<name>/infer")
@bp.post("/v2/models/<name>/versions/<version>/infer")
def infer(name: str, version: str | None = None) -> Response:
    """Score the readings an infer request's tensors hold, one per field, through the one validator."""
    served = plane()
    chosen = served.model(name, version)
    wanted = protocol.decode(body(request), request.headers.get(protocol.HEADER_LENGTH), chosen, served.limits.max_rows)
    inference = served.infer(chosen, wanted.readings, record(request.environ))
    data, header = protocol.encode(inference.model, wanted, inference.predictions)
    if header is None:
        return Response(data, mimetype="application/json")
    return Response(data, mimetype="application/octet-stream", headers={protocol.HEADER_LENGTH: str(header)})


def _render(error: Exception) -> Response:
    """The protocol's error shape: its clients show only "error", so it holds the message."""
    found: ApiError = answer(error)
    return json_response({**found.body(), "error": found.message}, found.status, found.headers)


register_error_handlers(bp, _render)
