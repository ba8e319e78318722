"""Reading a CSV training file and inferring its schema: fields typed from their values, bad data named by
line and column."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ReadingsError
from app.core.schemas import read_sample, turbine_schema
from app.training.reading import Dataset, field_name, infer_schema, read_dataset, readings
from tests.conftest import SAMPLE


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_headers_become_field_names() -> None:
    assert field_name("Air temperature [K]") == "air_temperature_k"
    assert field_name("3 phase (V)") == "f_3_phase_v"


def test_fields_are_typed_from_their_values(tmp_path: Path) -> None:
    rows = [["Air temperature [K]", "Grade", "ID", "Failed"]]
    rows += [[str(290 + n % 20), "ABC"[n % 3], f"id{n}", "TRUE" if n % 4 == 0 else "false"] for n in range(200)]
    data = read_dataset(write_csv(tmp_path / "d.csv", rows), "Failed", ["Grade", "Air temperature [K]"], None)
    assert (data.positive, data.negative, sum(data.labels), len(data.labels)) == ("true", "false", 50, 200)
    grade, air = infer_schema(data, None).fields
    assert (grade.name, grade.label, grade.unit, grade.categories) == ("grade", "Grade", "", ("A", "B", "C"))
    assert (air.name, air.label, air.unit, air.categories) == ("air_temperature_k", "Air temperature [K]", "K", ())
    assert (air.minimum, air.maximum) == pytest.approx((290 - 1.9, 309 + 1.9))


def test_a_given_schema_names_its_fields_and_keeps_its_sample() -> None:
    schema = turbine_schema()
    data = Dataset(list(schema.names), [SAMPLE.split(","), SAMPLE.split(",")], [1, 0], "yes", "no", [2, 3])
    assert infer_schema(data, schema).to_dict() == schema.to_dict()
    assert readings(data, schema) == [read_sample(schema)[0]] * 2


def test_a_value_outside_the_schema_is_named_by_line_and_field() -> None:
    schema = turbine_schema()
    bad = SAMPLE.replace("TID008,VAWT,64,", "TID008,VAWT,400,").split(",")
    data = Dataset(list(schema.names), [SAMPLE.split(","), bad], [1, 0], "yes", "no", [2, 11])
    with pytest.raises(ReadingsError) as problem:
        readings(data, schema)
    assert problem.value.message.startswith("line 11, field wind_speed: '400' is out of range")


def line(rows: list[list[str]], number: int, values: list[str]) -> list[list[str]]:
    """The file's rows with line `number` (the header is line 1) replaced."""
    return [*rows[: number - 1], values, *rows[number:]]


GOOD = [["a", "b", "y"], *([[str(n), "u" if n % 2 else "v", "yes" if n % 3 == 0 else "no"] for n in range(40)])]


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        (lambda r: line(r, 4, ["1", "u"]), {}, "line 4: 2 values for the 3 columns of the header"),
        (lambda r: line(r, 6, ["1", "u", ""]), {}, "line 6, column y: the label is empty"),
        (lambda r: line(r, 6, ["1", "u", "maybe"]), {}, "line 6, column y: a third label value 'maybe'"),
        (lambda r: line(r, 8, ["seven", "u", "no"]), {}, "line 8, column a: 'seven' is not a number"),
        (lambda r: line(r, 8, ["", "u", "no"]), {}, "line 8, column a: empty value"),
        (lambda r: [r[0], *([x, b, "no"] for x, b, _ in r[1:-3]), *r[-3:]], {}, "1 row(s) of the positive class"),
        (lambda r: line(r, 1, ["a", "a", "y"]), {}, "line 1: column 'a' appears more than once"),
        (lambda r: line(r, 1, ["a", " ", "y"]), {}, "line 1: column 2 has an empty header"),
        (lambda r: line(r, 1, ["a", "%%", "y"]), {}, "line 1, column '%%': no field name can be made"),
        (lambda r: [*r[:3], [], *line(r, 8, ["seven", "u", "no"])[3:]], {}, "line 9, column a: 'seven' is not"),
        (lambda r: r, {"features": ["a", "c"]}, "--features: 'c' is not a column"),
        (lambda r: r, {"label": "z"}, "line 1: no label column 'z'"),
    ],
)
def test_bad_training_data_is_named_by_line_and_column(
    tmp_path: Path, change: Any, options: dict[str, Any], message: str
) -> None:
    path = write_csv(tmp_path / "bad.csv", change([list(r) for r in GOOD]))
    arguments = {"label": "y", "features": None, "positive": None, **options}
    with pytest.raises(ReadingsError) as problem:
        infer_schema(read_dataset(path, **arguments), None)
    assert message in problem.value.message
