"""The CSV/text codec: readings as lines of comma-separated values, headerless in field order or under a header
naming every field once, decoded straight into columns a block of lines at a time."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any

from app.core.errors import MAX_DETAILS, ReadingsError, shown
from app.core.fields import Field, Schema
from app.core.table import csv_values
from app.core.validation import TEXT, Block, Decoded, Errors, check_count, columns_of_rows

CSV_TYPES = ("text/csv", "text/plain")
_BLOCK = 40_000  # characters of CSV lines (whole lines) validated at a time: about 1,000 readings
# Where the csv module and stripping are needed: a quote, or a space other than the newline that ends a line (a
# lone "\r" included: only "\n" ends a line, as Batch Transform splits a file).
_NEEDS_CSV_MODULE = re.compile(r'"|[^\S\n]').search
# The same characters in ASCII text, where a substring search for each finds them faster than the pattern.
_ASCII_NEEDS_CSV_MODULE = tuple(c for c in map(chr, range(128)) if _NEEDS_CSV_MODULE(c))


_SOMETHING = re.compile("[^\n]").search  # where, past blank lines, a line that holds something starts


def _without_blank_lines(text: str) -> str:
    """Lines ended by "\n", without blank ones and without a "\n" before the first or after the last: their count is
    then the newlines' count and one. Made at C speed, each pass halving every run of blank lines."""
    while "\n\n" in text:
        text = text.replace("\n\n", "\n")
    return text.strip("\n")


def _plain(text: str) -> bool:
    """Whether splitting each line at commas reads it exactly as the csv module would: no quotes and nothing to
    strip. (Nor a line over the csv module's field size limit, which it refuses: each block is looked at for that.)"""
    if text.isascii():
        return not any(character in text for character in _ASCII_NEEDS_CSV_MODULE)
    return not _NEEDS_CSV_MODULE(text)


def decode(text: str, schema: Schema, max_rows: int, split: bool = True) -> Decoded:
    """Readings from headerless CSV lines in field order, or CSV lines under a header naming every field once, in
    any order; the header and the count of lines are checked at once, the lines a block at a time as they are
    validated. `split=False` reads every line with the csv module, as the comma split must agree with it. Raises
    ReadingsError for a header that does not name the fields, TooManyReadings."""
    if "\r" in text:  # a line ends at "\n" or "\r\n" alone: any other break is a character of its value
        text = text.replace("\r\n", "\n")
    found = _SOMETHING(text)
    start = found.start() if found else len(text)
    end = text.find("\n", start)
    first = text[start : len(text) if end < 0 else end]
    header = _header(schema, first) if first else None
    order = None if header is None else _header_order(schema, header)
    if header is not None:
        start = len(text) if end < 0 else end + 1
    # Counted before a line is split: a body of millions of lines is refused without making a string of each.
    # Only when blank lines and all are too many are the blank ones dropped to count again.
    if text.count("\n", start) >= max_rows:
        text, start = _without_blank_lines(text[start:]), 0
        check_count(text.count("\n") + 1 if text else 0, max_rows)
    elif not _SOMETHING(text, start):
        check_count(0, max_rows)
    decoded = Decoded(TEXT, [])
    decoded.blocks = _blocks(schema, text, start, order, split and _plain(text), decoded.errors)
    return decoded


def _blocks(
    schema: Schema, text: str, start: int, order: list[int] | None, plain: bool, errors: Errors
) -> Iterator[Block]:
    """The lines from `start` in blocks of whole lines, as columns: a block's strings are still in the processor's
    cache when its numbers are read, and only one block's lines are strings at a time."""
    done = 0
    while start < len(text):
        end = text.find("\n", start + _BLOCK)
        end = len(text) if end < 0 else end
        lines = list(filter(None, text[start:end].split("\n")))
        start, numbers, done = end + 1, range(done + 1, done + len(lines) + 1), done + len(lines)
        if not lines:
            continue
        by_position, kept = _block(schema, lines, numbers, plain, errors)
        yield ([by_position[i] for i in order] if order else by_position), kept


def _block(
    schema: Schema, lines: list[str], numbers: Sequence[int], plain: bool, errors: Errors
) -> tuple[list[Sequence[Any]], Sequence[int]]:
    """Lines as one sequence of values per position, and the numbers of those kept; each line of another width,
    or that the csv module cannot read, is named in `errors`. A line's commas are counted before it is split:
    a line of a million values is refused without making a million strings."""
    commas = list(map(str.count, lines, repeat(",")))
    if plain and max(map(len, lines)) <= csv.field_size_limit():  # the csv module refuses a longer field
        if set(commas) == {schema.width - 1}:
            # Every line has one value per field: split the block at once and take every width-th value.
            values = ",".join(lines).split(",")
            return [values[i :: schema.width] for i in range(schema.width)], numbers
        rows, kept = [], []
        for number, line, count in zip(numbers, lines, commas, strict=True):
            if count == schema.width - 1:
                rows.append(line.split(","))
                kept.append(number)
            else:
                errors.add(number, None, f"{schema.expected_values}, got {count + 1}")
        return columns_of_rows(schema, rows, kept, errors)
    rows, kept = [], []
    for number, line, count in zip(numbers, lines, commas, strict=True):
        try:
            if count > schema.most_commas:  # no line of readings holds so many: refused unread
                raise ValueError(_too_many_commas(schema, line, count))
            rows.append(csv_values(line))
            kept.append(number)
        except ValueError as problem:
            errors.add(number, None, str(problem))
    return columns_of_rows(schema, rows, kept, errors)


