"""SageMaker's container dialect, /invocations: the scoring bodies, answered as JSON (the classic answer), CSV
or JSON Lines as Accept asks, a line per reading in input order; explanations asked in InvokeEndpoint's
CustomAttributes; and what a refused request tells Batch Transform."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from app.codecs import classic
from app.core.errors import DomainError, ReadingsError, shown
from app.core.fields import Schema
from app.core.prediction import Predictions

# What /invocations answers in, as Accept asks; the first when any will do.
ANSWERS = ("application/json", "text/csv", "application/jsonlines")
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"  # InvokeEndpoint's CustomAttributes, as SageMaker passes them
CUSTOM_ATTRIBUTES_LIMIT = 1024  # characters: InvokeEndpoint's own limit
MEBIBYTE = 1024 * 1024


class NotAcceptable(DomainError):
    """Accept names none of the answers' types."""


def answer_type(accepted: Iterable[tuple[str, float]], sent: str | None) -> str:
    """The media type to answer in, from Accept's (type, quality) pairs; raises NotAcceptable. Matched on the media
    type alone: parameters such as charset=utf-8 or header=present change nothing here."""
    from werkzeug.datastructures import MIMEAccept

    accept = MIMEAccept([(value.partition(";")[0].strip(), quality) for value, quality in accepted])
    answer = accept.best_match(ANSWERS) if accept else ANSWERS[0]
    if answer is None:
        raise NotAcceptable(
            f"Accept asks for none of the types this route answers: {', '.join(ANSWERS)}.",
            [{"row": None, "field": "Accept", "message": f"{sent!r} matches none"}],
        )
    return answer


def explain_attribute(attributes: str) -> bool:
    """Whether SageMaker's custom attributes, comma-separated key=value pairs, hold explain=true; other pairs are
    the caller's own and left alone. Raises ReadingsError for an explain that is neither true nor false."""
    if len(attributes) > CUSTOM_ATTRIBUTES_LIMIT:
        raise ReadingsError(
            f"{CUSTOM_ATTRIBUTES} is longer than SageMaker's {CUSTOM_ATTRIBUTES_LIMIT} characters.",
            [{"row": None, "field": CUSTOM_ATTRIBUTES, "message": f"{len(attributes)} characters"}],
        )
    pairs = (part.partition("=") for part in attributes.split(","))
    values = [value.strip() for key, sep, value in pairs if sep and key.strip() == "explain"]
    refused = [value for value in values if value not in ("true", "false")]
    if refused:
        raise ReadingsError(
            f"{CUSTOM_ATTRIBUTES}: explain must be true or false.",
            [{"row": None, "field": "explain", "message": f"{shown(refused[0])!r} is not true or false"}],
        )
    return "true" in values


def encode(answer: str, schema: Schema, predictions: Predictions) -> bytes | str:
    """The answer in the media type `answer`: CSV lines are score,label then each field's contribution in field
    order; a multi-class score is one column per class."""
    if answer == "text/csv":
        scores, labels, contributions = predictions
        lines = csv_answers(scores, labels)
        if contributions is not None:
            names = schema.names
            extra = ([_csv_value(c[name]) for name in names] for c in contributions)
            lines = [",".join([line, *more]) for line, more in zip(lines, extra, strict=True)]
        return "\n".join(lines)
    if answer == "application/jsonlines":
        return b"\n".join(map(orjson.dumps, classic.items(predictions)))
    return orjson.dumps(classic.body(predictions))


def csv_answers(scores: Sequence[Any], labels: Sequence[int] | None) -> list[str]:
    """Each reading's score (a multi-class score's probabilities, one column each) and label as a CSV line."""
    if labels is not None and (not scores or type(scores[0]) is not list):
        return [f"{score!r},{label}" for score, label in zip(scores, labels, strict=True)]
    texts = [",".join(map(repr, s)) if type(s) is list else repr(s) for s in scores]
    return texts if labels is None else [f"{t},{label}" for t, label in zip(texts, labels, strict=True)]


def _csv_value(share: float | list[float]) -> str:
    return ",".join(map(repr, share)) if type(share) is list else repr(share)


def batch_hint(fits: int | None, setting: str) -> str:
    """What to tell Batch Transform when a request is too large: the largest MaxPayloadInMB whose mini-batches fit,
    `fits` being the bytes that would have (None: unknown), or else the setting to raise."""
    if fits is None:
        return f" For Batch Transform, lower MaxPayloadInMB or raise {setting}."
    if fits >= MEBIBYTE:
        return f" For Batch Transform, set MaxPayloadInMB to at most {fits // MEBIBYTE}."
    return f" For Batch Transform, raise {setting}: even MaxPayloadInMB=1 sends more."


# Its part of the OpenAPI document, as JSON Schema. A custom attribute: explain=true or explain=false, or any pair
# that is not explain's.
_ATTRIBUTE = r"(?:\s*explain\s*=\s*(?:true|false)\s*|(?!\s*explain\s*=)[^,]*)"


def custom_attributes_parameter() -> dict[str, Any]:
    """The CustomAttributes header: its pattern allows what explain_attribute accepts."""
    return {
        "name": CUSTOM_ATTRIBUTES,
        "in": "header",
        "required": False,
        "schema": {
            "type": "string",
            "maxLength": CUSTOM_ATTRIBUTES_LIMIT,
            "pattern": f"^{_ATTRIBUTE}(?:,{_ATTRIBUTE})*$",
        },
        "description": (
            "SageMaker's CustomAttributes, comma-separated key=value pairs: explain=true adds each field's "
            "contribution (embedded model only); explain may only be true or false, and if it is given more than once "
            "any true asks; other pairs are left alone."
        ),
    }


def answer_schemas() -> dict[str, dict[str, Any]]:
    """The answers by media type, in ANSWERS' order: the classic answer as JSON, lines of text as CSV or JSON Lines."""
    text = {"type": "string"}
    return {answer: classic.answer_schema() if answer == ANSWERS[0] else text for answer in ANSWERS}
