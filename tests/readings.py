"""Readings as the tests write them: the classic sample as a row and as a JSON object, bodies read as the scoring
routes read them, and the values and bodies the field, validator and codec tests share."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from hypothesis import strategies as st

from app.core.errors import ReadingsError
from app.core.fields import Field
from app.core.schemas import turbine_schema
from tests.conftest import HEALTHY, read_body

TURBINE = turbine_schema()
FIELDS, FIELD_NAMES = TURBINE.fields, TURBINE.names


SAMPLE_ROW = ("TID008", "VAWT", 64.0, 80.0, 46.0, 21.0, 55.0, 55.0, 7.0, 34.0, "NE")


SAMPLE_OBJECT = dict(zip(FIELD_NAMES, SAMPLE_ROW, strict=True))


def csv(body: str, max_rows: int = 10_000) -> list[tuple[Any, ...]]:
    return list(read_body(body.encode(), "text/csv", None, max_rows))


def as_json(document: Any, max_rows: int = 10_000) -> list[tuple[Any, ...]]:
    return list(read_body(json.dumps(document).encode(), "application/json", None, max_rows))


def details(error: pytest.ExceptionInfo[ReadingsError]) -> list[tuple[Any, Any]]:
    return [(d["row"], d["field"]) for d in error.value.details]


# What str.splitlines also takes for a line's end: in CSV each is a character like any other.
NOT_LINE_ENDS = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


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


# JSON bodies of more values than 10 readings hold, none a reading: a value each would be an object each.
TOO_MANY_VALUES = {
    "a reading of many values": [[1] * 2000],
    "a value of many values": [{**SAMPLE_OBJECT, "wind_speed": [1] * 2000}],
    "many empty objects": [{}] * 2000,
    "many empty arrays": [[]] * 2000,
    "many numbers": [1] * 2000,
    "many strings": ["a"] * 2000,
    "instances of empty objects": {"instances": [{}] * 2000},
    "a long column": {"inputs": {"wind_speed": [1] * 2000}},
    "a long index": {
        "dataframe_split": {"columns": list(FIELD_NAMES), "data": [list(SAMPLE_ROW)], "index": [0] * 2000}
    },
}


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
