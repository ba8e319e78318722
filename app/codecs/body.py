"""The scoring routes' bodies: CSV or text, or JSON in any of the shapes they take (readings, "instances", MLflow's
formats), told apart by content type and by the JSON document's keys, and handed to that dialect's codec."""

from __future__ import annotations

from typing import Any

from app.codecs import csv, mlflow
from app.codecs.json import JSON_TYPE, decode_items, listed, parse
from app.core.errors import ReadingsError, TooManyReadings, UnsupportedBody, shown
from app.core.fields import Schema
from app.core.validation import Decoded, Errors

READING_TYPES = (*csv.CSV_TYPES, JSON_TYPE)
CHARSETS = ("utf-8", "utf8", "us-ascii", "ascii")
# The JSON bodies that wrap readings: the SageMaker and TF Serving "instances", and MLflow's scoring formats.
WRAPPERS = ("instances", *mlflow.WRAPPERS)
JSON_SHAPES = (
    'a reading object, a list of readings, or one of {"instances" | "inputs" | "dataframe_records" | '
    '"dataframe_split": ...}'
)
JSON_HINT = "The body looks like JSON: send it with Content-Type: application/json."
CSV_HINT = "The body does not look like JSON: send CSV with Content-Type: text/csv."


def decode_text(body: bytes) -> str:
    """The body as text, without one leading byte order mark; raises ReadingsError naming the first bad byte."""
    try:
        text = body.decode()
    except UnicodeDecodeError as problem:
        line = body.count(b"\n", 0, problem.start) + 1
        raise ReadingsError(
            f"The body is not valid UTF-8 (byte {problem.start}, line {line}).",
            [{"row": None, "field": None, "message": f"undecodable byte at offset {problem.start}, line {line}"}],
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def decode(body: bytes, mimetype: str, charset: str | None, schema: Schema, max_rows: int) -> Decoded:
    """A scoring body's readings, decoded by its dialect; raises UnsupportedBody, ReadingsError, TooManyReadings.
    A body whose content type its first character belies has its errors end with a hint."""
    if mimetype not in READING_TYPES:
        sent = mimetype or "no Content-Type"
        raise UnsupportedBody(f"{sent} is not accepted; send text/csv, text/plain or application/json.")
    if charset is not None and charset.lower() not in CHARSETS:
        raise UnsupportedBody(f"charset {charset} is not accepted; send UTF-8.")
    if not body.strip():
        raise ReadingsError("The body is empty; send one or more readings.")
    text = decode_text(body)
    looks_like_json = text.lstrip()[:1] in ("{", "[")
    hint = ""
    if mimetype == JSON_TYPE and not looks_like_json:
        hint = CSV_HINT
    elif mimetype != JSON_TYPE and looks_like_json:
        hint = JSON_HINT
    try:
        decoded = _json(text, schema, max_rows) if mimetype == JSON_TYPE else csv.decode(text, schema, max_rows)
    except TooManyReadings:
        raise
    except ReadingsError as error:
        if hint:
            raise ReadingsError(f"{error.message} {hint}", error.details) from None
        raise
    decoded.hint = hint
    return decoded


def _json(text: str, schema: Schema, max_rows: int) -> Decoded:
    document: Any = parse(text, schema, max_rows)
    if isinstance(document, list):
        return decode_items(schema, document, max_rows, Errors())
    if not isinstance(document, dict):
        raise ReadingsError(f"The JSON body must be {JSON_SHAPES}.")
    wrappers = [key for key in WRAPPERS if key in document]
    if not wrappers:
        return decode_items(schema, [document], max_rows, Errors())
    key, extra = wrappers[0], sorted(set(document) - {wrappers[0]})
    if "params" in extra and mlflow.empty_params(document["params"]):
        extra.remove("params")
    if "params" in extra:
        raise ReadingsError(f"params are not accepted beside {key}: this model takes none.")
    if extra:
        raise ReadingsError(f"Unknown top-level key(s) beside {key}: {', '.join(map(shown, extra))}.")
    if key == "instances":
        return decode_items(schema, listed(key, document[key]), max_rows, Errors())
    return mlflow.decode(key, document[key], schema, max_rows)
