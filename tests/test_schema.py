"""Parsing and validation of readings: what is accepted, and what is rejected with which row and field."""

from __future__ import annotations

import codecs
import csv as csvmodule
import json
import math
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.artifact import DEFAULT_MODEL_PATH
from app.schema import (
    TURBINE_SCHEMA_PATH,
    Field,
    Readings,
    ReadingsError,
    SchemaError,
    TooManyReadings,
    UnsupportedBody,
    load_schema,
    schema_from_dict,
    to_csv,
    turbine_schema,
)
from tests.conftest import HEALTHY, SAMPLE

TURBINE = turbine_schema()
FIELDS, FIELD_NAMES = TURBINE.fields, TURBINE.names


SAMPLE_ROW = ("TID008", "VAWT", 64.0, 80.0, 46.0, 21.0, 55.0, 55.0, 7.0, 34.0, "NE")
SAMPLE_OBJECT = dict(zip(FIELD_NAMES, SAMPLE_ROW, strict=True))


def csv(body: str, max_rows: int = 10_000) -> list[tuple[Any, ...]]:
    return list(TURBINE.parse_body(body.encode(), "text/csv", None, max_rows))


def as_json(document: Any, max_rows: int = 10_000) -> list[tuple[Any, ...]]:
    return list(TURBINE.parse_body(json.dumps(document).encode(), "application/json", None, max_rows))


def details(error: pytest.ExceptionInfo[ReadingsError]) -> list[tuple[Any, Any]]:
    return [(d["row"], d["field"]) for d in error.value.details]


def test_schema_defines_eleven_fields_in_order() -> None:
    assert FIELD_NAMES == (
        "turbine_id",
        "turbine_type",
        "wind_speed",
        "rpm_blade",
        "oil_temperature",
        "oil_level",
        "temperature",
        "humidity",
        "vibrations_frequency",
        "pressure",
        "wind_direction",
    )
    spec = TURBINE.to_dict()["fields"]
    assert spec[3]["label"] == "RPM blade"
    assert spec[0]["categories"][0] == "TID001" and spec[0]["categories"][-1] == "TID010"
    assert spec[10]["categories"] == ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    assert all("minimum" in f and "unit" in f for f in spec if f["type"] == "number")


@pytest.mark.parametrize(
    "body",
    [
        SAMPLE,
        SAMPLE + "\n",
        SAMPLE + "\r\n",
        "\ufeff" + SAMPLE,
        ",".join(FIELD_NAMES) + "\n" + SAMPLE,
        "TID008, VAWT, 64, 80, 46.0, 21, 55, 55, 7, 34, NE",
        '"TID008","VAWT","64","80","46.0","21","55","55","7","34","NE"',
        "TID008,VAWT,064.0,+80,46.,21,55,55,7,34,NE",
        'TID008, "VAWT" , 64,80,46.0,21,55,55,7,34, "NE"',
    ],
)
def test_csv_forms_of_the_classic_sample(body: str) -> None:
    assert csv(body) == [SAMPLE_ROW]


def test_csv_batch_keeps_input_order() -> None:
    rows = csv(f"{SAMPLE}\n{HEALTHY}\n{SAMPLE}")
    assert [r[0] for r in rows] == ["TID008", "TID002", "TID008"]


def test_readings_are_columns_that_read_as_rows() -> None:
    rows = [SAMPLE_ROW, (*SAMPLE_ROW[:-1], "SW")]
    readings = Readings([list(column) for column in zip(*rows, strict=True)])
    assert readings.columns[0] == ["TID008", "TID008"] and readings.columns[10] == ["NE", "SW"]
    assert len(readings) == 2 and list(readings) == rows
    assert readings[1] == rows[1] and readings[-1] == rows[1]
    assert list(readings[1:]) == rows[1:]
    assert rows[1] in readings and readings.index(rows[1]) == 1
    assert list(Readings([list(column) for column in zip(*readings, strict=True)])) == rows
    with pytest.raises(IndexError):
        readings[2]


@pytest.mark.parametrize("bad_line", [None, 1, 1000, 2001])
def test_long_bodies_are_read_whole_in_order(bad_line: int | None) -> None:
    lines = [SAMPLE if n % 2 else HEALTHY for n in range(1, 2002)]
    if bad_line is None:
        assert [row[0] for row in csv("\n".join(lines))] == ["TID008" if n % 2 else "TID002" for n in range(1, 2002)]
        return
    lines[bad_line - 1] = lines[bad_line - 1].replace("VAWT", "XAWT").replace("HAWT", "XAWT")
    with pytest.raises(ReadingsError) as error:
        csv("\n".join(lines))
    assert details(error) == [(bad_line, "turbine_type")]


