"""Readings kept as columns that read as rows, and their CSV lines."""

from __future__ import annotations

import pytest

from app.core.table import Readings
from tests.conftest import HEALTHY, SAMPLE, to_csv
from tests.readings import SAMPLE_ROW, csv


def test_readings_are_columns_that_read_as_rows() -> None:
    rows = [SAMPLE_ROW, (*SAMPLE_ROW[:-1], "SW")]
    readings = Readings([list(column) for column in zip(*rows, strict=True)])
    assert readings.columns[0] == ["TID008", "TID008"] and readings.columns[10] == ["NE", "SW"]
    assert len(readings) == 2 and list(readings) == rows
    assert readings[1] == rows[1] and readings[-1] == rows[1]
    assert list(readings[1:]) == rows[1:]
    assert rows[1] in readings and readings.index(rows[1]) == 1
    assert list(Readings([list(column) for column in zip(*readings, strict=True)])) == rows
    with pytest.raises(IndexError):
        readings[2]


def test_to_csv_round_trips() -> None:
    rows = csv(f"{SAMPLE}\n{HEALTHY}")
    assert csv(to_csv(rows)) == rows
    assert to_csv(rows).splitlines()[0] == "TID008,VAWT,64.0,80.0,46.0,21.0,55.0,55.0,7.0,34.0,NE"
