"""The 11 fields of a turbine reading, and parsing of CSV and JSON bodies into validated rows."""

from __future__ import annotations

import csv
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from app.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError

SCHEMA_VERSION = 1
SAMPLE_CSV = "TID008,VAWT,64,80,46.0,21,55,55,7,34,NE"
MAX_DETAILS = 100
CSV_TYPES = ("text/csv", "text/plain")
JSON_TYPE = "application/json"
CHARSETS = ("utf-8", "utf8", "us-ascii", "ascii")

# A validated reading: the 11 values in field order (str, str, 8 floats, str).
Reading = tuple[Any, ...]


class Readings(Sequence[Reading]):
    """Validated readings, kept as one list per field in field order; a row is a tuple made on demand.

    Iterating zips the columns, so a loop that unpacks each row allocates nothing per reading."""

    __slots__ = ("columns",)

    def __init__(self, columns: Sequence[list[Any]]) -> None:
        self.columns = columns

    @classmethod
    def from_rows(cls, rows: Iterable[Reading]) -> Readings:
        columns = [list(column) for column in zip(*rows, strict=True)]
        return cls(columns or [[] for _ in FIELDS])

    def __len__(self) -> int:
        return len(self.columns[0])

    def __iter__(self) -> Iterator[Reading]:
        return zip(*self.columns, strict=True)

    @overload
    def __getitem__(self, index: int) -> Reading: ...

    @overload
    def __getitem__(self, index: slice) -> Readings: ...

    def __getitem__(self, index: int | slice) -> Reading | Readings:
        if isinstance(index, slice):
            return Readings([column[index] for column in self.columns])
        return tuple(column[index] for column in self.columns)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    unit: str
    description: str
    categories: tuple[str, ...] = ()
    minimum: float = 0.0
    maximum: float = 0.0

    @property
    def kind(self) -> str:
        return "category" if self.categories else "number"

    def expected(self) -> str:
        if self.categories:
            return "one of " + ", ".join(self.categories)
        return f"a number from {self.minimum:g} to {self.maximum:g}"

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
        return spec


FIELDS: tuple[Field, ...] = (
    Field(
        "turbine_id", "Turbine ID", "", "Which turbine sent the reading.", tuple(f"TID{n:03d}" for n in range(1, 11))
    ),
    Field("turbine_type", "Turbine type", "", "Horizontal- or vertical-axis wind turbine.", ("HAWT", "VAWT")),
    Field("wind_speed", "Wind speed", "km/h", "Wind speed at the hub.", minimum=0, maximum=250),
    Field("rpm_blade", "RPM blade", "rpm", "Blade rotations per minute.", minimum=0, maximum=300),
    Field("oil_temperature", "Oil temperature", "°C", "Gearbox oil temperature.", minimum=-40, maximum=150),
    Field("oil_level", "Oil level", "%", "Gearbox oil level.", minimum=0, maximum=100),
    Field("temperature", "Temperature", "°C", "Nacelle temperature.", minimum=-60, maximum=100),
    Field("humidity", "Humidity", "%", "Relative humidity.", minimum=0, maximum=100),
    Field(
        "vibrations_frequency", "Vibrations frequency", "Hz", "Dominant vibration frequency.", minimum=0, maximum=100
    ),
    Field("pressure", "Pressure", "bar", "Hydraulic pressure.", minimum=0, maximum=200),
    Field(
        "wind_direction",
        "Wind direction",
        "",
        "Where the wind comes from.",
        ("N", "NE", "E", "SE", "S", "SW", "W", "NW"),
    ),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
NUMERIC_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if not f.categories)
CATEGORICAL_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.categories)
# Where each kind of field stands in a reading.
NUMERIC_POSITIONS: tuple[int, ...] = tuple(i for i, f in enumerate(FIELDS) if not f.categories)
CATEGORICAL_POSITIONS: tuple[int, ...] = tuple(i for i, f in enumerate(FIELDS) if f.categories)

# A plain decimal number: no "nan", "inf", "1_000", hex or non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII).fullmatch


def schema_dict() -> dict[str, Any]:
    return {"version": SCHEMA_VERSION, "fields": [f.to_dict() for f in FIELDS]}