def test_a_short_line_and_a_long_line_do_not_make_two_readings() -> None:
    values = SAMPLE.split(",")
    short, long = ",".join(values[:-1]), ",".join([*values, "NE"])
    with pytest.raises(ReadingsError) as error:
        csv(f"{short}\n{long}")
    assert details(error) == [(1, None), (2, None)]


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


@pytest.mark.parametrize("mimetype", ["text/csv", "application/json"])
def test_one_leading_byte_order_mark_is_ignored(mimetype: str) -> None:
    body = SAMPLE.encode() if mimetype == "text/csv" else json.dumps(SAMPLE_OBJECT).encode()
    assert list(TURBINE.parse_body(codecs.BOM_UTF8 + body, mimetype, None, 10)) == [SAMPLE_ROW]
    with pytest.raises(ReadingsError):
        TURBINE.parse_body(codecs.BOM_UTF8 * 2 + body, mimetype, None, 10)


def test_text_plain_is_csv() -> None:
    assert list(TURBINE.parse_body(SAMPLE.encode(), "text/plain", "UTF-8", 10)) == [SAMPLE_ROW]


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


def mlflow_bodies() -> dict[str, str]:
    """The sample and the healthy reading in MLflow's scoring formats: dataframe_split and inputs as MLflow's own
    serializer writes them, dataframe_records and instances from pandas' orient="records" (MLflow's documentation
    gives that for them; its serializer writes neither)."""
    import pandas as pd
    from mlflow.models import convert_input_example_to_serving_input

    frame = pd.DataFrame([as_json(SAMPLE_OBJECT)[0], csv(HEALTHY)[0]], columns=list(FIELD_NAMES))
    with warnings.catch_warnings():  # MLflow 3.17 warns of pandas 3 deprecations and of its own type hints
        warnings.simplefilter("ignore")
        return {
            "dataframe_split": convert_input_example_to_serving_input(frame),
            "inputs, columns": convert_input_example_to_serving_input({n: list(frame[n]) for n in FIELD_NAMES}),
            "inputs, rows": convert_input_example_to_serving_input(frame.to_dict(orient="records")),
            "dataframe_records": json.dumps({"dataframe_records": json.loads(frame.to_json(orient="records"))}),
            "instances": json.dumps({"instances": json.loads(frame.to_json(orient="records"))}),
        }


@pytest.mark.parametrize(
    "shape", ["dataframe_split", "inputs, columns", "inputs, rows", "dataframe_records", "instances"]
)
def test_mlflows_request_formats_give_the_csv_readings(shape: str) -> None:
    body = mlflow_bodies()[shape]
    assert shape.split(",")[0] in json.loads(body)
    assert list(TURBINE.parse_body(body.encode(), "application/json", None, 10)) == csv(f"{SAMPLE}\n{HEALTHY}")


def test_a_dataframe_split_in_another_column_order_and_with_an_index() -> None:
    names = list(reversed(FIELD_NAMES))
    frame = {"columns": names, "data": [[SAMPLE_OBJECT[n] for n in names]], "index": ["turbine 8"]}
    assert as_json({"dataframe_split": frame}) == [SAMPLE_ROW]


def test_a_dataframe_split_row_of_another_length_is_named_with_the_field_errors() -> None:
    rows = [list(SAMPLE_ROW), list(SAMPLE_ROW[:-1]), [*SAMPLE_ROW[:2], "fast", *SAMPLE_ROW[3:]]]
    with pytest.raises(ReadingsError) as error:
        as_json({"dataframe_split": {"columns": list(FIELD_NAMES), "data": rows}})
    assert details(error) == [(2, None), (3, "wind_speed")]
    assert error.value.details[0]["message"].endswith("must hold 11 values, one per column: 10 values")


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}, "each once"),
        ({"dataframe_split": {"data": [[1]]}}, 'must be {"columns"'),
        ({"dataframe_split": {"columns": ["a"], "data": [[1]], "index": "rows"}}, "index must be a list"),
        ({"dataframe_split": {"columns": list(FIELD_NAMES), "data": {}}}, "data must be a list of rows"),
        (
            {"inputs": {"turbine_id": ["TID008"], "turbine_type": []}},
            "equally long, one value per reading; found turbine_id: 1, turbine_type: 0",
        ),
        ({"inputs": {"turbine_id": "TID008"}}, "map each field to a list"),
        ({"dataframe_records": [SAMPLE_OBJECT], "params": {"threshold": 0.9}}, "params are not accepted"),
        ({"dataframe_records": [SAMPLE_OBJECT], "instances": []}, "beside instances: dataframe_records"),
        ({"dataframe_records": SAMPLE_OBJECT}, "dataframe_records must be a list"),
    ],
)
def test_mlflow_formats_refuse_what_does_not_fit(document: Any, fragment: str) -> None:
    with pytest.raises(ReadingsError) as error:
        as_json(document)
    assert fragment in error.value.message


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


