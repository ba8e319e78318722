"""Tallies of live records: numbers binned on the training edges with what falls beyond them, categories bounded
however many unknown values arrive, ground truth joined by inference id and row wherever it lies, and memory that
stays flat however many rows are read."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import pytest

from app.monitoring.report import build_report
from app.monitoring.sources import Source
from app.monitoring.tallies import FEW_VALUES, KNOWN_EXTRA, OTHER, CategoryTally, NumberTally, Reader
from tests.test_monitoring_report import ARTIFACT, GOOD_ROW, SCHEMA, _line, truth_line


def test_numbers_fall_in_the_training_bins_and_beyond_the_edges_in_the_first_or_last() -> None:
    tally = NumberTally([0.0, 1.0, 2.0], few=False)
    tally.add(["-1", "0.5", "1.5", "3", "2"])
    found = tally.summary()
    assert (found["counts"], found["below"], found["above"]) == ([2, 3], 1, 1)  # 2.0, the last edge, is inside
    assert found["means"] == [-0.25, pytest.approx(6.5 / 3)]
    assert (found["count"], found["mean"], found["min"], found["max"]) == (5, 1.2, -1.0, 3.0)
    assert found["std"] == pytest.approx(math.sqrt(sum((v - 1.2) ** 2 for v in (-1, 0.5, 1.5, 3, 2)) / 5))
    assert found["shares"] == [0.4, 0.6] and tally.distinct is None


def test_without_a_histogram_a_number_keeps_its_moments_only() -> None:
    tally = NumberTally(None, few=False)
    tally.add(["1", "3"])
    assert tally.summary() == {"count": 2, "mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0}
    assert NumberTally(None, few=False).summary() == {"count": 0, "mean": None, "std": None, "min": None, "max": None}


@pytest.mark.parametrize("values", [["1", "fast"], ["nan"], ["inf", "1"], ["1e308", "1e308"]])
def test_a_value_that_is_no_finite_number_or_sums_past_one_is_a_value_error(values: list[str]) -> None:
    with pytest.raises(ValueError):
        NumberTally([0.0, 1.0], few=False).add(values)


def test_distinct_values_are_kept_only_while_they_are_few() -> None:
    tally = NumberTally([0.0, 10.0], few=True)
    tally.add([str(v) for v in range(FEW_VALUES)])
    assert tally.distinct == set(map(float, range(FEW_VALUES)))
    tally.add([str(v) for v in range(FEW_VALUES, 100)])  # still few when this block came: it is kept whole
    tally.add([str(v) for v in range(100, 200)])
    assert tally.distinct is not None and len(tally.distinct) == 100  # past few, no more are kept


def test_unknown_categories_beyond_the_first_few_are_counted_together() -> None:
    tally = CategoryTally(["a", "b"])
    tally.add(["a", *(f"u{k:03d}" for k in range(30))])
    assert sum(tally.counts.values()) == 31
    assert tally.counts[OTHER] == 30 - KNOWN_EXTRA // 2
    assert sorted(k for k in tally.counts if k.startswith("u")) == [f"u{k:03d}" for k in range(KNOWN_EXTRA // 2)]
    for start in range(0, 1000, 50):
        tally.add([f"v{k:03d}" for k in range(start, start + 50)])
    assert len(tally.counts) <= 2 + KNOWN_EXTRA + 1 and sum(tally.counts.values()) == 1031


def lines_of(name: str, *lines: bytes) -> Source:
    return Source(name, lambda: iter(lines), ())


def reader() -> Reader:
    return Reader(SCHEMA, ARTIFACT["distribution"], 0.5, -math.inf, math.inf)


def test_ground_truth_is_joined_by_id_and_row_wherever_it_lies_and_the_last_label_wins() -> None:
    two_rows = _line(f"{GOOD_ROW}\n{GOOD_ROW}", "0.9,1\n0.2,0", inferenceId="x")
    truth = [truth_line("x", 2, 0), truth_line("x", 2, 1), truth_line("y", 1, 1)]
    read = reader()
    read.read([lines_of("a", two_rows), lines_of("b", *truth)])
    assert (read.files, read.capture_records, read.predictions) == (2, 1, 2)
    assert (read.truth_records, read.truth_repeats) == (3, 1)
    assert (list(read.scores), list(read.predicted), list(read.truth)) == ([0.2], [0], [1])
    assert read.labels == {("y", 1): 1}  # matched no prediction


def test_an_answer_with_a_score_only_is_labelled_at_the_threshold() -> None:
    read = reader()
    read.read([lines_of("a", _line(f"{GOOD_ROW}\n{GOOD_ROW}\n{GOOD_ROW}", "0.4\n0.5\n0.7,0"))])
    assert (read.thresholded, read.predicted_positive, read.predictions) == (2, 1, 3)


def write_many(path: Path, count: int) -> None:
    """`count` single-reading records from a small pool, written quickly."""
    pool = [_line(GOOD_ROW.replace("46.0", f"{40 + k / 10:.1f}"), f"0.{k:02d}1,0") for k in range(100)]
    at = [
        pool[k].replace(b'"2026-12-04T04:00:00.000Z"', f'"2026-12-04T{k % 24:02d}:00:00.000Z"'.encode())
        for k in range(100)
    ]
    with path.open("wb") as out:
        for start in range(0, count, 100):
            out.write(b"\n".join(at[: min(100, count - start)]) + b"\n")


def test_memory_stays_flat_however_many_rows_are_read(tmp_path: Path) -> None:
    peaks = []
    for count in (10_000, 100_000):
        folder = tmp_path / str(count)
        folder.mkdir()
        write_many(folder / "a.jsonl", count)
        tracemalloc.start()
        try:
            report = build_report([str(folder)], ARTIFACT)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert report["records"]["predictions"] == count
    assert peaks[1] < 2 * peaks[0], peaks
