"""The app with its classic view answering a constant: what the view's own work costs, measured apart.

Same factory, middleware, CORS and blueprint as the app; only POST / skips reading, scoring and formatting."""

from __future__ import annotations

from flask import Response

from app import create_app

CONSTANT = '{"predictions":[{"score":0.99,"predicted_label":1}]}'

app = create_app()
app.view_functions["api.predict_classic"] = lambda: Response(CONSTANT, mimetype="application/json")