@pytest.mark.parametrize("line", [SAMPLE + ",yes", "TID008,VAWT,64", SAMPLE.replace(",NE", "")])
def test_csv_rejects_wrong_field_count(line: str) -> None:
    with pytest.raises(ReadingsError) as error:
        csv(line)
    assert details(error) == [(1, None)]
    assert "expected 11 values" in error.value.details[0]["message"]


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
        TURBINE.parse_body(body.encode(), "application/json", None, 10)
    assert details(error) == [(2, field)]
    assert fragment in error.value.details[0]["message"]


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
        TURBINE.parse_body(body, "application/json", None, 10)
    assert fragment in error.value.message


def test_csv_the_csv_module_cannot_read_is_a_row_error() -> None:
    with pytest.raises(ReadingsError) as error:
        csv(f"{SAMPLE}\n{'x' * 200_000}\n{SAMPLE}")
    assert details(error) == [(2, None)]
    assert "not readable as CSV: field larger than field limit" in error.value.details[0]["message"]
    with pytest.raises(ReadingsError) as error:
        csv("turbine_id," + "x" * 200_000 + f"\n{SAMPLE}")
    assert details(error) == [(1, None)]


def test_a_header_may_name_the_fields_in_any_order() -> None:
    names = FIELD_NAMES[::-1]
    values = SAMPLE.split(",")[::-1]
    body = ",".join(name.upper() for name in names) + "\n" + ",".join(values) + "\n" + " ,".join(values)
    assert csv(body) == [SAMPLE_ROW, SAMPLE_ROW]
    with pytest.raises(ReadingsError) as error:
        csv(",".join(names) + "\n" + ",".join([*values[:2], "999", *values[3:]]))
    assert details(error) == [(1, names[2])]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (FIELD_NAMES[:-1], [("wind_direction", "missing from the header")]),
        (
            [*FIELD_NAMES[:-1], "wind_dir"],
            [("wind_direction", "missing from the header"), (None, "header value 11, 'wind_dir', names no field")],
        ),
        ([*FIELD_NAMES, "turbine_id"], [("turbine_id", "named twice in the header")]),
        (
            [*FIELD_NAMES[:-1], "x" * 5000],
            [
                ("wind_direction", "missing from the header"),
                (None, f"header value 11, '{'x' * 31}… (5002 characters), names no field"),
            ],
        ),
    ],
)
def test_a_header_must_name_every_field_once(header: list[str], expected: list[tuple[Any, str]]) -> None:
    with pytest.raises(ReadingsError) as error:
        csv(",".join(header) + "\n" + SAMPLE)
    assert error.value.message.startswith("The header line must name each of the 11 fields once, in any order:")
    assert [(d["row"], d["field"], d["message"]) for d in error.value.details] == [(None, *e) for e in expected]


@pytest.mark.parametrize(
    ("body", "mimetype", "hint"),
    [
        (
            json.dumps(SAMPLE_OBJECT),
            "text/csv",
            "The body looks like JSON: send it with Content-Type: application/json.",
        ),
        (" [[1, 2]]", "text/plain", "The body looks like JSON: send it with Content-Type: application/json."),
        (SAMPLE, "application/json", "The body does not look like JSON: send CSV with Content-Type: text/csv."),
    ],
)
def test_a_body_under_the_other_content_type_gets_a_hint(body: str, mimetype: str, hint: str) -> None:
    with pytest.raises(ReadingsError) as error:
        TURBINE.parse_body(body.encode(), mimetype, None, 10)
    assert error.value.message.endswith(hint)


def test_valid_bodies_and_unrelated_errors_get_no_hint() -> None:
    with pytest.raises(ReadingsError) as error:
        TURBINE.parse_body(b'{"turbine_id": 1}', "application/json", None, 10)
    assert "Content-Type" not in error.value.message
    with pytest.raises(ReadingsError) as error:
        TURBINE.parse_body(SAMPLE.replace("NE", "XX").encode(), "text/csv", None, 10)
    assert "Content-Type" not in error.value.message


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
        TURBINE.parse_body(body.encode(), mimetype, None, 10)
    assert [d["message"] for d in error.value.details] == [message]
    assert "digits" not in error.value.message and len(error.value.message) < 300


