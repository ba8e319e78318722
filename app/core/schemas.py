"""Schemas as files and artifact sections hold them: read, checked, and the bundled turbine fields."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.core.errors import ReadingsError
from app.core.fields import NAME, SCHEMA_VERSION, Field, Schema
from app.core.table import Readings, csv_values
from app.core.validation import TEXT, Decoded, columns_of_rows, validate

TURBINE_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "model" / "turbine-schema.json"


class SchemaError(ValueError):
    """A schema file or section cannot be used; the message says where and why."""


def _field_from_dict(spec: Any, where: str) -> Field:
    if not isinstance(spec, dict):
        raise SchemaError(f"{where} must be an object")
    name = spec.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SchemaError(f"{where}.name must be lower-case letters, digits and _, not starting with a digit")
    texts = {key: spec.get(key, "") for key in ("label", "unit", "description")}
    if not all(isinstance(text, str) for text in texts.values()):
        raise SchemaError(f"{where}: label, unit and description must be text")
    label = texts["label"] or name
    nullable = spec.get("nullable", False)
    if type(nullable) is not bool:
        raise SchemaError(f"{where}.nullable must be true or false")
    if spec.get("type") == "category":
        categories = spec.get("categories")
        if (
            not isinstance(categories, list)
            or not categories
            or not all(isinstance(c, str) and c and c == c.strip() for c in categories)
            or len(set(categories)) != len(categories)
        ):
            raise SchemaError(f"{where}.categories must list distinct, non-empty texts without surrounding spaces")
        return Field(name, label, texts["unit"], texts["description"], tuple(categories), nullable=nullable)
    if spec.get("type") == "number":
        bounds = [spec.get("minimum"), spec.get("maximum")]
        numbers = [float(b) for b in bounds if isinstance(b, (int, float)) and not isinstance(b, bool)]
        if len(numbers) != 2 or not all(map(math.isfinite, numbers)) or numbers[0] > numbers[1]:
            raise SchemaError(f"{where}: minimum and maximum must be finite numbers, minimum first")
        return Field(name, label, texts["unit"], texts["description"], (), numbers[0], numbers[1], nullable=nullable)
    raise SchemaError(f"{where}.type must be category or number")


def schema_from_dict(document: Any, where: str = "schema") -> Schema:
    """A Schema from its JSON form, as Schema.to_dict writes it; raises SchemaError."""
    if not isinstance(document, dict) or not isinstance(document.get("fields"), list) or not document["fields"]:
        raise SchemaError(f"{where} must be an object with a non-empty fields list")
    if document.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise SchemaError(f"{where}.version must be {SCHEMA_VERSION}")
    fields = [_field_from_dict(spec, f"{where}.fields[{i}]") for i, spec in enumerate(document["fields"])]
    names = [field.name for field in fields]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SchemaError(f"{where} names field(s) {', '.join(duplicates)} more than once")
    sample = document.get("sample", "")
    if not isinstance(sample, str):
        raise SchemaError(f"{where}.sample must be one reading as a CSV line")
    schema = Schema(fields, sample)
    if sample:
        try:
            read_sample(schema)
        except ReadingsError as problem:
            raise SchemaError(f"{where}.sample is not a valid reading: {problem}") from None
    return schema


def read_sample(schema: Schema) -> Readings:
    """The schema's sample as a validated reading; raises ReadingsError."""
    decoded = Decoded(TEXT, [])
    try:
        values = csv_values(schema.sample)
    except ValueError as problem:
        decoded.errors.add(1, None, str(problem))
    else:
        decoded.blocks = [columns_of_rows(schema, [values], [1], decoded.errors)]
    return validate(schema, decoded)


def load_schema(path: str | Path) -> Schema:
    """The schema in a JSON file: a schema itself, or the schema section of a model artifact."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as problem:
        raise SchemaError(f"cannot read schema file {path}: {problem.strerror}") from None
    except ValueError as problem:
        raise SchemaError(f"schema file {path} is not valid JSON: {problem}") from None
    if isinstance(document, dict) and "schema" in document:
        document = document["schema"]
    return schema_from_dict(document, str(path))


@lru_cache(maxsize=1)
def turbine_schema() -> Schema:
    """The 11 wind-turbine fields of the bundled model, from the committed schema file."""
    return load_schema(TURBINE_SCHEMA_PATH)
