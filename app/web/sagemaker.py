"""SageMaker's container route, /invocations: the scoring bodies, answered as Accept asks; a request too large is
told the Batch Transform setting that would fit."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.codecs import sagemaker
from app.core.errors import TooManyReadings
from app.web.api import scored
from app.web.errors import answer, register_error_handlers, render

bp = Blueprint("sagemaker", __name__)


@bp.post("/invocations")
def invocations() -> Response:
    """SageMaker's scoring route: the bodies POST / takes, answered as JSON, CSV or JSON Lines as Accept asks,
    one prediction per reading in order (so Batch Transform's AssembleWith=Line joins them line for line)."""
    # Decided before the body is read: an answer nobody can take is not worth scoring.
    kind = sagemaker.answer_type(request.accept_mimetypes, request.headers.get("Accept"))
    explain = sagemaker.explain_attribute(request.headers.get(sagemaker.CUSTOM_ATTRIBUTES, ""))
    inference = scored(request, explain)
    return Response(sagemaker.encode(kind, inference.model.schema, inference.predictions), mimetype=kind)


def _hinted(error: Exception) -> Response:
    """The default answer; a request over a limit is also told what to set for Batch Transform: the largest
    MaxPayloadInMB whose mini-batches fit."""
    found = answer(error)
    if isinstance(error, TooManyReadings):  # the bytes that would have held the most readings allowed
        size = request.content_length
        found.message += sagemaker.batch_hint(size * error.limit // error.count if size else None, error.setting)
    elif isinstance(error, RequestEntityTooLarge):
        found.message += sagemaker.batch_hint(current_app.config["MAX_CONTENT_LENGTH"], "MAX_CONTENT_LENGTH")
    return render(found)


register_error_handlers(bp, _hinted)