def _too_many_commas(schema: Schema, line: str, commas: int) -> str:
    """What is wrong with a line of more commas than a line of readings holds."""
    if '"' not in line:  # the csv module would make a value between each two commas
        return f"{schema.expected_values}, got {commas + 1}"
    return f"{schema.expected_values}, got {commas} commas, more than a line of them holds"


def _header(schema: Schema, line: str) -> list[str] | None:
    """A first line's values if it is a header, one of them naming a field (case aside); else None. A line of
    more values than a header could usefully name is read as a line of readings, refused by its width."""
    if line.count(",") > schema.most_commas + MAX_DETAILS:  # more than the details could name
        return None
    if not schema.may_name_field(line.lower()):
        return None  # no value names a field, however the csv module would read the line
    try:
        values = csv_values(line)
    except ValueError:
        return None
    return None if schema.lower_names.isdisjoint(value.lower() for value in values) else values


def _header_order(schema: Schema, header: list[str]) -> list[int] | None:
    """Where each field's value stands in the lines under this header; None when in field order. Raises
    ReadingsError unless the header names every field once."""
    names = [value.lower() for value in header]
    expected = [name.lower() for name in schema.names]
    if names == expected:
        return None
    details = [
        {"row": None, "field": field, "message": "missing from the header"}
        for field, name in zip(schema.names, expected, strict=True)
        if name not in names
    ]
    for position, (value, name) in enumerate(zip(header, names, strict=True)):
        if name not in schema.lower_names:
            details.append(
                {
                    "row": None,
                    "field": None,
                    "message": f"header value {position + 1}, {shown(repr(value))}, names no field",
                }
            )
        elif names.index(name) != position:
            details.append(
                {"row": None, "field": schema.names[expected.index(name)], "message": "named twice in the header"}
            )
    if details:
        raise ReadingsError(
            f"The header line must name each of the {schema.width} fields once, in any order: "
            + ",".join(schema.names)
            + ".",
            details[:MAX_DETAILS],
        )
    return [names.index(name) for name in expected]


# Its part of the OpenAPI document: the body as a string whose pattern matches plain lines of accepted readings.


def body_schema(schema: Schema) -> dict[str, Any]:
    """A CSV (or text) body of readings as JSON Schema."""
    return {
        "type": "string",
        "description": (
            f"One reading per line, {schema.width} comma-separated values in field order, or in the order of an "
            "optional header line naming every field once. The pattern gives the plain form, with the header in field "
            "order; the API also accepts values quoted or padded with spaces, numbers with a plus sign or leading "
            "zeros, and empty lines. Numbers are plain decimals: no exponent."
        ),
        "pattern": csv_pattern(schema),
        "example": schema.sample,
    }


def csv_pattern(schema: Schema) -> str:
    """A pattern for CSV bodies of plain lines, each a reading the API accepts, with an optional header."""
    line = ",".join(map(_value_pattern, schema.fields))
    header = ",".join(map(re.escape, schema.names))
    return f"^(?:{header}\\r?\\n)?(?:{line}\\r?\\n)*{line}(?:\\r?\\n)?$"


def _value_pattern(field: Field) -> str:
    if field.categories:
        return "(?:" + "|".join(map(re.escape, field.categories)) + ")"
    return _number_pattern(field)


def _number_pattern(field: Field) -> str:
    """Plain decimals that lie in the field's range: every text this matches is accepted. It leaves out
    forms the API also accepts (a plus sign, leading zeros), which the document's text names."""
    low, high = math.ceil(field.minimum), math.floor(field.maximum)
    fraction, zeros = r"(?:\.[0-9]*)?", r"(?:\.0*)?"
    parts = []
    if high >= max(low, 0):  # i.xxx lies in [i, i + 1): inside the range for every whole i below its top
        parts += [p + fraction for p in _whole_numbers(max(low, 0), high - 1)]
        parts.append(f"{high}{zeros}")
    if low < 0 and low <= high:  # -j.xxx lies in (-j - 1, -j]
        parts += [f"-{p}{fraction}" for p in _whole_numbers(max(1, -high), -low - 1)]
        parts.append(f"-{-low}{zeros}")
    return "(?:" + "|".join(parts) + ")" if parts else "(?!)"


def _whole_numbers(low: int, high: int) -> list[str]:
    """Patterns for the whole numbers from `low` to `high` (0 <= low), without leading zeros."""
    parts = []
    for digits in range(len(str(low)), len(str(high)) + 1 if low <= high else 0):
        start, end = max(low, 10 ** (digits - 1) if digits > 1 else 0), min(high, 10**digits - 1)
        if start <= end:
            parts.append(_digits_between(str(start), str(end)))
    return parts


def _digits_between(low: str, high: str) -> str:
    """A pattern for the whole numbers from `low` to `high`, both written with the same number of digits."""
    if low == high:
        return low
    if len(low) == 1:
        return f"[{low}-{high}]"
    if low[0] == high[0]:
        return low[0] + _digits_between(low[1:], high[1:])
    rest = len(low) - 1
    parts = [low[0] + _digits_between(low[1:], "9" * rest)]
    first, last = int(low[0]) + 1, int(high[0]) - 1
    if first <= last:
        parts.append((f"[{first}-{last}]" if first < last else str(first)) + "[0-9]" * rest)
    parts.append(high[0] + _digits_between("0" * rest, high[1:]))
    return "(?:" + "|".join(parts) + ")"
