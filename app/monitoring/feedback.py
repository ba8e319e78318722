"""Ground truth sent back: `{"feedback": [{"inference_id": ID, "label": 0 or 1, "row": N}]}`, checked item by
item, every problem named by its item and field, as the readings' validator names rows and fields. Only ids this
service issued are taken, for the readings their answer held, one label per reading in a body."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.codecs.json import JSON_TYPE, check_json_size, load_json
from app.core.errors import MAX_DETAILS, ReadingsError, TooManyReadings, UnsupportedBody, shown
from app.monitoring.capture import GroundTruth
from app.monitoring.ids import INFERENCE_ID

ITEM_KEYS = ("inference_id", "label", "row")
# The readings an inference id's answer held, or None for an id this service did not issue.
Issued = Callable[[str], "int | None"]


def _whole(value: Any) -> bool:
    return type(value) is int  # a JSON integer: not true or false, not 1.0


def _problems(item: Any, max_rows: int, issued: Issued, seen: set[tuple[str, int]]) -> list[tuple[str | None, str]]:
    if not isinstance(item, dict):
        return [(None, "an item must be an object with inference_id, label and, optionally, row")]
    found: list[tuple[str | None, str]] = [(shown(key), "unknown field") for key in item if key not in ITEM_KEYS]
    inference_id = item.get("inference_id")
    rows = None
    if "inference_id" not in item:
        found.append(("inference_id", "missing"))
    elif not (isinstance(inference_id, str) and INFERENCE_ID.fullmatch(inference_id)):
        found.append(
            (
                "inference_id",
                f"{shown(repr(inference_id))} is not an inference id (48 hex digits, as X-Inference-Id gives)",
            )
        )
    elif (rows := issued(inference_id)) is None:
        found.append(("inference_id", f"{shown(inference_id)} was not issued by this service"))
    label = item.get("label")
    if "label" not in item:
        found.append(("label", "missing"))
    elif not (_whole(label) and label in (0, 1)):
        found.append(("label", f"{shown(repr(label))} is not 0 or 1"))
    row = item.get("row", 1)
    if not (_whole(row) and 1 <= row <= max_rows):
        found.append(("row", f"{shown(repr(row))} is not a reading's number: a whole number from 1 to {max_rows}"))
    elif rows is not None and row > rows:
        found.append(("row", f"{row} is past the {rows} reading(s) that answer held"))
    elif rows is not None:
        if (str(inference_id), row) in seen:
            found.append(("row", f"reading {row} of that answer has a label already in this body"))
        seen.add((str(inference_id), row))
    return found


def parse_feedback(body: bytes, mimetype: str, max_rows: int, issued: Issued) -> list[GroundTruth]:
    """The ground truth a feedback body holds, for answers `issued` recognises; raises UnsupportedBody,
    TooManyReadings or ReadingsError naming each bad item and field."""
    if mimetype != JSON_TYPE:
        raise UnsupportedBody(f"{mimetype or 'no Content-Type'} is not accepted; send application/json.")
    # An item's marks: its "{", the commas between its keys, and the one before the next item.
    check_json_size(body, max_rows, len(ITEM_KEYS) + 1)
    try:
        document = load_json(body.decode())
    except (ValueError, RecursionError) as problem:
        raise ReadingsError(f"The body is not valid JSON: {problem}.") from None
    items = document.get("feedback") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items or set(document) != {"feedback"}:
        raise ReadingsError(
            'The body must be {"feedback": [{"inference_id": ..., "label": 0 or 1, "row": 1}, ...]}, with one or '
            "more items and nothing else."
        )
    if len(items) > max_rows:
        raise TooManyReadings(len(items), max_rows)
    seen: set[tuple[str, int]] = set()
    details = [
        {"row": number, "field": field, "message": message}
        for number, item in enumerate(items, 1)
        for field, message in _problems(item, max_rows, issued, seen)
    ]
    if details:
        first = details[0]
        where = f"item {first['row']}" + (f", field {first['field']}" if first["field"] else "")
        listed = "" if len(details) <= MAX_DETAILS else f" (the first {MAX_DETAILS} are listed)"
        raise ReadingsError(
            f"{len(details)} problem(s) in the feedback{listed}; first: {where}: {first['message']}",
            details[:MAX_DETAILS],
        )
    now = time.time()
    return [GroundTruth(item["inference_id"], item.get("row", 1), item["label"], now) for item in items]


def request_schema(max_rows: int) -> dict[str, Any]:
    """The feedback body as JSON Schema, for the OpenAPI document."""
    item = {
        "type": "object",
        "properties": {
            "inference_id": {
                "type": "string",
                "pattern": f"^{INFERENCE_ID.pattern}$",
                "description": "The X-Inference-Id of the answer",
            },
            "label": {"type": "integer", "enum": [0, 1], "description": "What the reading turned out to be"},
            "row": {
                "type": "integer",
                "minimum": 1,
                "maximum": max_rows,
                "default": 1,
                "description": "Which reading of that request, from 1",
            },
        },
        "required": ["inference_id", "label"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"feedback": {"type": "array", "minItems": 1, "maxItems": max_rows, "items": item}},
        "required": ["feedback"],
        "additionalProperties": False,
    }
