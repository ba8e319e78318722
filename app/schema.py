"""What a reading's fields are, read from a schema file or a model's artifact, and the one validator that
turns CSV and JSON bodies into validated readings."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, overload

SCHEMA_VERSION = 1
MAX_DETAILS = 100
_BLOCK = 1000  # CSV lines validated at a time
CSV_TYPES = ("text/csv", "text/plain")
JSON_TYPE = "application/json"
CHARSETS = ("utf-8", "utf8", "us-ascii", "ascii")
# Where the csv module and stripping are needed: a quote, or a space that is not a line break.
_NEEDS_CSV_MODULE = re.compile(r'"|[^\S\r\n]').search
# The same characters in ASCII text, where a substring search for each finds them faster than the pattern.
_ASCII_NEEDS_CSV_MODULE = tuple(c for c in map(chr, range(128)) if _NEEDS_CSV_MODULE(c))


class ReadingsError(ValueError):
    """A body that cannot become readings: a sentence for people, and a detail per bad row and field."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class TooManyReadings(ReadingsError):
    """More readings than one request may hold."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} readings sent; at most {limit} are accepted per request.")
        self.count = count
        self.limit = limit


class UnsupportedBody(ReadingsError):
    """A content type or charset the validator does not read."""


# A validated reading: its values in field order (str for a category, float for a number).
Reading = tuple[Any, ...]


class Readings(Sequence[Reading]):
    """Validated readings, kept as one list per field in field order; a row is a tuple made on demand.

    Iterating zips the columns, so a loop that unpacks each row allocates nothing per reading."""

    __slots__ = ("columns",)

    def __init__(self, columns: Sequence[list[Any]]) -> None:
        self.columns = columns

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
    """One value of a reading, and its rules. Each rule takes a whole column of values, so a body is checked
    column by column; the same rule on one value says what is wrong with it. A rule raises ValueError."""

    name: str
    label: str
    unit: str
    description: str
    categories: tuple[str, ...] = ()
    minimum: float = 0.0
    maximum: float = 0.0
    nullable: bool = False  # a reading may leave it out: a gap (None), which the model scores as missing

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
        digits outside ASCII), which is what float() reads in ASCII text without underscores."""
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
        """JSON values, never coerced: a category must be a string, a number a JSON number (not a boolean)."""
        if self.categories:
            if not all(type(value) is str for value in values):
                raise ValueError(f"is not a string; expected {self.expected}")
            return list(values)
        if not all(type(value) in (int, float) for value in values):
            if any(type(value) is _LongInteger for value in values):
                raise ValueError(f"is not a finite number; expected {self.expected}")
            raise ValueError(f"is not a number; expected {self.expected}")
        try:
            return _finite(list(map(float, values)), self.expected)
        except OverflowError:  # an integer too large for a float
            raise ValueError(f"is not a finite number; expected {self.expected}") from None

    def check_allowed(self, values: list[Any]) -> list[Any]:
        """The values, if each is in the field's vocabulary or range."""
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


Convert = Callable[[Field, Sequence[Any]], list[Any]]

SHOWN_LENGTH = 40  # the longest value an error message repeats whole


def shown(text: str) -> str:
    """A value as an error message repeats it: cut short when long, saying how long it was."""
    if len(text) <= SHOWN_LENGTH:
        return text
    return f"{text[: SHOWN_LENGTH - 8]}… ({len(text)} characters)"


def _show(value: Any, convert: Convert) -> str:
    if convert is Field.from_texts:
        return shown(repr(value))
    return shown(value if type(value) is _LongInteger else json.dumps(value))


class _Errors:
    """Field errors across rows, listed by row and then field, the first MAX_DETAILS in the answer."""

    def __init__(self) -> None:
        self.found: list[tuple[int, int, str | None, str]] = []

    def add(self, row: int | None, field: str | None, message: str) -> None:
        self.found.append((row or 0, len(self.found), field, message))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        self.found.sort()
        details = [
            {"row": row or None, "field": field, "message": message}
            for row, _, field, message in self.found[:MAX_DETAILS]
        ]
        count, rows = len(self.found), len({row for row, *_ in self.found})
        listed = "" if count <= MAX_DETAILS else f" (the first {MAX_DETAILS} are listed)"
        first = details[0]
        where = f"row {first['row']}" if first["row"] is not None else "the request"
        subject = f"field {first['field']}" if first["field"] else "the reading"
        raise ReadingsError(
            f"{count} problem(s) in {rows} row(s){listed}; first: {where}, {subject}: {first['message']}",
            details,
        )


