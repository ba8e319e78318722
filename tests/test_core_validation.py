"""The one validator: every problem named by its row and field, listed up to a cap and counted past it, values
echoed cut short, the row limit, and numeric columns converted together agreeing with each value alone."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ReadingsError, TooManyReadings
from app.core.validation import validate_rows
from tests.conftest import SAMPLE, read_body
from tests.readings import (
    FIELD_NAMES,
    FIELDS,
    JSON_VALUES,
    SAMPLE_OBJECT,
    SAMPLE_ROW,
    TOKENS,
    TURBINE,
    as_json,
    csv,
    details,
    each_alone,
)


@pytest.mark.parametrize("count", [1, 3, 20])
@pytest.mark.parametrize(
    ("position", "value", "fragment"),
    [
        (2, "250.5", "out of range"),
        (4, "-40.1", "out of range"),
        (9, "nan", "not a finite number"),
        (5, "inf", "not a finite number"),
        (6, "1e999", "not a plain decimal (no exponents)"),
    ],
)
def test_any_value_out_of_range_is_named_among_many(count: int, position: int, value: str, fragment: str) -> None:
    values = SAMPLE.split(",")
    values[position] = value
    lines = [SAMPLE] * (count - 1) + [",".join(values)]
    with pytest.raises(ReadingsError) as error:
        csv("\n".join(lines))
    assert details(error) == [(count, FIELD_NAMES[position])]
    assert error.value.details[0]["message"] == f"{value!r} is {fragment}; expected {FIELDS[position].expected}"


def test_every_bad_field_of_every_row_is_reported() -> None:
    bad = "TID000,XAWT,-5,80,46.0,21,55,55,7,34,Q"
    with pytest.raises(ReadingsError) as error:
        csv(f"{bad}\n{SAMPLE}\n{bad}")
    assert details(error) == [
        (1, "turbine_id"),
        (1, "turbine_type"),
        (1, "wind_speed"),
        (1, "wind_direction"),
        (3, "turbine_id"),
        (3, "turbine_type"),
        (3, "wind_speed"),
        (3, "wind_direction"),
    ]
    assert error.value.message.startswith("8 problem(s) in 2 row(s)")


def test_error_details_are_capped() -> None:
    bad = "TID000,XAWT,-5,80,46.0,21,55,55,7,34,Q"
    with pytest.raises(ReadingsError) as error:
        csv("\n".join([bad] * 50))
    assert len(error.value.details) == 100
    assert "200 problem(s) in 50 row(s) (the first 100 are listed)" in error.value.message


@pytest.mark.parametrize(
    ("body", "mimetype", "message"),
    [
        (
            SAMPLE.replace(",64,", f",{'1' * 5000},"),
            "text/csv",
            f"'{'1' * 31}… (5002 characters) is not a finite number; expected a number from 0 to 250",
        ),
        (
            json.dumps({**SAMPLE_OBJECT, "wind_speed": 0}).replace(": 0", ": " + "1" * 5000),
            "application/json",
            f"{'1' * 32}… (5000 characters) is not a finite number; expected a number from 0 to 250",
        ),
        (
            json.dumps({**SAMPLE_OBJECT, "turbine_type": 0}).replace(": 0", ": " + "1" * 5000),
            "application/json",
            f"{'1' * 32}… (5000 characters) is not a string; expected one of HAWT, VAWT",
        ),
        (
            json.dumps({**SAMPLE_OBJECT, "turbine_type": "H" * 5000}),
            "application/json",
            f'"{"H" * 31}… (5002 characters) is not one of HAWT, VAWT',
        ),
    ],
)
def test_long_values_are_echoed_cut_short_and_never_reach_int_limits(body: str, mimetype: str, message: str) -> None:
    with pytest.raises(ReadingsError) as error:
        read_body(body.encode(), mimetype, None, 10)
    assert [d["message"] for d in error.value.details] == [message]
    assert "digits" not in error.value.message and len(error.value.message) < 300


def test_row_limit() -> None:
    assert len(csv("\n".join([SAMPLE] * 3), max_rows=3)) == 3
    with pytest.raises(TooManyReadings, match="4 readings sent; at most 3"):
        csv("\n".join([SAMPLE] * 4), max_rows=3)
    with pytest.raises(TooManyReadings):
        as_json([SAMPLE_OBJECT] * 4, max_rows=3)


def test_problems_past_the_listed_ones_are_counted() -> None:
    line = SAMPLE.replace("VAWT", "X").replace(",64,", ",500,")
    with pytest.raises(ReadingsError) as error:
        csv("\n".join([line] * 3000))
    assert error.value.message.startswith("6000 problem(s) in 3000 row(s) (the first 100 are listed); first: row 1,")
    assert details(error) == [(row, field) for row in range(1, 51) for field in ("turbine_type", "wind_speed")]


def rows_of(data: st.DataObject, values: st.SearchStrategy[Any], sample: list[Any]) -> list[list[Any]]:
    """A few rows, each value the sample's at its position or one drawn from `values`."""
    value = st.one_of(st.just(None), values)
    drawn = data.draw(st.lists(st.lists(value, min_size=11, max_size=11), min_size=1, max_size=4))
    return [[sample[i] if v is None else v for i, v in enumerate(row)] for row in drawn]


def outcome_each_alone(rows: list[list[Any]], convert: str) -> tuple[list[Any], set[str]]:
    """The columns each value's rules give alone, and the fields with a value refused."""
    columns = [each_alone(field, [row[i] for row in rows], convert) for i, field in enumerate(FIELDS)]
    return columns, {field.name for field, column in zip(FIELDS, columns, strict=True) if column is None}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_numeric_columns_converted_together_pass_exactly_when_each_value_does(data: st.DataObject) -> None:
    """Both ways: the numeric columns of a body, converted in one call, give the readings that each value's rules
    give alone, or errors naming exactly the fields with a refused value; for CSV values and JSON values."""
    texts = rows_of(data, st.sampled_from(TOKENS), SAMPLE.split(","))
    # json.dumps would write an infinity as Infinity, which is not JSON.
    objects = rows_of(data, JSON_VALUES.filter(lambda v: v not in (math.inf, -math.inf)), list(SAMPLE_ROW))
    body = json.dumps([dict(zip(FIELD_NAMES, row, strict=True)) for row in objects])
    cases = (
        ("from_texts", texts, lambda: validate_rows(TURBINE, texts, range(1, len(texts) + 1))),
        ("from_json", objects, lambda: read_body(body.encode(), "application/json", None, 10)),
    )
    for convert, rows, parse in cases:
        columns, refused = outcome_each_alone(rows, convert)
        try:
            readings = parse()
        except ReadingsError as error:
            assert {detail["field"] for detail in error.details} == refused != set()
        else:
            assert not refused
            assert [list(column) for column in readings.columns] == columns
