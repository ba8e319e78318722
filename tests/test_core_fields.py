"""Each field's rules: what a CSV text or a JSON value is taken as or refused as, never coerced, and a column
checked at once agreeing with its values checked alone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ReadingsError
from app.core.fields import Field
from tests.conftest import HEALTHY, SAMPLE, read_body
from tests.readings import FIELDS, JSON_VALUES, SAMPLE_OBJECT, SAMPLE_ROW, TOKENS, csv, details, each_alone


@pytest.mark.parametrize(
    ("line", "field", "fragment"),
    [
        (SAMPLE.replace("TID008", "TID011"), "turbine_id", "TID001"),
        (SAMPLE.replace("TID008", "tid008"), "turbine_id", "not one of"),
        (SAMPLE.replace("VAWT", "XAWT"), "turbine_type", "HAWT, VAWT"),
        (SAMPLE.replace(",NE", ",NNE"), "wind_direction", "not one of"),
        (SAMPLE.replace(",64,", ",nan,"), "wind_speed", "not a finite number"),
        (SAMPLE.replace(",64,", ",inf,"), "wind_speed", "not a finite number"),
        (SAMPLE.replace(",64,", ",1e999,"), "wind_speed", "not a plain decimal (no exponents)"),
        (SAMPLE.replace(",64,", ",6.4e1,"), "wind_speed", "not a plain decimal (no exponents)"),
        (SAMPLE.replace(",64,", ",64E0,"), "wind_speed", "not a plain decimal (no exponents)"),
        (SAMPLE.replace(",64,", ",-1,"), "wind_speed", "out of range"),
        (SAMPLE.replace(",64,", ",6_4,"), "wind_speed", "not a number"),
        (SAMPLE.replace(",64,", ",0x40,"), "wind_speed", "not a number"),
        (SAMPLE.replace(",64,", ",\u0664\u0664,"), "wind_speed", "not a number"),
        (SAMPLE.replace(",64,", ",true,"), "wind_speed", "not a number"),
        (SAMPLE.replace(",64,", ",,"), "wind_speed", "not a number"),
        (SAMPLE.replace(",55,55,", ",55,101,"), "humidity", "out of range"),
    ],
)
def test_csv_rejects_bad_values_naming_row_and_field(line: str, field: str, fragment: str) -> None:
    with pytest.raises(ReadingsError) as error:
        csv(f"{HEALTHY}\n{line}")
    assert details(error) == [(2, field)]
    assert fragment in error.value.details[0]["message"]
    assert f"row 2, field {field}" in error.value.message


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"wind_speed": True}, "wind_speed", "not a number"),
        ({"wind_speed": "64"}, "wind_speed", "not a number"),
        ({"wind_speed": None}, "wind_speed", "not a number"),
        ({"wind_speed": 1e308 * 10}, "wind_speed", "not a finite number"),
        ({"rpm_blade": 10**400}, "rpm_blade", "not a finite number"),
        ({"rpm_blade": 301}, "rpm_blade", "out of range"),
        ({"turbine_type": 1}, "turbine_type", "not a string"),
        ({"turbine_type": "vawt"}, "turbine_type", "not one of"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_json_rejects_without_coercing(change: dict[str, Any], field: str, fragment: str) -> None:
    document = [SAMPLE_OBJECT, {**SAMPLE_OBJECT, **change}]
    body = json.dumps(document).replace("Infinity", "1e999")
    with pytest.raises(ReadingsError) as error:
        read_body(body.encode(), "application/json", None, 10)
    assert details(error) == [(2, field)]
    assert fragment in error.value.details[0]["message"]


def test_json_numbers_may_have_exponents() -> None:
    for written in ("6.4e1", "640E-1"):
        body = json.dumps(SAMPLE_OBJECT).replace("64.0", written).encode()
        assert list(read_body(body, "application/json", None, 10)) == [SAMPLE_ROW]


def test_every_numeric_range_is_enforced_at_both_ends() -> None:
    for position, field in enumerate(FIELDS):
        if field.categories:
            continue
        for value, ok in ((field.minimum, True), (field.maximum, True), (field.maximum + 1, False)):
            values = SAMPLE.split(",")
            values[position] = repr(value)
            if ok:
                assert csv(",".join(values))[0][position] == value
            else:
                with pytest.raises(ReadingsError):
                    csv(",".join(values))


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(FIELDS), st.data())
def test_a_column_passes_a_rule_exactly_when_each_value_does(field: Field, data: st.DataObject) -> None:
    """Both ways: the rules checked on a whole column accept it exactly when each value passes alone, with the
    same values; a refused column is then named value by value, from the same rules."""
    for convert, values in (
        ("from_texts", data.draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6))),
        ("from_json", data.draw(st.lists(JSON_VALUES, min_size=1, max_size=6))),
    ):
        try:
            whole: list[Any] | None = field.check_allowed(getattr(field, convert)(values))
        except ValueError:
            whole = None
        assert whole == each_alone(field, values, convert)