def _decode(body: bytes) -> str:
    """The body as text, without one leading byte order mark."""
    try:
        text = body.decode()
    except UnicodeDecodeError as problem:
        line = body.count(b"\n", 0, problem.start) + 1
        raise ReadingsError(
            f"The body is not valid UTF-8 (byte {problem.start}, line {line}).",
            [{"row": None, "field": None, "message": f"undecodable byte at offset {problem.start}, line {line}"}],
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _check_count(count: int, max_rows: int) -> None:
    if not count:
        raise ReadingsError("The body holds no readings.")
    if count > max_rows:
        raise TooManyReadings(count, max_rows)


def _csv_values(line: str) -> list[str]:
    """One line's values as the csv module reads them, without surrounding spaces (so a quote after a space
    opens a quoted value); raises ValueError."""
    try:
        return [value.strip() for value in next(csv.reader([line], skipinitialspace=True), [])]
    except csv.Error as problem:
        raise ValueError(f"not readable as CSV: {problem}") from None


def _splits_as_csv(text: str, lines: list[str]) -> bool:
    """Whether splitting each line at commas reads it exactly as the csv module would: no quotes, nothing
    to strip, and no line over the csv module's field size limit, which it refuses."""
    limit = csv.field_size_limit()
    if text.isascii():
        plain = not any(character in text for character in _ASCII_NEEDS_CSV_MODULE)
    else:
        plain = not _NEEDS_CSV_MODULE(text)
    return plain and (len(text) <= limit or max(map(len, lines)) <= limit)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


class _LongInteger(str):
    """A JSON integer too long for int(), kept as its text: no float holds it, so no field accepts it."""


def _integer(text: str) -> int | _LongInteger:
    # Past 400 digits no float can hold the number; Python refuses int() past 4300.
    return int(text) if len(text) <= 400 else _LongInteger(text)


def load_json(text: str) -> Any:
    """The JSON document; raises ValueError for invalid JSON and RecursionError for deep nesting."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError:
        raise
    except ValueError:
        # An integer past Python's digit limit, or NaN: read again with integers kept as text where too long.
        return json.loads(text, parse_constant=_reject_constant, parse_int=_integer)


JSON_HINT = "The body looks like JSON: send it with Content-Type: application/json."
CSV_HINT = "The body does not look like JSON: send CSV with Content-Type: text/csv."


def _hinted(error: ReadingsError, hint: str) -> ReadingsError:
    return ReadingsError(f"{error.message} {hint}", error.details)


class Schema:
    """The fields of a reading, in order, and the one validator of readings."""

    def __init__(self, fields: Sequence[Field], sample: str = "") -> None:
        self.fields = tuple(fields)
        self.names = tuple(field.name for field in self.fields)
        self.by_name = {field.name: field for field in self.fields}
        self.width = len(self.fields)
        self._lower_names = frozenset(name.lower() for name in self.names)
        # The quick look for a header: a line whose csv values name a field has a name somewhere in its text.
        self._may_name_field = re.compile("|".join(map(re.escape, sorted(self._lower_names)))).search
        self._numeric = tuple(i for i, field in enumerate(self.fields) if not field.categories)
        self.sample = sample  # one reading as a CSV line, for the page, the docs and check commands

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"version": SCHEMA_VERSION, "fields": [field.to_dict() for field in self.fields]}
        if self.sample:
            document["sample"] = self.sample
        return document

    def validate(
        self, rows: Sequence[Sequence[Any]], numbers: Sequence[int], convert: Convert, errors: _Errors
    ) -> Readings:
        """Rows of values (numbered for errors) as readings; raises ReadingsError naming every problem,
        with those already in `errors`."""
        columns = self._checked(*self._by_position(rows, numbers, errors), convert, errors)
        errors.raise_if_any()
        return Readings(columns)

    def _by_position(
        self, rows: Sequence[Sequence[Any]], numbers: Sequence[int], errors: _Errors
    ) -> tuple[list[Sequence[Any]], Sequence[int]]:
        """The rows of the right width as one sequence of values per position, and their numbers; each row of
        another width is named in `errors`."""
        if set(map(len, rows)) - {self.width}:
            kept = []
            for number, values in zip(numbers, rows, strict=True):
                if len(values) == self.width:
                    kept.append((number, values))
                else:
                    errors.add(
                        number, None, f"expected {self.width} values ({','.join(self.names)}), got {len(values)}"
                    )
            numbers, rows = [n for n, _ in kept], [v for _, v in kept]
        return (list(zip(*rows, strict=True)) if rows else [()] * self.width), numbers

    def _checked(
        self, values: Sequence[Sequence[Any]], numbers: Sequence[int], convert: Convert, errors: _Errors
    ) -> list[list[Any]]:
        """Each field's rules on its whole column. A column that breaks a rule is checked value by value, to name
        each bad row in `errors`."""
        converted = self._numbers(values, convert)
        columns: list[list[Any]] = []
        for position, (field, column) in enumerate(zip(self.fields, values, strict=True)):
            try:
                columns.append(field.check_allowed(converted.get(position) or convert(field, column)))
            except ValueError:
                columns.append(self._each(field, column, numbers, convert, errors))
        return columns

    def _numbers(self, values: Sequence[Sequence[Any]], convert: Convert) -> dict[int, list[Any]]:
        """Every numeric column converted by one call, by position, when every value converts; else none, and each
        column is converted on its own. A number's rules do not depend on its field."""
        if len(self._numeric) < 2 or not values[0]:
            return {}
        try:
            flat = convert(self.fields[self._numeric[0]], [value for i in self._numeric for value in values[i]])
        except ValueError:
            return {}
        rows = len(values[0])
        return {i: flat[k * rows : (k + 1) * rows] for k, i in enumerate(self._numeric)}

    @staticmethod
    def _each(
        field: Field, column: Sequence[Any], numbers: Sequence[int], convert: Convert, errors: _Errors
    ) -> list[Any]:
        values = []
        for number, value in zip(numbers, column, strict=True):
            try:
                values += field.check_allowed(convert(field, [value]))
            except ValueError as problem:
                errors.add(number, field.name, f"{_show(value, convert)} {problem}")
        return values

    def parse_csv(self, text: str, max_rows: int, split: bool = True) -> Readings:
        """Readings from headerless CSV lines in field order, or CSV lines under a header naming every field once,
        in any order. `split=False` reads every line with the csv module, as the comma split must agree with it."""
        lines = list(filter(None, text.splitlines()))
        header = self._header(lines[0]) if lines else None
        if header is not None:
            lines.pop(0)
        order = None if header is None else self._header_order(header)
        _check_count(len(lines), max_rows)
        errors = _Errors()
        plain = split and _splits_as_csv(text, lines)
        commas = self.width - 1
        columns: list[list[Any]] = [[] for _ in self.fields]
        # In blocks: a block's strings are still in the processor's cache when its numbers are read.
        for start in range(0, len(lines), _BLOCK):
            block = lines[start : start + _BLOCK]
            numbers: Sequence[int] = range(start + 1, start + len(block) + 1)
            if plain and set(map(str.count, block, repeat(","))) == {commas}:
                # Every line has one value per field: split the block at once and take every width-th value.
                values = ",".join(block).split(",")
                by_position: list[Sequence[Any]] = [values[i :: self.width] for i in range(self.width)]
            else:
                if plain:
                    rows = [line.split(",") for line in block]
                else:
                    rows, numbers = [], []
                    for number, line in enumerate(block, start + 1):
                        try:
                            rows.append(_csv_values(line))
                            numbers.append(number)
                        except ValueError as problem:
                            errors.add(number, None, str(problem))
                by_position, numbers = self._by_position(rows, numbers, errors)
            if order:
                by_position = [by_position[i] for i in order]
            for column, part in zip(
                columns, self._checked(by_position, numbers, Field.from_texts, errors), strict=True
            ):
                column += part
        errors.raise_if_any()
        return Readings(columns)

    def _header(self, line: str) -> list[str] | None:
        """A first line's values if it is a header, one of them naming a field (case aside); else None."""
        if not self._may_name_field(line.lower()):
            return None  # no value names a field, however the csv module would read the line
        try:
            values = _csv_values(line)
        except ValueError:
            return None
        return None if self._lower_names.isdisjoint(value.lower() for value in values) else values

    def _header_order(self, header: list[str]) -> list[int] | None:
        """Where each field's value stands in the lines under this header; None when in field order. Raises
        ReadingsError unless the header names every field once."""
        names = [value.lower() for value in header]
        expected = [name.lower() for name in self.names]
        if names == expected:
            return None
        details = [
            {"row": None, "field": field, "message": "missing from the header"}
            for field, name in zip(self.names, expected, strict=True)
            if name not in names
        ]
        for position, (value, name) in enumerate(zip(header, names, strict=True)):
            if name not in self._lower_names:
                details.append(
                    {
                        "row": None,
                        "field": None,
                        "message": f"header value {position + 1}, {shown(repr(value))}, names no field",
                    }
                )
            elif names.index(name) != position:
                details.append(
                    {"row": None, "field": self.names[expected.index(name)], "message": "named twice in the header"}
                )
        if details:
            raise ReadingsError(
                f"The header line must name each of the {self.width} fields once, in any order: "
                + ",".join(self.names)
                + ".",
                details[:MAX_DETAILS],
            )
        return [names.index(name) for name in expected]

    def parse_json(self, text: str, max_rows: int) -> Readings:
        """Readings from a reading object, a list of them, or a list or frame of them under one of WRAPPERS."""
        try:
            document = load_json(text)
        except ValueError as problem:
            raise ReadingsError(f"The body is not valid JSON: {problem}.") from None
        except RecursionError:
            raise ReadingsError("The JSON body is nested too deeply.") from None
        errors = _Errors()
        items = _json_items(document, errors)
        _check_count(len(items), max_rows)
        rows, numbers = [], []
        for number, item in enumerate(items, 1):
            if isinstance(item, dict):
                values = self._object_values(item, number, errors)
            elif isinstance(item, list):
                values = item
            elif isinstance(item, _Refused):
                values = None
            else:
                errors.add(number, None, f"a reading must be an object or an array of {self.width} values")
                values = None
            if values is not None:
                rows.append(values)
                numbers.append(number)
        return self.validate(rows, numbers, Field.from_json, errors)

    def _object_values(self, item: dict[str, Any], row: int, errors: _Errors) -> list[Any] | None:
        missing = [name for name in self.names if name not in item]
        unknown = sorted(key for key in item if key not in self.names)
        for name in missing:
            errors.add(row, name, "missing")
        for name in unknown:
            errors.add(row, shown(name), "unknown field")
        return None if missing or unknown else [item[name] for name in self.names]

    def parse_body(self, body: bytes, mimetype: str, charset: str | None, max_rows: int) -> Readings:
        """Validated readings from a request body; raises ReadingsError, UnsupportedBody, TooManyReadings."""
        if mimetype not in (*CSV_TYPES, JSON_TYPE):
            sent = mimetype or "no Content-Type"
            raise UnsupportedBody(f"{sent} is not accepted; send text/csv, text/plain or application/json.")
        if charset is not None and charset.lower() not in CHARSETS:
            raise UnsupportedBody(f"charset {charset} is not accepted; send UTF-8.")
        if not body.strip():
            raise ReadingsError("The body is empty; send one or more readings.")
        text = _decode(body)
        looks_like_json = text.lstrip()[:1] in ("{", "[")
        try:
            if mimetype == JSON_TYPE:
                return self.parse_json(text, max_rows)
            return self.parse_csv(text, max_rows)
        except TooManyReadings:
            raise
        except ReadingsError as error:
            if mimetype == JSON_TYPE and not looks_like_json:
                raise _hinted(error, CSV_HINT) from None
            if mimetype != JSON_TYPE and looks_like_json:
                raise _hinted(error, JSON_HINT) from None
            raise

    def parse_values(self, rows: Sequence[Sequence[Any]], max_rows: int) -> Readings:
        """Readings from rows of JSON values in field order, such as another protocol's tensors give them; raises
        ReadingsError as for a JSON body."""
        _check_count(len(rows), max_rows)
        return self.validate(rows, range(1, len(rows) + 1), Field.from_json, _Errors())

    def parse_rows(self, rows: Sequence[Sequence[str]], numbers: Sequence[int]) -> Readings:
        """Rows of CSV values, such as a data file's, numbered for errors; raises ReadingsError."""
        return self.validate(rows, numbers, Field.from_texts, _Errors())


# The JSON bodies that wrap readings: the SageMaker and TF Serving "instances", and MLflow's scoring formats.
WRAPPERS = ("instances", "inputs", "dataframe_records", "dataframe_split")
JSON_SHAPES = (
    'a reading object, a list of readings, or one of {"instances" | "inputs" | "dataframe_records" | '
    '"dataframe_split": ...}'
)


class _Refused:
    """A row of a dataframe_split that cannot become a reading; the error is already noted."""


def _json_items(document: Any, errors: _Errors) -> list[Any]:
    """The readings a JSON body holds, each an object or an array of values in field order; raises
    ReadingsError for a body of no known shape."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise ReadingsError(f"The JSON body must be {JSON_SHAPES}.")
    wrappers = [key for key in WRAPPERS if key in document]
    if not wrappers:
        return [document]
    key, extra = wrappers[0], sorted(set(document) - {wrappers[0]})
    if "params" in extra:
        raise ReadingsError(f"params are not accepted beside {key}: this model takes none.")
    if extra:
        raise ReadingsError(f"Unknown top-level key(s) beside {key}: {', '.join(map(shown, extra))}.")
    value = document[key]
    if key == "dataframe_split":
        return _split_items(value, errors)
    if key == "inputs" and isinstance(value, dict):
        return _columnar_items(value)
    if not isinstance(value, list):
        raise ReadingsError(f"{key} must be a list of readings.")
    return value


def _split_items(frame: Any, errors: _Errors) -> list[Any]:
    """pandas' orient="split": {"columns": [...], "data": [[...], ...]} and an optional "index", which only
    names the rows and is not read (answers follow the order of "data")."""
    if (
        not isinstance(frame, dict)
        or not {"columns", "data"} <= set(frame)
        or set(frame) - {"columns", "data", "index"}
    ):
        raise ReadingsError(
            'dataframe_split must be {"columns": [...], "data": [[...], ...]}, with an optional "index".'
        )
    columns, data = frame["columns"], frame["data"]
    if (
        not isinstance(columns, list)
        or not all(isinstance(c, str) for c in columns)
        or len(set(columns)) != len(columns)
    ):
        raise ReadingsError("dataframe_split.columns must list column names, each once.")
    if not isinstance(data, list):
        raise ReadingsError("dataframe_split.data must be a list of rows.")
    if not isinstance(frame.get("index", []), list):
        raise ReadingsError("dataframe_split.index must be a list.")
    items: list[Any] = []
    for number, row in enumerate(data, 1):
        if isinstance(row, list) and len(row) == len(columns):
            items.append(dict(zip(columns, row, strict=True)))
        else:
            sent = f"{len(row)} values" if isinstance(row, list) else "not a list"
            errors.add(
                number, None, f"a row of dataframe_split.data must hold {len(columns)} values, one per column: {sent}"
            )
            items.append(_Refused())
    return items


def _columnar_items(columns: dict[str, Any]) -> list[Any]:
    """The columnar "inputs": {"field": [value per reading], ...}, every list as long as the others."""
    if not columns or not all(isinstance(values, list) for values in columns.values()):
        raise ReadingsError("inputs as an object must map each field to a list of values, one per reading.")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        shown_lengths = ", ".join(f"{shown(name)}: {length}" for name, length in lengths.items())
        raise ReadingsError(f"inputs' lists must be equally long, one value per reading; found {shown_lengths}.")
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def to_csv(rows: Iterable[Reading]) -> str:
    """Headerless CSV in field order, one line per reading."""
    return "\n".join(",".join(v if isinstance(v, str) else repr(v) for v in row) for row in rows)


TURBINE_SCHEMA_PATH = Path(__file__).resolve().parent / "model" / "turbine-schema.json"
NAME = re.compile(r"[a-z_][a-z0-9_]*")


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
    if not isinstance(nullable, bool):
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
        return Field(name, label, texts["unit"], texts["description"], (), numbers[0], numbers[1], nullable)
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
            schema.parse_csv(sample, 1)
        except ReadingsError as problem:
            raise SchemaError(f"{where}.sample is not a valid reading: {problem}") from None
    return schema


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
