"""What MLflow's scoring clients ask of a scoring server besides /invocations and /ping: its version."""

from __future__ import annotations

from flask import Blueprint, Response

from app.codecs.mlflow import VERSION

bp = Blueprint("mlflow", __name__)


@bp.get("/version")
def version() -> Response:
    """The server's version, as plain text: MLflow's ScoringServerClient.get_version reads it as it is."""
    return Response(VERSION, mimetype="text/plain")
