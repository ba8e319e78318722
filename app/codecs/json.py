"""The JSON readings codec: a reading object, a list of readings (objects or arrays of values in field order), or
{"instances": [...]}, decoded straight into columns; and the answer of /v1/predictions. Its parsing and the bound
on a body's values serve every JSON dialect."""

from __future__ import annotations

import json
import operator
import re
from itertools import repeat
from operator import itemgetter
from typing import Any

import orjson

from app.codecs import classic
from app.core.errors import ReadingsError, TooManyReadings, shown
from app.core.fields import Field, LongInteger, Schema
from app.core.prediction import Predictions, Task
from app.core.validation import JSON, Decoded, Errors, check_count, columns_of_rows

JSON_TYPE = "application/json"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _integer(text: str) -> int | LongInteger:
    # Past 400 digits no float can hold the number; Python refuses int() past 4300.
    return int(text) if len(text) <= 400 else LongInteger(text)


# Every array element and object member follows a comma or the bracket that opens its container: each of these
# marks, outside strings, allows one more Python object when the text is parsed.
_MARKS = (",", "[", "{")
# Marks a valid body holds besides its readings': wrappers, column names, a protocol's tensors and parameters.
_JSON_SLACK = 1024
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes and all
_PIECE = 1 << 16  # characters read at a time when strings are left out


