"""The app with a classic view that checks nothing: the least a view that scores can cost, measured apart.

It reads the body, splits one line, converts the numbers, scores with the embedded model and formats the
answer: no content type, width, vocabulary or range checks, no error answers, no Readings or Predictions."""

from __future__ import annotations

import math

from flask import Response, request

from app import create_app

app = create_app()
backend = app.extensions["backend"]


def minimal() -> Response:
    environ = request.environ
    values = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])).decode().split(",")
    score = 1 / (1 + math.exp(-backend.log_odds([(values[0], values[1], *map(float, values[2:10]), values[10])])[0]))
    label = int(score >= backend.threshold)
    return Response(f'{{"predictions":[{{"score":{score!r},"predicted_label":{label}}}]}}', mimetype="application/json")


app.view_functions["api.predict_classic"] = minimal