class _Errors:
    """Collects field errors across rows, keeping the first MAX_DETAILS."""

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []
        self.count = 0
        self.rows: set[int | None] = set()

    def add(self, row: int | None, field: str | None, message: str) -> None:
        self.count += 1
        self.rows.add(row)
        if len(self.details) < MAX_DETAILS:
            self.details.append({"row": row, "field": field, "message": message})

    def raise_if_any(self) -> None:
        if not self.count:
            return
        shown = "" if self.count <= MAX_DETAILS else f" (the first {MAX_DETAILS} are listed)"
        first = self.details[0]
        where = f"row {first['row']}" if first["row"] is not None else "the request"
        subject = f"field {first['field']}" if first["field"] else "the reading"
        raise ValidationError(
            f"{self.count} problem(s) in {len(self.rows)} row(s){shown}; first: {where}, {subject}: {first['message']}",
            self.details,
        )


def _text_checker(field: Field) -> Callable[[str], Any]:
    """A function that turns one CSV value into the field's value or raises ValueError."""
    if field.categories:
        allowed = frozenset(field.categories)

        def category(text: str) -> str:
            if text in allowed:
                return text
            raise ValueError(f"{text!r} is not {field.expected()}")

        return category

    low, high = field.minimum, field.maximum

    def number(text: str) -> float:
        if not _NUMBER(text):
            raise ValueError(f"{text!r} is not a number; expected {field.expected()}")
        value = float(text)
        if not low <= value <= high:
            raise ValueError(f"{text} is out of range; expected {field.expected()}")
        return value

    return number


