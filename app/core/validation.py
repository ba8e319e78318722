"""The one validator: a body's values, as a codec decoded them into columns, checked against the fields' rules
column by column, every problem named by its row and field."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from app.core.errors import MAX_DETAILS, ReadingsError, TooManyReadings, shown
from app.core.fields import Field, LongInteger, Schema
from app.core.table import Readings

Convert = Callable[[Field, Sequence[Any]], list[Any]]
# How a codec's values are read: texts, as CSV holds them, or JSON values.
TEXT, JSON = Field.from_texts, Field.from_json
# Values by field position (in field order), and the numbers of the rows they belong to.
Block = tuple[list[Sequence[Any]], Sequence[int]]


class Errors:
    """Field errors across rows, listed by row and then field, the first MAX_DETAILS in the answer. Only those are
    kept; the others are counted, so that a body of a million bad rows keeps no million messages."""

    def __init__(self) -> None:
        self.found: list[tuple[int, int, str | None, str]] = []  # (row, order, field, message)
        self.count = 0
        self.rows = bytearray()  # a 1 at the number of each row with a problem (0: the request's)
        self.last: tuple[int, int] | None = None  # once MAX_DETAILS are kept: the last one's row and order

    def add(self, row: int | None, field: str | None, message: str) -> None:
        key = (row or 0, self.count)
        self.count += 1
        if key[0] >= len(self.rows):
            self.rows += bytes(key[0] + 1 - len(self.rows))
        self.rows[key[0]] = 1
        if self.last is not None and key > self.last:
            return  # listed after MAX_DETAILS others, whatever comes
        self.found.append((*key, field, message))
        if len(self.found) == 2 * MAX_DETAILS:
            self.found.sort()
            del self.found[MAX_DETAILS:]
            self.last = self.found[-1][:2]

    def raise_if_any(self) -> None:
        if not self.found:
            return
        self.found.sort()
        details = [
            {"row": row or None, "field": field, "message": message}
            for row, _, field, message in self.found[:MAX_DETAILS]
        ]
        count, rows = self.count, len(self.rows) - self.rows.count(0)
        listed = "" if count <= MAX_DETAILS else f" (the first {MAX_DETAILS} are listed)"
        first = details[0]
        where = f"row {first['row']}" if first["row"] is not None else "the request"
        subject = f"field {first['field']}" if first["field"] else "the reading"
        raise ReadingsError(
            f"{count} problem(s) in {rows} row(s){listed}; first: {where}, {subject}: {first['message']}",
            details,
        )


@dataclass
class Decoded:
    """A body's readings as its codec read them, not yet validated: values in blocks of columns (a codec may make
    them as they are validated), how to read them, and the problems the codec found, each naming its row."""

    convert: Convert
    blocks: Iterable[Block]
    errors: Errors = default(default_factory=Errors)
    hint: str = ""  # said after the problems: what the body's content type belies, say


def validate(schema: Schema, decoded: Decoded) -> Readings:
    """The decoded readings, each field's rules applied to its whole column; raises ReadingsError naming every
    problem, the codec's with the rules'."""
    columns: list[list[Any]] | None = None
    for values, numbers in decoded.blocks:
        part = checked(schema, values, numbers, decoded.convert, decoded.errors)
        if columns is None:
            columns = part
        else:
            for column, more in zip(columns, part, strict=True):
                column += more
    try:
        decoded.errors.raise_if_any()
    except ReadingsError as error:
        if decoded.hint:
            raise ReadingsError(f"{error.message} {decoded.hint}", error.details) from None
        raise
    return Readings(columns if columns is not None else [[] for _ in schema.fields])


def check_count(count: int, max_rows: int) -> None:
    if not count:
        raise ReadingsError("The body holds no readings.")
    if count > max_rows:
        raise TooManyReadings(count, max_rows)


def _show(value: Any, convert: Convert) -> str:
    if convert is Field.from_texts:
        return shown(repr(value))
    return shown(value if type(value) is LongInteger else json.dumps(value))


def columns_of_rows(schema: Schema, rows: Sequence[Sequence[Any]], numbers: Sequence[int], errors: Errors) -> Block:
    """The rows of the right width as one sequence of values per position, and their numbers; each row of
    another width is named in `errors`."""
    if set(map(len, rows)) - {schema.width}:
        kept = []
        for number, values in zip(numbers, rows, strict=True):
            if len(values) == schema.width:
                kept.append((number, values))
            else:
                errors.add(number, None, f"{schema.expected_values}, got {len(values)}")
        numbers, rows = [n for n, _ in kept], [v for _, v in kept]
    return (list(zip(*rows, strict=True)) if rows else [()] * schema.width), numbers


def checked(
    schema: Schema, values: Sequence[Sequence[Any]], numbers: Sequence[int], convert: Convert, errors: Errors
) -> list[list[Any]]:
    """Each field's rules on its whole column. A column that breaks a rule is checked value by value, to name
    each bad row in `errors`."""
    converted = _numbers(schema, values, convert)
    columns: list[list[Any]] = []
    for position, (field, column) in enumerate(zip(schema.fields, values, strict=True)):
        try:
            columns.append(field.check_allowed(converted.get(position) or convert(field, column)))
        except ValueError:
            columns.append(_each(field, column, numbers, convert, errors))
    return columns


def _numbers(schema: Schema, values: Sequence[Sequence[Any]], convert: Convert) -> dict[int, list[Any]]:
    """Every numeric column converted by one call, by position, when every value converts; else none, and each
    column is converted on its own. A number's rules do not depend on its field."""
    if len(schema.numeric) < 2 or not values[0]:
        return {}
    try:
        flat = convert(schema.fields[schema.numeric[0]], [value for i in schema.numeric for value in values[i]])
    except ValueError:
        return {}
    rows = len(values[0])
    return {i: flat[k * rows : (k + 1) * rows] for k, i in enumerate(schema.numeric)}


def _each(field: Field, column: Sequence[Any], numbers: Sequence[int], convert: Convert, errors: Errors) -> list[Any]:
    values = []
    for number, value in zip(numbers, column, strict=True):
        try:
            values += field.check_allowed(convert(field, [value]))
        except ValueError as problem:
            errors.add(number, field.name, f"{_show(value, convert)} {problem}")
    return values


def validate_rows(schema: Schema, rows: Sequence[Sequence[Any]], numbers: Sequence[int]) -> Readings:
    """Rows of CSV values, such as a data file's, numbered for errors, as readings; raises ReadingsError."""
    errors = Errors()
    return validate(schema, Decoded(TEXT, [columns_of_rows(schema, rows, numbers, errors)], errors))
