"""What a reading's fields are, and each field's rules for a column of its values."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

SCHEMA_VERSION = 1
STRING, NUMBER = frozenset({str}), frozenset({int, float})  # a JSON value's types for a category and a number
NAME = re.compile(r"[a-z_][a-z0-9_]*")


class LongInteger(str):
    """A JSON integer too long for int(), kept as its text: no float holds it, so no field accepts it."""


@dataclass(frozen=True)
class Field:
    """One value of a reading, and its rules. Each rule takes a whole column of values, so a body is checked
    column by column; the same rule on one value says what is wrong with it. A rule raises ValueError."""

    name: str
    label: str
    unit: str
    description: str
    categories: tuple[str, ...] = ()
    minimum: float = 0.0
    maximum: float = 0.0
    nullable: bool = False  # a gap (an empty CSV value, JSON null, NaN) is a missing value, not an error

    @property
    def kind(self) -> str:
        return "category" if self.categories else "number"

    @cached_property
    def expected(self) -> str:
        if self.categories:
            return "one of " + ", ".join(self.categories)
        return f"a number from {self.minimum:g} to {self.maximum:g}"

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.categories)

    def to_dict(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.kind,
            "unit": self.unit,
            "description": self.description,
        }
        if self.categories:
            spec["categories"] = list(self.categories)
        else:
            spec["minimum"] = self.minimum
            spec["maximum"] = self.maximum
        if self.nullable:
            spec["nullable"] = True
        return spec

    def from_texts(self, texts: Sequence[str]) -> list[Any]:
        """CSV values: a category as it is; a number only as a plain decimal (no nan, inf, 1_000, hex, or
        digits outside ASCII), which is what float() reads in ASCII text without underscores. An empty value of a
        nullable field is a gap."""
        if self.nullable and "" in texts:
            return _with_gaps(texts, "".__eq__, self.from_texts)
        if self.categories:
            return list(texts)
        joined = "".join(texts)
        if not joined.isascii() or "_" in joined:
            raise ValueError(f"is not a number; expected {self.expected}")
        try:
            numbers = list(map(float, texts))
        except ValueError:
            raise ValueError(f"is not a number; expected {self.expected}") from None
        if "e" in joined or "E" in joined:  # the only letters float() reads in a finite number
            raise ValueError(f"is not a plain decimal (no exponents); expected {self.expected}")
        return _finite(numbers, self.expected)

    def from_json(self, values: Sequence[Any]) -> list[Any]:
        """JSON values, never coerced: a category must be a string, a number a JSON number (not a boolean). A null
        of a nullable field, or a NaN (which only binary tensors can hold), is a gap."""
        if self.nullable and any(map(_json_gap, values)):
            return _with_gaps(values, _json_gap, self.from_json)
        if self.categories:
            if not set(map(type, values)) <= STRING:
                raise ValueError(f"is not a string; expected {self.expected}")
            return list(values)
        if not set(map(type, values)) <= NUMBER:
            if any(type(value) is LongInteger for value in values):
                raise ValueError(f"is not a finite number; expected {self.expected}")
            raise ValueError(f"is not a number; expected {self.expected}")
        try:
            return _finite(list(map(float, values)), self.expected)
        except OverflowError:  # an integer too large for a float
            raise ValueError(f"is not a finite number; expected {self.expected}") from None

    def check_allowed(self, values: list[Any]) -> list[Any]:
        """The values, if each is in the field's vocabulary or range (a gap of a nullable field aside)."""
        if self.nullable and None in values:
            self.check_allowed([value for value in values if value is not None])
            return values
        if self.categories:
            if not self.vocabulary.issuperset(values):
                raise ValueError(f"is not {self.expected}")
        elif values and (min(values) < self.minimum or max(values) > self.maximum):
            raise ValueError(f"is out of range; expected {self.expected}")
        return values


def _finite(numbers: list[float], expected: str) -> list[float]:
    # One sum tells whether all are finite, unless finite values add up past the largest float: then the
    # caller's check of each value alone answers exactly.
    if not math.isfinite(sum(numbers)):
        raise ValueError(f"is not a finite number; expected {expected}")
    return numbers


def _json_gap(value: Any) -> bool:
    return value is None or (type(value) is float and value != value)


def _with_gaps(
    values: Sequence[Any], gap: Callable[[Any], bool], convert: Callable[[Sequence[Any]], list[Any]]
) -> list[Any]:
    """A column with gaps: the other values converted, each gap None in its place."""
    converted = iter(convert([v for v in values if not gap(v)]))
    return [None if gap(v) else next(converted) for v in values]


class Schema:
    """The fields of a reading, in order, and what the codecs and the validator need to know of them at once."""

    def __init__(self, fields: Sequence[Field], sample: str = "") -> None:
        self.fields = tuple(fields)
        self.names = tuple(field.name for field in self.fields)
        self.by_name = {field.name: field for field in self.fields}
        self.width = len(self.fields)
        self.name_set = frozenset(self.names)
        self.lower_names = frozenset(name.lower() for name in self.names)
        # The quick look for a header: a line whose csv values name a field has a name somewhere in its text.
        self.may_name_field = re.compile("|".join(map(re.escape, sorted(self.lower_names)))).search
        # The numbers without gaps, which one call converts together.
        self.numeric = tuple(i for i, f in enumerate(self.fields) if not f.categories and not f.nullable)
        self.expected_values = f"expected {self.width} values ({','.join(self.names)})"
        # The most commas a line of readings holds: those between its values, and those quoted in categories.
        self.most_commas = (
            self.width - 1 + sum(max(c.count(",") for c in f.categories) for f in self.fields if f.categories)
        )
        self.sample = sample  # one reading as a CSV line, for the page, the docs and check commands

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"version": SCHEMA_VERSION, "fields": [field.to_dict() for field in self.fields]}
        if self.sample:
            document["sample"] = self.sample
        return document
