"""Reading a CSV training file with a header, and inferring the fields' schema from its values."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from app.core.errors import ReadingsError
from app.core.fields import NAME, Field, Schema
from app.core.table import Reading
from app.core.validation import validate_rows

# Observed ranges are widened by this share of their span on each side (or by 1 for a constant column), so
# readings just beyond what training saw are still scored.
RANGE_MARGIN = 0.1
# Each class needs this many rows, so that both the training and the held-out part hold some of it.
MIN_CLASS_ROWS = 5
LABEL_PAIRS = (("yes", "no"), ("true", "false"), ("1", "0"))


def field_name(header: str) -> str:
    """A header as a field name valid in JSON and URLs: `Air temperature [K]` -> `air_temperature_k`."""
    name = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")
    return f"f_{name}" if name[:1].isdigit() else name


class Dataset(NamedTuple):
    """Training data read from a CSV file: the features' headers, their text values per row, 0/1 labels,
    and the file line each row came from (blank lines are skipped, so errors name the real line). Read for a
    task other than two classes, it has the labels as written instead (`values`), and no 0/1 labels."""

    headers: list[str]
    rows: list[list[str]]
    labels: list[int]
    positive: str
    negative: str
    lines: list[int]
    values: tuple[str, ...] = ()


def _label_values(values: Sequence[str], lines: Sequence[int], column: str, positive: str | None) -> tuple[str, str]:
    """The positive and the negative label as written; raises ReadingsError naming the line of a bad one."""
    seen: dict[str, int] = {}
    for value, line in zip(values, lines, strict=True):
        if not value:
            raise ReadingsError(f"line {line}, column {column}: the label is empty")
        seen.setdefault(value.lower(), line)
        if len(seen) > 2:
            raise ReadingsError(f"line {line}, column {column}: a third label value {value!r}; two classes only")
    if positive is not None:
        if positive.lower() not in seen:
            raise ReadingsError(f"column {column}: --positive {positive!r} is not among its values")
        if len(seen) < 2:
            raise ReadingsError(f"column {column}: only one label value; two classes are needed")
        return positive.lower(), next(v for v in seen if v != positive.lower())
    for pair in LABEL_PAIRS:
        if set(seen) <= set(pair) and len(seen) == 2:
            return pair
    raise ReadingsError(
        f"column {column}: labels {', '.join(sorted(seen))} are not yes/no, true/false or 1/0; name the positive "
        "one with --positive"
    )


def read_dataset(
    path: Path, label: str, features: Sequence[str] | None, positive: str | None, two_classes: bool = True
) -> Dataset:
    """The features and labels of a CSV file with a header; raises ReadingsError naming the line and the
    column of anything it cannot use. Nothing is dropped: a bad row stops training. Without `two_classes`, the
    labels are kept as written, for the caller's task to read."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        records = list(csv.reader(f))
    if not records:
        raise ReadingsError(f"{path} is empty")
    header = [name.strip() for name in records[0]]
    for position, name in enumerate(header, 1):
        if not name:
            raise ReadingsError(f"line 1: column {position} has an empty header")
        if header.index(name) != position - 1:
            raise ReadingsError(f"line 1: column {name!r} appears more than once")
    if label not in header:
        raise ReadingsError(f"line 1: no label column {label!r}; the header has {', '.join(header)}")
    chosen = list(features) if features else [name for name in header if name != label]
    for name in chosen:
        if name not in header:
            raise ReadingsError(f"--features: {name!r} is not a column; the header has {', '.join(header)}")
        if name == label:
            raise ReadingsError(f"--features: {name!r} is the label column")
    rows, labels, lines = [], [], []
    for line, record in enumerate(records[1:], 2):
        if not record:
            continue  # a blank line holds no row
        if len(record) != len(header):
            raise ReadingsError(f"line {line}: {len(record)} values for the {len(header)} columns of the header")
        values = dict(zip(header, (value.strip() for value in record), strict=True))
        rows.append([values[name] for name in chosen])
        labels.append(values[label])
        lines.append(line)
    if not rows:
        raise ReadingsError(f"{path} holds no rows under its header")
    if not two_classes:
        return Dataset(chosen, rows, [], "", "", lines, tuple(labels))
    positive_value, negative_value = _label_values(labels, lines, label, positive)
    classes = [int(value.lower() == positive_value) for value in labels]
    counts = {"positive": sum(classes), "negative": len(classes) - sum(classes)}
    for (name, count), value in zip(counts.items(), (positive_value, negative_value), strict=True):
        if count < MIN_CLASS_ROWS:
            raise ReadingsError(
                f"column {label}: {count} row(s) of the {name} class {value!r}; at least {MIN_CLASS_ROWS} are "
                "needed to train and hold some out"
            )
    return Dataset(chosen, rows, classes, positive_value, negative_value, lines)


_ANY_NUMBER = Field("number", "number", "", "", minimum=-math.inf, maximum=math.inf)


def _is_number(text: str) -> bool:
    try:
        _ANY_NUMBER.from_texts([text])
    except ValueError:
        return False
    return True


def infer_schema(data: Dataset, given: Schema | None) -> Schema:
    """Each feature's field: from `given` where it names it, else a number when every value is a plain
    decimal (range: the observed one widened by RANGE_MARGIN) and a category of the values seen otherwise.
    Raises ReadingsError for a column of numbers with a stray word in it, naming its line."""
    declared = {field.name: field for field in given.fields} if given else {}
    fields = []
    for position, header in enumerate(data.headers):
        name = field_name(header)
        if not NAME.fullmatch(name):
            raise ReadingsError(f"line 1, column {header!r}: no field name can be made from this header")
        column = [row[position] for row in data.rows]
        for line, value in zip(data.lines, column, strict=True):
            if not value:
                raise ReadingsError(f"line {line}, column {header}: empty value")
        if name in declared:
            fields.append(declared[name])
            continue
        numbers = [value for value in column if _is_number(value)]
        unit = match.group(1) if (match := re.search(r"\[([^\]]+)\]\s*$", header)) else ""
        if len(numbers) == len(column):
            values = list(map(float, numbers))
            low, high = min(values), max(values)
            margin = (high - low) * RANGE_MARGIN or 1.0
            fields.append(Field(name, header, unit, "", minimum=low - margin, maximum=high + margin))
        elif len(numbers) > len(column) / 2:
            line, word = next((n, v) for n, v in zip(data.lines, column, strict=True) if not _is_number(v))
            raise ReadingsError(
                f"line {line}, column {header}: {word!r} is not a number, while {len(numbers)} of the column's "
                f"{len(column)} values are; fix it, or declare the column a category with --schema"
            )
        else:
            fields.append(Field(name, header, unit, "", tuple(sorted(set(column)))))
    names = [field.name for field in fields]
    for name in names:
        if names.count(name) > 1:
            raise ReadingsError(f"two columns become the field name {name!r}; rename one or leave one out")
    return Schema(fields, given.sample if given and [f.name for f in given.fields] == names else "")


def readings(data: Dataset, schema: Schema) -> list[Reading]:
    """The rows validated against the schema; raises ReadingsError naming the line and the field."""
    try:
        return list(validate_rows(schema, data.rows, data.lines))
    except ReadingsError as problem:
        first = problem.details[0]
        raise ReadingsError(f"line {first['row']}, field {first['field']}: {first['message']}") from None