def _json_checker(field: Field) -> Callable[[Any], Any]:
    """A function that checks one JSON value, without coercing it, or raises ValueError."""
    if field.categories:
        text_check = _text_checker(field)

        def category(value: Any) -> str:
            if not isinstance(value, str):
                raise ValueError(f"{json.dumps(value)} is not a string; expected {field.expected()}")
            return text_check(value)  # type: ignore[no-any-return]

        return category

    low, high = field.minimum, field.maximum

    def number(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{json.dumps(value)} is not a number; expected {field.expected()}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number; expected {field.expected()}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range; expected {field.expected()}")
        return float(value)

    return number


_TEXT_CHECKS = tuple(zip(FIELD_NAMES, map(_text_checker, FIELDS), strict=True))
_JSON_CHECKS = tuple(zip(FIELD_NAMES, map(_json_checker, FIELDS), strict=True))


def _check_values(
    values: Sequence[Any],
    row: int,
    errors: _Errors,
    checks: tuple[tuple[str, Callable[[Any], Any]], ...],
) -> Reading | None:
    if len(values) != len(FIELDS):
        errors.add(row, None, f"expected {len(FIELDS)} values ({','.join(FIELD_NAMES)}), got {len(values)}")
        return None
    out = []
    ok = True
    for (name, check), value in zip(checks, values, strict=True):
        try:
            out.append(check(value))
        except ValueError as problem:
            errors.add(row, name, str(problem))
            ok = False
    return tuple(out) if ok else None


def parse_text_values(values: Sequence[str], row: int) -> Reading:
    """Validate one reading given as 11 strings; raises ValidationError."""
    errors = _Errors()
    reading = _check_values([v.strip() for v in values], row, errors, _TEXT_CHECKS)
    errors.raise_if_any()
    assert reading is not None
    return reading


def _decode(body: bytes) -> str:
    """The body as text, without a leading byte order mark. The plain UTF-8 codec runs in C; "utf-8-sig"
    wraps it in Python (ten times slower for one reading)."""
    try:
        text = body.decode()
        return text[1:] if text.startswith("\ufeff") else text
    except UnicodeDecodeError as problem:
        line = body.count(b"\n", 0, problem.start) + 1
        raise ValidationError(
            f"The body is not valid UTF-8 (byte {problem.start}, line {line}).",
            [{"row": None, "field": None, "message": f"undecodable byte at offset {problem.start}, line {line}"}],
        ) from None


def _check_count(count: int, max_rows: int) -> None:
    if count > max_rows:
        raise PayloadTooLarge(f"{count} readings sent; at most {max_rows} are accepted per request.")


_VOCABULARIES = tuple(frozenset(f.categories) for f in CATEGORICAL_FIELDS)
_LOWS = tuple(f.minimum for f in NUMERIC_FIELDS)
_HIGHS = tuple(f.maximum for f in NUMERIC_FIELDS)
_FEW = 8  # up to this many rows, checking ranges value by value is faster (measured crossover: about 10)
_BLOCK = 1000  # lines parsed at a time: 10,000 lines took 11.6 ms at once, 10.2 ms in blocks of 500 to 5,000
# Row-major numbers -> one list per numeric field; categorical then numeric columns -> field order.
_NUMERIC_COLUMNS = tuple(slice(j, None, len(NUMERIC_FIELDS)) for j in range(len(NUMERIC_FIELDS)))
_FIELD_ORDER = operator.itemgetter(*map((CATEGORICAL_POSITIONS + NUMERIC_POSITIONS).index, range(len(FIELDS))))
_CATEGORY_VALUES = operator.itemgetter(*CATEGORICAL_POSITIONS)
_NUMBER_VALUES = operator.itemgetter(*NUMERIC_POSITIONS)


def _is_plain(text: str) -> bool:
    """ASCII without what the careful path treats specially: quotes, spaces, digit separators."""
    return text.isascii() and '"' not in text and " " not in text and "\t" not in text and "_" not in text


def _each_in_range(numbers: Sequence[float], count: int) -> bool:
    """count readings' numbers, row by row, each against its bounds; fewer calls than a min and a max per
    column while the rows are few."""
    return all(map(operator.le, _LOWS * count, numbers)) and all(map(operator.le, numbers, _HIGHS * count))


def _plain_line(line: str) -> Readings | None:
    """One reading, the most common body, checked as _plain_columns checks many, in fewer steps."""
    values = line.split(",")
    if len(values) != len(FIELDS) or not _is_plain(line):
        return None
    categories = _CATEGORY_VALUES(values)
    if not all(map(frozenset.__contains__, _VOCABULARIES, categories)):
        return None
    try:
        numbers = tuple(map(float, _NUMBER_VALUES(values)))
    except ValueError:
        return None
    if not _each_in_range(numbers, 1) or not math.isfinite(sum(numbers)):
        return None
    return Readings([[value] for value in _FIELD_ORDER(categories + numbers)])


def _plain_columns(lines: list[str]) -> Readings | None:
    """All readings at once, column by column, when every line is plain and valid; None otherwise.

    Plain: ASCII, 11 comma-separated values per line, no quotes or spaces. Valid: categories in their
    vocabularies, numbers finite and in range. Whatever float() accepts beyond plain decimals (nan, inf)
    is not finite, so such a body goes to the careful path, which names the problem."""
    width, count = len(FIELDS), len(lines)
    if count == 1:
        return _plain_line(lines[0])
    # A lone "\n" value marks where each line ends (no line holds one). Every line has 11 values exactly
    # when the list has 12 per line less one and a marker stands at every 12th place.
    joined = ",\n,".join(lines)
    if not _is_plain(joined):
        return None
    values = joined.split(",")
    if len(values) != (width + 1) * count - 1 or values[width :: width + 1].count("\n") != count - 1:
        return None
    del values[width :: width + 1]
    categories = [values[i::width] for i in CATEGORICAL_POSITIONS]
    if not all(map(frozenset.issuperset, _VOCABULARIES, categories)):
        return None
    # Drop the categories (last first, so earlier positions hold), then convert every number in one call.
    for i in reversed(CATEGORICAL_POSITIONS):
        del values[i::width]
        width -= 1
    try:
        numbers = list(map(float, values))
    except ValueError:
        return None
    columns = list(map(numbers.__getitem__, _NUMERIC_COLUMNS))
    if count <= _FEW:
        in_range = _each_in_range(numbers, count)
    else:
        in_range = all(map(operator.le, _LOWS, map(min, columns))) and all(map(operator.ge, _HIGHS, map(max, columns)))
    if not in_range or not math.isfinite(sum(numbers)):
        return None
    return Readings(_FIELD_ORDER(categories + columns))


def _plain_readings(lines: list[str]) -> Readings | None:
    """_plain_columns over blocks of _BLOCK lines: a block's strings stay in the CPU's cache, and the
    memory one block frees serves the next instead of being returned to the system and faulted back in."""
    if len(lines) <= _BLOCK:
        return _plain_columns(lines)
    columns: list[list[Any]] = [[] for _ in FIELDS]
    for start in range(0, len(lines), _BLOCK):
        block = _plain_columns(lines[start : start + _BLOCK])
        if block is None:
            return None
        for column, part in zip(columns, block.columns, strict=True):
            column += part
    return Readings(columns)


def _csv_values(line: str) -> list[str]:
    """One line's values through the csv module; raises ValueError for what it cannot read."""
    try:
        return next(csv.reader([line]))
    except csv.Error as problem:
        raise ValueError(f"not readable as CSV: {problem}") from None


def _careful_rows(lines: list[str]) -> list[Reading]:
    """Readings line by line through the csv module and the per-field checks, naming every problem."""
    errors = _Errors()
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            values = _csv_values(line)
        except ValueError as problem:
            errors.add(number, None, str(problem))
            continue
        reading = _check_values([v.strip() for v in values], number, errors, _TEXT_CHECKS)
        if reading is not None:
            rows.append(reading)
    errors.raise_if_any()
    return rows


def parse_csv(text: str, max_rows: int) -> Readings:
    """Readings from headerless CSV lines, or CSV lines under a header naming the 11 fields."""
    lines = list(filter(None, text.splitlines()))
    if lines and lines[0].split(",", 1)[0].strip().strip('"').lower() == FIELD_NAMES[0]:
        try:
            header = [name.strip().lower() for name in _csv_values(lines.pop(0))]
        except ValueError:
            header = []
        if tuple(header) != FIELD_NAMES:
            raise ValidationError(
                "The header line does not name the 11 fields in order.",
                [{"row": None, "field": None, "message": f"expected header {','.join(FIELD_NAMES)}"}],
            )
    if not lines:
        raise ValidationError("The body holds no readings.")
    _check_count(len(lines), max_rows)
    readings = _plain_readings(lines)
    return readings if readings is not None else Readings.from_rows(_careful_rows(lines))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _json_items(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and "instances" in document:
        extra = sorted(set(document) - {"instances"})
        if extra:
            raise ValidationError(f"Unknown top-level key(s) beside instances: {', '.join(extra)}.")
        if not isinstance(document["instances"], list):
            raise ValidationError("instances must be a list of readings.")
        return document["instances"]
    if isinstance(document, dict):
        return [document]
    raise ValidationError('The JSON body must be a reading object, a list of readings, or {"instances": [...]}.')


def _object_values(item: dict[str, Any], row: int, errors: _Errors) -> list[Any] | None:
    missing = [n for n in FIELD_NAMES if n not in item]
    unknown = sorted(k for k in item if k not in FIELD_NAMES)
    for name in missing:
        errors.add(row, name, "missing")
    for name in unknown:
        errors.add(row, name, "unknown field")
    if missing or unknown:
        return None
    return [item[n] for n in FIELD_NAMES]


def parse_json(text: str, max_rows: int) -> Readings:
    """Readings from a reading object, a list of them, or {"instances": [...]} of objects or arrays."""
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as problem:
        raise ValidationError(f"The body is not valid JSON: {problem}.") from None
    except RecursionError:
        raise ValidationError("The JSON body is nested too deeply.") from None
    items = _json_items(document)
    if not items:
        raise ValidationError("The body holds no readings.")
    _check_count(len(items), max_rows)
    errors = _Errors()
    rows = []
    for number, item in enumerate(items, 1):
        values: Any = item
        if isinstance(item, dict):
            values = _object_values(item, number, errors)
        elif not isinstance(item, list):
            errors.add(number, None, "a reading must be an object or an array of 11 values")
            values = None
        if values is None:
            continue
        reading = _check_values(values, number, errors, _JSON_CHECKS)
        if reading is not None:
            rows.append(reading)
    errors.raise_if_any()
    return Readings.from_rows(rows)


def parse_body(body: bytes, mimetype: str, charset: str | None, max_rows: int) -> Readings:
    """Validated readings from a request body; raises ValidationError, UnsupportedMediaType, PayloadTooLarge."""
    if mimetype not in (*CSV_TYPES, JSON_TYPE):
        sent = mimetype or "no Content-Type"
        raise UnsupportedMediaType(
            f"{sent} is not accepted; send text/csv, text/plain or application/json.",
        )
    if charset is not None and charset.lower() not in CHARSETS:
        raise UnsupportedMediaType(f"charset {charset} is not accepted; send UTF-8.")
    if not body.strip():
        raise ValidationError("The body is empty; send one or more readings.")
    text = _decode(body)
    if mimetype == JSON_TYPE:
        return parse_json(text, max_rows)
    return parse_csv(text, max_rows)


def to_csv(rows: Sequence[Reading]) -> str:
    """Headerless CSV in field order, one line per reading."""
    return "\n".join(",".join(v if isinstance(v, str) else repr(v) for v in row) for row in rows)
