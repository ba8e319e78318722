"""Schemas: the bundled turbine fields, read from their committed file, and schema documents refused saying where."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.schemas import TURBINE_SCHEMA_PATH, SchemaError, load_schema, schema_from_dict
from app.models.artifact import DEFAULT_MODEL_PATH
from tests.readings import FIELD_NAMES, TURBINE


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