def check_json_size(text: str | bytes, max_rows: int, per_reading: int) -> None:
    """Refuse JSON text with more marks than max_rows readings of `per_reading` marks each (and _JSON_SLACK) hold,
    before it is parsed into an object per value; raises TooManyReadings. The marks are counted at once, and,
    only when too many, again without those inside strings."""
    bound = max_rows * per_reading + _JSON_SLACK
    if isinstance(text, bytes):
        count = text.count(b",") + text.count(b"[") + text.count(b"{")
    else:
        count = sum(map(text.count, _MARKS))
    if count <= bound:
        return
    count = _marks_outside_strings(text.decode(errors="replace") if isinstance(text, bytes) else text)
    if count > bound:
        raise TooManyReadings(
            -(-count * max_rows // bound),
            max_rows,
            f"The JSON body holds more values than {max_rows} readings: {count} commas and opening brackets, where "
            f"{max_rows} readings have at most {bound}",
        )


def _marks_outside_strings(text: str) -> int:
    """The marks outside strings, counted a piece at a time, so that only a piece's worth of objects is made."""
    count = position = 0
    while position < len(text):
        end = min(position + _PIECE, len(text))
        rest = _STRING.sub("", text[position:end])
        # Whole strings are gone: a quote left opens one that runs past the piece, and the rest is as it was.
        cut = rest.find('"')
        if cut < 0:
            count += sum(map(rest.count, _MARKS))
            position = end
            continue
        count += sum(rest.count(mark, 0, cut) for mark in _MARKS)
        string_start = end - (len(rest) - cut)
        if string_start > position:
            position = string_start
        else:  # a string longer than a piece
            string = _STRING.match(text, position)
            position = string.end() if string else len(text)
    return count


def load_json(text: str | bytes) -> Any:
    """The JSON document; raises ValueError for invalid JSON and RecursionError for deep nesting. orjson reads it
    in a fraction of the time; what it refuses the json module reads again, to say why in its words or to take what
    orjson does not (1e400, a lone surrogate, an integer past 309 digits). orjson reads an integer past 2^64 as the
    float it rounds to, which every number field makes of it too."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError:
        raise
    except ValueError:
        # An integer past Python's digit limit, or NaN: read again with integers kept as text where too long.
        return json.loads(text, parse_constant=_reject_constant, parse_int=_integer)


def parse(text: str, schema: Schema, max_rows: int) -> Any:
    """A JSON body of readings as a document, its size bounded first; raises ReadingsError, TooManyReadings."""
    # A reading in the longest of the shapes, dataframe_split's data and index, takes its width and 2 marks.
    check_json_size(text, max_rows, schema.width + 2)
    try:
        return load_json(text)
    except ValueError as problem:
        raise ReadingsError(f"The body is not valid JSON: {problem}.") from None
    except RecursionError:
        raise ReadingsError("The JSON body is nested too deeply.") from None


class Refused:
    """An item that cannot become a reading; its error is already noted."""


def decode_items(schema: Schema, items: list[Any], max_rows: int, errors: Errors) -> Decoded:
    """Readings from items, each an object of the fields or an array of values in field order: every item an
    object of exactly the fields (records), or every one an array, go to columns at C speed; raises
    TooManyReadings."""
    check_count(len(items), max_rows)
    numbers = range(1, len(items) + 1)
    if _records(items, schema.name_set):
        return Decoded(JSON, [([list(map(itemgetter(name), items)) for name in schema.names], numbers)], errors)
    if all(type(item) is list for item in items):
        return Decoded(JSON, [columns_of_rows(schema, items, numbers, errors)], errors)
    rows, kept = [], []
    for number, item in zip(numbers, items, strict=True):
        if isinstance(item, dict):
            values = _object_values(schema, item, number, errors)
        elif isinstance(item, list):
            values = item
        elif isinstance(item, Refused):
            values = None
        else:
            errors.add(number, None, f"a reading must be an object or an array of {schema.width} values")
            values = None
        if values is not None:
            rows.append(values)
            kept.append(number)
    return Decoded(JSON, [columns_of_rows(schema, rows, kept, errors)], errors)


def _records(items: list[Any], names: frozenset[str]) -> bool:
    """Whether every item is an object of exactly these keys, asked of all at C speed."""
    try:
        return all(map(operator.eq, map(dict.keys, items), repeat(names)))
    except TypeError:  # an item that is not an object
        return False


def _object_values(schema: Schema, item: dict[str, Any], row: int, errors: Errors) -> list[Any] | None:
    if item.keys() == schema.name_set:  # every field and no other: its values in field order, at C speed
        return list(map(item.__getitem__, schema.names))
    missing = [name for name in schema.names if name not in item]
    unknown = sorted(key for key in item if key not in schema.names)
    for name in missing:
        errors.add(row, name, "missing")
    for name in unknown:
        errors.add(row, shown(name), "unknown field")
    return None if missing or unknown else [item[name] for name in schema.names]


def listed(key: str, value: Any) -> list[Any]:
    """The readings under a wrapper's key, such as "instances" (SageMaker's and TF Serving's); raises
    ReadingsError."""
    if not isinstance(value, list):
        raise ReadingsError(f"{key} must be a list of readings.")
    return value


def versioned(task: Task, predictions: Predictions, model: dict[str, Any]) -> dict[str, Any]:
    """The answer of /v1/predictions: each reading's score and label, the label's name, and its contributions
    when asked; then the model that answered."""
    scores, labels, contributions = predictions
    names = task.classes
    items: list[dict[str, Any]] = []
    for number, score in enumerate(scores):
        item: dict[str, Any] = {"score": score}
        if labels is not None:
            item["predicted_label"] = labels[number]
            item["label"] = names[labels[number]]
        if contributions is not None:
            item["contributions"] = contributions[number]
        items.append(item)
    return {"predictions": items, "model": model}


# Its part of the OpenAPI document, as JSON Schema: a reading, the JSON bodies of readings, the answer of /v1.


def value_schema(field: Field) -> dict[str, Any]:
    """A field's value: one of its categories, or a number in its range."""
    schema: dict[str, Any] = {"title": field.label, "description": field.description}
    if field.categories:
        schema.update(type="string", enum=list(field.categories))
    else:
        schema.update(type="number", minimum=field.minimum, maximum=field.maximum)
        if field.unit:
            schema["description"] += f" Unit: {field.unit}."
    return schema


def component(name: str) -> dict[str, str]:
    """A reference to a schema among the document's components, such as Reading."""
    return {"$ref": f"#/components/schemas/{name}"}


def reading_schemas(schema: Schema) -> dict[str, dict[str, Any]]:
    """The components Reading, an object of every field, and ReadingArray, the values in field order."""
    fields = schema.fields
    return {
        "Reading": {
            "type": "object",
            "properties": {f.name: value_schema(f) for f in fields},
            "required": list(schema.names),
            "additionalProperties": False,
        },
        "ReadingArray": {
            "type": "array",
            "description": f"The {schema.width} values in field order.",
            "prefixItems": [value_schema(f) for f in fields],
            "minItems": schema.width,
            "maxItems": schema.width,
        },
    }


def readings_schema() -> dict[str, Any]:
    """A list of one or more readings, each an object or an array."""
    return {"type": "array", "items": {"oneOf": [component("Reading"), component("ReadingArray")]}, "minItems": 1}


def wrapper_schema(key: str, value: dict[str, Any]) -> dict[str, Any]:
    """An object of `value` under `key` and nothing else, as readings are wrapped."""
    return {"type": "object", "properties": {key: value}, "required": [key], "additionalProperties": False}


def body_shapes() -> list[dict[str, Any]]:
    """The shapes of JSON body this codec reads: a reading, a list of readings, and {"instances": [...]}."""
    readings = readings_schema()
    return [component("Reading"), readings, wrapper_schema("instances", readings)]


def versioned_schema() -> dict[str, Any]:
    """The answer of /v1/predictions."""
    parts = classic.item_schemas()
    item = {
        "type": "object",
        "properties": {
            "score": parts["score"],
            "predicted_label": parts["predicted_label"],
            "label": {"type": "string", "enum": ["maintenance_required", "healthy"]},
            "contributions": parts["contributions"],
        },
        "required": ["score", "predicted_label", "label"],
    }
    return {
        "type": "object",
        "properties": {"predictions": {"type": "array", "items": item}, "model": {"type": "object"}},
        "required": ["predictions", "model"],
    }
