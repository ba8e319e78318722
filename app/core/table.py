"""Validated readings kept as columns, and their CSV form: the lines capture and the SageMaker endpoint get, and the
reading of one quoted line."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from typing import Any, overload

# A validated reading: its values in field order (str for a category, float for a number, None for a gap).
Reading = tuple[Any, ...]
NEEDS_QUOTES = re.compile(r'[",\r\n]').search
# The csv module ends a record at a "\r" too: a lone one reaches it as a character no UTF-8 text holds, a surrogate.
RETURN, RETURN_STAND_IN = "\r", "\ud800"


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


def csv_lines(columns: Sequence[Sequence[Any]]) -> str:
    """Headerless CSV of the readings in these columns, one line each in field order: a number as its repr, a gap
    empty; the csv module only when a text needs quoting."""
    texts: list[Sequence[str]] = []
    quoted = False
    for column in columns:
        if None in column:
            column = ["" if v is None else v if type(v) is str else repr(v) for v in column]
        elif type(column[0]) is not str:
            texts.append(list(map(repr, column)))  # a number's repr needs no quotes
            continue
        quoted = quoted or bool(NEEDS_QUOTES("".join(column)))
        texts.append(column)
    rows = list(zip(*texts, strict=True))
    if not quoted:
        return "\n".join(map(",".join, rows))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().rstrip("\n")


def csv_values(line: str) -> list[str]:
    """One line's values as the csv module reads them, without surrounding spaces (so a quote after a space
    opens a quoted value); raises ValueError."""
    returns = RETURN in line
    try:
        values = next(csv.reader([line.replace(RETURN, RETURN_STAND_IN)], skipinitialspace=True), [])
    except csv.Error as problem:
        raise ValueError(f"not readable as CSV: {problem}") from None
    if returns:
        values = [value.replace(RETURN_STAND_IN, RETURN) for value in values]
    return [value.strip() for value in values]