def test_an_unknown_long_json_key_is_named_cut_short() -> None:
    with pytest.raises(ReadingsError) as error:
        as_json({**SAMPLE_OBJECT, "k" * 5000: 1})
    assert error.value.details == [{"row": 1, "field": f"{'k' * 32}… (5000 characters)", "message": "unknown field"}]


def test_json_numbers_may_have_exponents() -> None:
    for written in ("6.4e1", "640E-1"):
        body = json.dumps(SAMPLE_OBJECT).replace("64.0", written).encode()
        assert list(TURBINE.parse_body(body, "application/json", None, 10)) == [SAMPLE_ROW]


def test_json_items_must_be_objects_or_arrays() -> None:
    with pytest.raises(ReadingsError) as error:
        as_json([SAMPLE_OBJECT, 42])
    assert error.value.details == [
        {"row": 2, "field": None, "message": "a reading must be an object or an array of 11 values"}
    ]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (",".join(FIELD_NAMES).encode(), "no readings"),
        (b"turbine_id,turbine_type\n" + SAMPLE.encode(), "header"),
        (SAMPLE.encode() + b"\n\xff\xfe", "not valid UTF-8 (byte 40, line 2)"),
    ],
)
def test_csv_rejects_malformed_bodies(body: bytes, fragment: str) -> None:
    with pytest.raises(ReadingsError) as error:
        TURBINE.parse_body(body, "text/csv", None, 10)
    assert fragment in error.value.message


@pytest.mark.parametrize(
    ("mimetype", "charset"),
    [("application/x-www-form-urlencoded", None), ("", None), ("text/html", None), ("text/csv", "latin-1")],
)
def test_other_media_types_and_charsets_are_unsupported(mimetype: str, charset: str | None) -> None:
    with pytest.raises(UnsupportedBody):
        TURBINE.parse_body(SAMPLE.encode(), mimetype, charset, 10)


def test_row_limit() -> None:
    assert len(csv("\n".join([SAMPLE] * 3), max_rows=3)) == 3
    with pytest.raises(TooManyReadings, match="4 readings sent; at most 3"):
        csv("\n".join([SAMPLE] * 4), max_rows=3)
    with pytest.raises(TooManyReadings):
        as_json([SAMPLE_OBJECT] * 4, max_rows=3)


def test_to_csv_round_trips() -> None:
    rows = csv(f"{SAMPLE}\n{HEALTHY}")
    assert csv(to_csv(rows)) == rows
    assert to_csv(rows).splitlines()[0] == "TID008,VAWT,64.0,80.0,46.0,21.0,55.0,55.0,7.0,34.0,NE"


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


# Tokens that probe where float() and the careful path disagree: specials, separators, spacing, quotes.
TOKENS = [
    "64",
    "0",
    "-1",
    "+80",
    "46.",
    ".5",
    "1e2",
    "1E999",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1_0",
    " 7",
    "7 ",
    "",
    '"55"',
    "\u0664",
    "0x1",
    "TID008",
    "TID011",
    "VAWT",
    "HAWT",
    "NE",
    "N",
    "ne",
    "100",
    "250.5",
]


JSON_VALUES = st.one_of(
    st.sampled_from([True, False, None, "64", "NE", "TID008", "ne", 10**400, -(10**400), 0, 250, 251, -40]),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False),
    st.text(max_size=6),
)


def each_alone(field: Field, values: list[Any], convert: str) -> list[Any] | None:
    """The values as the field's rules take them one at a time, or None if any one is refused."""
    out = []
    for value in values:
        try:
            out += field.check_allowed(getattr(field, convert)([value]))
        except ValueError:
            return None
    return out


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
        ("from_texts", texts, lambda: TURBINE.parse_rows(texts, range(1, len(texts) + 1))),
        ("from_json", objects, lambda: TURBINE.parse_json(body, 10)),
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


HEADER_PARTS = [",".join(FIELD_NAMES), ",".join(FIELD_NAMES[::-1]), "turbine_id", "Wind_Speed", '"pressure"']
BODY_PARTS = [
    *TOKENS,
    *HEADER_PARTS,
    "9" * 131_073,
    ",",
    ",",
    ",",
    "\n",
    "\r\n",
    '"',
    " ",
    "\t",
    "\x1f",
    "\u00a0",
    SAMPLE,
    HEALTHY,
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(BODY_PARTS), min_size=1, max_size=40))
def test_splitting_at_commas_reads_lines_as_the_csv_module_does(parts: list[str]) -> None:
    """Both ways: a body read by splitting plain lines at commas gives exactly the readings, or exactly the
    error details, of the same body read line by line with the csv module."""
    text = "".join(parts)
    outcomes = []
    for split in (True, False):
        try:
            outcomes.append(list(TURBINE.parse_csv(text, 50, split=split)))
        except ReadingsError as error:
            outcomes.append([error.message, error.details])
    assert outcomes[0] == outcomes[1]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*TOKENS, *HEADER_PARTS, ",", ",", '"', " ", "\t", "\u00a0"]), max_size=30))
