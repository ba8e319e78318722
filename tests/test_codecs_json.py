"""The JSON readings codec: its shapes, what it refuses, and a body's values bounded before it is parsed."""

from __future__ import annotations

import json
import re
import unittest.mock
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.codecs.json import _marks_outside_strings
from app.core.errors import ReadingsError, TooManyReadings
from tests.conftest import read_body
from tests.readings import FIELD_NAMES, SAMPLE_OBJECT, SAMPLE_ROW, TOO_MANY_VALUES, as_json, details


@pytest.mark.parametrize(
    "document",
    [
        SAMPLE_OBJECT,
        [SAMPLE_OBJECT],
        {"instances": [SAMPLE_OBJECT]},
        {"instances": [list(SAMPLE_ROW)]},
        [list(SAMPLE_ROW)],
        {**SAMPLE_OBJECT, "wind_speed": 64},
    ],
)
def test_json_shapes(document: Any) -> None:
    assert as_json(document) == [SAMPLE_ROW]


def test_json_missing_fields_are_each_named() -> None:
    partial = {k: v for k, v in SAMPLE_OBJECT.items() if k not in ("oil_level", "pressure")}
    with pytest.raises(ReadingsError) as error:
        as_json([partial])
    assert details(error) == [(1, "oil_level"), (1, "pressure")]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b'[{"wind_speed": NaN}]', "not valid JSON"),
        (b"42", "must be a reading object"),
        (b'{"instances": {}}', "instances must be a list"),
        (b'{"instances": [], "extra": 1}', "extra"),
        (b"[]", "no readings"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_json_rejects_malformed_documents(body: bytes, fragment: str) -> None:
    with pytest.raises(ReadingsError) as error:
        read_body(body, "application/json", None, 10_000)
    assert fragment in error.value.message


def test_an_unknown_long_json_key_is_named_cut_short() -> None:
    with pytest.raises(ReadingsError) as error:
        as_json({**SAMPLE_OBJECT, "k" * 5000: 1})
    assert error.value.details == [{"row": 1, "field": f"{'k' * 32}… (5000 characters)", "message": "unknown field"}]


def test_json_items_must_be_objects_or_arrays() -> None:
    with pytest.raises(ReadingsError) as error:
        as_json([SAMPLE_OBJECT, 42])
    assert error.value.details == [
        {"row": 2, "field": None, "message": "a reading must be an object or an array of 11 values"}
    ]


@pytest.mark.parametrize("document", TOO_MANY_VALUES.values(), ids=list(TOO_MANY_VALUES))
def test_json_of_more_values_than_max_rows_readings_hold_is_refused_unparsed(document: Any) -> None:
    with pytest.raises(TooManyReadings) as error:
        as_json(document, max_rows=10)
    assert re.fullmatch(
        r"The JSON body holds more values than 10 readings: \d+ commas and opening brackets, where 10 readings have "
        r"at most 1154; at most 10 are accepted per request\.",
        error.value.message,
    )
    assert error.value.limit == 10 and error.value.count > 10


def marks(value: Any) -> int:
    """The commas and opening brackets of a value's JSON text, outside strings."""
    if isinstance(value, list):
        return 1 + max(len(value) - 1, 0) + sum(map(marks, value))
    if isinstance(value, dict):
        return 1 + max(len(value) - 1, 0) + sum(map(marks, value.values()))
    return 0


TEXTS = st.text(alphabet=',[{"\\\n ab\u00e9', max_size=12)


JSON_TREES = st.recursive(
    st.one_of(st.integers(), TEXTS),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXTS, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(JSON_TREES, st.sampled_from([1, 2, 3, 8, 1 << 16]))
def test_marks_are_counted_outside_strings_a_piece_at_a_time(document: Any, piece: int) -> None:
    """Strings holding marks, quotes and backslashes, cut anywhere by the pieces, count for nothing."""
    with unittest.mock.patch("app.codecs.json._PIECE", piece):
        assert _marks_outside_strings(json.dumps(document)) == marks(document)


def test_commas_and_brackets_in_strings_count_for_nothing() -> None:
    with pytest.raises(ReadingsError) as error:
        as_json([{**SAMPLE_OBJECT, "turbine_id": '[{,"' * 2000}], max_rows=10)
    assert details(error) == [(1, "turbine_id")]


def wrapped(shape: str, rows: list[list[Any]]) -> Any:
    """Readings as a JSON body of one of the shapes a reading body takes."""
    objects = [dict(zip(FIELD_NAMES, row, strict=True)) for row in rows]
    split = {"columns": list(FIELD_NAMES), "data": rows, "index": list(range(len(rows)))}
    return {
        "objects": objects,
        "arrays": rows,
        "instances": {"instances": objects},
        "inputs, rows": {"inputs": rows},
        "inputs, columns": {
            "inputs": {name: list(values) for name, values in zip(FIELD_NAMES, zip(*rows, strict=True), strict=True)}
        },
        "dataframe_records": {"dataframe_records": objects},
        "dataframe_split": {"dataframe_split": split},
    }[shape]


@pytest.mark.parametrize(
    "shape",
    ["objects", "arrays", "instances", "inputs, rows", "inputs, columns", "dataframe_records", "dataframe_split"],
)
def test_max_rows_readings_are_taken_in_every_json_shape(shape: str) -> None:
    rows = [list(SAMPLE_ROW)] * 10_000
    assert len(as_json(wrapped(shape, rows), max_rows=10_000)) == 10_000
