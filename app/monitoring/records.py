"""One capture or ground-truth record read from its line: the JSON object, its CSV input and output, its label, and
the times records carry."""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

import orjson

from app.core.errors import shown

UTC = datetime.UTC


class LineError(ValueError):
    """What is wrong with one line's record; the reader adds the file and line."""


def parse_record(line: bytes) -> dict[str, Any]:
    """The JSON object a line holds; raises LineError."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as problem:
        raise LineError(f"not valid JSON: {problem}") from None
    if not isinstance(record, dict):
        raise LineError("a record is a JSON object")
    return record


def parse_truth(record: dict[str, Any]) -> tuple[tuple[str, int], int]:
    """The (inference id, row) a ground-truth record labels, and its label; raises LineError."""
    data, meta = record.get("groundTruthData"), record.get("eventMetadata")
    event = meta.get("eventId") if isinstance(meta, dict) else None
    if not isinstance(data, dict) or not isinstance(event, str) or not event:
        raise LineError("a ground-truth record needs groundTruthData and eventMetadata.eventId")
    value = data.get("data")
    if data.get("encoding") == "BASE64" and isinstance(value, str):
        value = _base64(value, "groundTruthData")
    text = value.strip() if isinstance(value, str) else str(value) if type(value) is int else None
    if text not in ("0", "1"):
        raise LineError(f"the ground truth {shown(repr(value))} is not 0 or 1")
    # Row 1 is the inference id alone; row N >= 2 is "ID:N".
    ident, colon, row = event.rpartition(":")
    key = (ident, int(row)) if colon and ident and row.isdigit() and int(row) >= 1 else (event, 1)
    return key, int(text)


def content_text(part: Any, name: str) -> tuple[str | None, str | None]:
    """A record's input or output as CSV text, or None and why this report does not read it; raises LineError."""
    if not isinstance(part, dict):
        raise LineError(f"captureData.{name} must be an object")
    encoding, kind, value = part.get("encoding"), part.get("observedContentType"), part.get("data")
    if encoding not in ("CSV", "BASE64"):
        return None, f"{encoding} encoding"
    if isinstance(kind, str) and not kind.startswith(("text/csv", "text/plain")):
        return None, f"{kind} content"
    if not isinstance(value, str):
        raise LineError(f"{name}.data is not text")
    return (_base64(value, name) if encoding == "BASE64" else value), None


def _base64(value: str, name: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise LineError(f"{name}.data is not base64 of UTF-8 text") from None


def split_lines(text: str) -> list[str]:
    """CSV text's lines, whatever ends them; none for empty text."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.strip("\n").split("\n")
    return lines if lines != [""] else []


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 time in UTC, with or without milliseconds or a zone (naive is UTC); raises ValueError."""
    moment = datetime.datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(seconds: float) -> str:
    """A time as the records write it: UTC, milliseconds, Z."""
    return datetime.datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
