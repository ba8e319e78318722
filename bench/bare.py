"""The reference: a bare Flask route that answers a constant prediction, served like the app."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.post("/")
def predict() -> dict[str, object]:
    """Answer a constant prediction without reading the body."""
    return {"predictions": [{"score": 0.99, "predicted_label": 1}]}
