"""MLflow's scoring formats, as its clients send them to /invocations: "inputs" (rows, records, or a list per
field), "dataframe_records" and "dataframe_split" (pandas' orient="split"), with "params" empty; decoded straight
into columns. Answers are the classic ones ({"predictions": [...]}), which MLflow's client reads."""

from __future__ import annotations

from typing import Any

from app.codecs.json import JSON_TYPE, Refused, component, decode_items, listed, readings_schema, wrapper_schema
from app.core.errors import ReadingsError, shown
from app.core.fields import Schema
from app.core.validation import JSON, Decoded, Errors, check_count

WRAPPERS = ("inputs", "dataframe_records", "dataframe_split")
CONTENT_TYPE = JSON_TYPE
VERSION = "1"  # the server's version, as /version gives it (and /v2, as the Open Inference Protocol's)


def decode(key: str, value: Any, schema: Schema, max_rows: int) -> Decoded:
    """Readings under one of MLflow's keys; raises ReadingsError for a value of no known shape, TooManyReadings."""
    errors = Errors()
    if key == "dataframe_split":
        return _split(value, schema, max_rows, errors)
    if key == "inputs" and isinstance(value, dict):
        return _columns(value, schema, max_rows, errors)
    return decode_items(schema, listed(key, value), max_rows, errors)


def empty_params(params: Any) -> bool:
    """Whether MLflow's "params" ask for nothing (null or {}), which a model without parameters can honour."""
    return params is None or params == {}


def _split(frame: Any, schema: Schema, max_rows: int, errors: Errors) -> Decoded:
    """pandas' orient="split": {"columns": [...], "data": [[...], ...]} and an optional "index", which only
    names the rows and is not read (answers follow the order of "data")."""
    if (
        not isinstance(frame, dict)
        or not {"columns", "data"} <= set(frame)
        or set(frame) - {"columns", "data", "index"}
    ):
        raise ReadingsError(
            'dataframe_split must be {"columns": [...], "data": [[...], ...]}, with an optional "index".'
        )
    columns, data = frame["columns"], frame["data"]
    if (
        not isinstance(columns, list)
        or not all(isinstance(c, str) for c in columns)
        or len(set(columns)) != len(columns)
    ):
        raise ReadingsError("dataframe_split.columns must list column names, each once.")
    if not isinstance(data, list):
        raise ReadingsError("dataframe_split.data must be a list of rows.")
    if not isinstance(frame.get("index", []), list):
        raise ReadingsError("dataframe_split.index must be a list.")
    width = len(columns)
    if set(columns) == schema.name_set and all(type(row) is list and len(row) == width for row in data):
        check_count(len(data), max_rows)
        by_column = list(zip(*data, strict=True))
        place = {name: position for position, name in enumerate(columns)}
        return Decoded(JSON, [([by_column[place[name]] for name in schema.names], range(1, len(data) + 1))], errors)
    items: list[Any] = []
    for number, row in enumerate(data, 1):
        if isinstance(row, list) and len(row) == width:
            items.append(dict(zip(columns, row, strict=True)))
        else:
            sent = f"{len(row)} values" if isinstance(row, list) else "not a list"
            errors.add(number, None, f"a row of dataframe_split.data must hold {width} values, one per column: {sent}")
            items.append(Refused())
    return decode_items(schema, items, max_rows, errors)


def _columns(columns: dict[str, Any], schema: Schema, max_rows: int, errors: Errors) -> Decoded:
    """The columnar "inputs": {"field": [value per reading], ...}, every list as long as the others."""
    if not columns or not all(isinstance(values, list) for values in columns.values()):
        raise ReadingsError("inputs as an object must map each field to a list of values, one per reading.")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        shown_lengths = ", ".join(f"{shown(name)}: {length}" for name, length in lengths.items())
        raise ReadingsError(f"inputs' lists must be equally long, one value per reading; found {shown_lengths}.")
    count = next(iter(lengths.values()))
    if columns.keys() == schema.name_set:
        check_count(count, max_rows)
        return Decoded(JSON, [([columns[name] for name in schema.names], range(1, count + 1))], errors)
    names = list(columns)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return decode_items(schema, rows, max_rows, errors)


# Its part of the OpenAPI document, as JSON Schema.


def body_shapes(schema: Schema) -> list[dict[str, Any]]:
    """MLflow's wrappers in their plain forms: the API also takes dataframe_split's columns in any order (each
    once), and inputs as a list per field."""
    readings = readings_schema()
    split = {
        "type": "object",
        "properties": {
            "columns": {"const": list(schema.names)},
            "data": {"type": "array", "items": component("ReadingArray"), "minItems": 1},
            "index": {"type": "array", "description": "Names the rows; not read."},
        },
        "required": ["columns", "data"],
        "additionalProperties": False,
    }
    return [
        *(wrapper_schema(key, readings) for key in ("inputs", "dataframe_records")),
        wrapper_schema("dataframe_split", split),
    ]