def test_a_first_line_is_a_header_exactly_when_a_value_names_a_field(parts: list[str]) -> None:
    """Both ways: the quick look for a field name in a first line agrees with the csv module's reading of it."""
    first = "".join(parts)
    try:
        read = [value.strip().lower() for value in next(csvmodule.reader([first], skipinitialspace=True), [])]
    except csvmodule.Error:
        read = []
    names_a_field = bool({name.lower() for name in FIELD_NAMES} & set(read))
    # A last line of one value is always refused: it is row 2 under a header, row 3 under a first line of data.
    with pytest.raises(ReadingsError) as error:
        TURBINE.parse_csv(first + "\n" + SAMPLE + "\nx", 10)
    rows = [detail["row"] for detail in error.value.details]
    taken_as_header = error.value.message.startswith("The header line") or (first != "" and max(rows) == 2)
    assert taken_as_header == names_a_field


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(str.encode),
        st.lists(st.sampled_from([*TOKENS, ",", "\n", "[", "]", "{", "}", '"', ":", "instances"]), max_size=80).map(
            lambda parts: "".join(parts).encode()
        ),
    ),
    st.sampled_from(["text/csv", "text/plain", "application/json"]),
)
def test_any_body_gives_readings_or_a_typed_error(body: bytes, mimetype: str) -> None:
    """Client input never escapes as anything but the validator's own error (no 500)."""
    try:
        rows = TURBINE.parse_body(body, mimetype, None, 50)
    except ReadingsError as error:
        assert error.message
    else:
        assert rows and all(len(row) == len(FIELDS) for row in rows)


def test_the_turbine_schema_comes_from_its_committed_file() -> None:
    assert load_schema(TURBINE_SCHEMA_PATH).to_dict() == TURBINE.to_dict()
    assert TURBINE.sample == "TID008,VAWT,64,80,46.0,21,55,55,7,34,NE"
    assert load_schema(DEFAULT_MODEL_PATH).names == FIELD_NAMES  # a model artifact's schema section


NUMBER = {"name": "x", "type": "number", "minimum": 0, "maximum": 1}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"fields": []}, "non-empty fields list"),
        ({"fields": [{**NUMBER, "name": "Air temp"}]}, r"fields\[0\].name must be lower-case"),
        ({"fields": [{**NUMBER, "minimum": 2}]}, "minimum first"),
        ({"fields": [{**NUMBER, "maximum": True}]}, "finite numbers"),
        ({"fields": [{**NUMBER, "type": "date"}]}, "type must be category or number"),
        ({"fields": [{"name": "c", "type": "category", "categories": ["a", "a"]}]}, "distinct"),
        ({"fields": [{"name": "c", "type": "category", "categories": [" a"]}]}, "surrounding spaces"),
        ({"fields": [NUMBER, NUMBER]}, "names field.s. x more than once"),
        ({"fields": [NUMBER], "sample": "2"}, "sample is not a valid reading"),
        ({"fields": [NUMBER], "version": 2}, "version must be 1"),
    ],
)
def test_bad_schemas_are_refused_saying_where(document: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        schema_from_dict(document)


def test_a_field_says_it_is_nullable_only_when_it_is() -> None:
    """A nullable field may be left out of a reading (a gap); the JSON form says so only for such a field, so a
    schema without gaps is written as before."""
    fields = [NUMBER | {"nullable": True}, {"name": "y", "type": "category", "categories": ["a"], "nullable": True}]
    schema = schema_from_dict({"fields": [*fields, NUMBER | {"name": "z"}]})
    assert [field.nullable for field in schema.fields] == [True, True, False]
    written = schema.to_dict()["fields"]
    assert [field.get("nullable") for field in written] == [True, True, None]
    assert schema_from_dict(schema.to_dict()).fields == schema.fields
    assert TURBINE.to_dict() == load_schema(TURBINE_SCHEMA_PATH).to_dict()  # no field of it is nullable
    with pytest.raises(SchemaError, match=r"schema.fields\[0\].nullable must be true or false"):
        schema_from_dict({"fields": [NUMBER | {"nullable": "yes"}]})
