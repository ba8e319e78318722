"""MLflow's scoring formats, as MLflow's own serializer writes them, and what does not fit them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.errors import ReadingsError
from tests.conftest import HEALTHY, SAMPLE, read_body
from tests.readings import FIELD_NAMES, SAMPLE_OBJECT, SAMPLE_ROW, as_json, csv, details, mlflow_bodies


@pytest.mark.parametrize(
    "shape", ["dataframe_split", "inputs, columns", "inputs, rows", "dataframe_records", "instances"]
)
def test_mlflows_request_formats_give_the_csv_readings(shape: str) -> None:
    body = mlflow_bodies()[shape]
    assert shape.split(",")[0] in json.loads(body)
    assert list(read_body(body.encode(), "application/json", None, 10)) == csv(f"{SAMPLE}\n{HEALTHY}")


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
