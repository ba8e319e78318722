"""Tallies of live records: counts and sums per field, score bin and hour that stay the same size however many
rows are read, and the Reader that streams capture and ground-truth records into them."""

from __future__ import annotations

import bisect
import csv
import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.errors import shown
from app.core.fields import Schema
from app.monitoring.records import LineError, content_text, parse_record, parse_time, parse_truth, split_lines
from app.monitoring.sources import ReportError, Source, numbered
from app.monitoring.statistics import histogram, shares_of
from app.training.fit import SCORE_BINS

FEW_VALUES = 5  # a number with this many distinct values or fewer is compared as categories
OTHER = "(other)"  # live categories the schema does not name, beyond the first few
KNOWN_EXTRA = 20  # unknown categories kept by name before the rest count as OTHER
GROUND_TRUTH = b"groundTruthData"
BLOCK_ROWS = 4096  # readings tallied together: the work per field is done per block, not per record


class NumberTally:
    """A number's live values: count, sum, square sum, range, and counts and sums in the training histogram's bins
    (values beyond its edges in the first or last bin)."""

    def __init__(self, edges: list[float] | None, few: bool) -> None:
        self.edges = edges or []
        self.last = len(self.edges) - 2
        self.counts = [0] * (self.last + 1)
        self.sums = [0.0] * (self.last + 1)
        self.count = 0
        self.total = self.square = 0.0
        self.low, self.high = math.inf, -math.inf
        self.below = self.above = 0
        # Distinct values, kept only while few, for a reference that may be a handful of values.
        self.distinct: set[float] | None = set() if few else None

    def add(self, texts: Sequence[str]) -> None:
        """Tally values given as text; raises ValueError naming no value (the caller finds it)."""
        values = list(map(float, texts))
        total = sum(values)
        if not math.isfinite(total):
            raise ValueError("not finite")
        self.count += len(values)
        self.total += total
        low, high = min(values), max(values)
        self.low, self.high = min(self.low, low), max(self.high, high)
        if self.distinct is not None and len(self.distinct) <= FEW_VALUES:
            self.distinct.update(values)
        if self.last < 0:
            self.square += sum(v * v for v in values)
            return
        edges, last, counts, sums, square = self.edges, self.last, self.counts, self.sums, 0.0
        for value in values:
            k = bisect.bisect_right(edges, value) - 1
            if k < 0:
                k = 0
                self.below += 1
            elif k > last:
                k = last
                if value > edges[-1]:
                    self.above += 1
            counts[k] += 1
            sums[k] += value
            square += value * value
        self.square += square

    def summary(self) -> dict[str, Any]:
        mean = self.total / self.count if self.count else None
        spread = max(self.square / self.count - mean * mean, 0.0) if mean is not None else None
        found: dict[str, Any] = {
            "count": self.count,
            "mean": mean,
            "std": math.sqrt(spread) if spread is not None else None,
            "min": self.low if self.count else None,
            "max": self.high if self.count else None,
        }
        if self.last >= 0:
            found.update(
                counts=list(self.counts),
                shares=shares_of(self.counts),
                means=[s / c if c else None for s, c in zip(self.sums, self.counts, strict=True)],
                below=self.below,
                above=self.above,
            )
        return found


class CategoryTally:
    """A category's live counts; values the schema does not name are kept by name for the first few, then
    counted together, so a stream of unexpected values cannot grow it."""

    def __init__(self, categories: Sequence[str]) -> None:
        self.categories = tuple(categories)
        self.known = frozenset(categories)
        self.counts: Counter[str] = Counter()

    def add(self, values: Sequence[str]) -> None:
        self.counts.update(values)
        if len(self.counts) > len(self.known) + KNOWN_EXTRA:
            extra = sorted(k for k in self.counts if k not in self.known and k != OTHER)
            for key in extra[KNOWN_EXTRA // 2 :]:
                self.counts[OTHER] += self.counts.pop(key)


@dataclass
class Hour:
    predictions: int = 0
    predicted_positive: int = 0
    score_sum: float = 0.0
    labelled: int = 0
    correct: int = 0
    positive: int = 0


class Reader:
    """Reads ground truth first (kept by inference id and row), then streams the capture records, keeping counts;
    only the (score, prediction, label) of labelled predictions are kept one by one, since metrics need them.
    Readings' values wait in a block of BLOCK_ROWS and are tallied field by field: one call per field and block."""

    def __init__(self, schema: Schema, distribution: Any, threshold: float, since: float, until: float) -> None:
        self.schema, self.threshold, self.since, self.until = schema, threshold, since, until
        self.width = schema.width
        self.numbers: list[tuple[int, str, NumberTally]] = []
        self.categories: list[tuple[int, str, CategoryTally]] = []
        for position, field in enumerate(schema.fields):
            if field.categories:
                self.categories.append((position, field.name, CategoryTally(field.categories)))
            else:
                binned = histogram(distribution, field.name)
                edges = binned[0] if binned else None
                few = edges is not None and len(edges) - 1 <= FEW_VALUES
                self.numbers.append((position, field.name, NumberTally(edges, few)))
        self.labels: dict[tuple[str, int], int] = {}
        self.truth_records = self.truth_repeats = 0
        self.files = self.capture_records = self.outside = self.predictions = 0
        self.skipped: Counter[str] = Counter()
        self.thresholded = 0  # answers that held a score only, labelled here at the threshold
        self.score_counts = [0] * SCORE_BINS
        self.score_sum = 0.0
        self.predicted_positive = 0
        self.first, self.last = math.inf, -math.inf
        self.hours: dict[int, Hour] = {}
        self.scores = array("d")
        self.predicted = array("b")
        self.truth = array("b")
        self.block: list[str] = []  # values of the readings not yet tallied, row after row
        self.block_rows = 0
        self.block_records: list[tuple[int, str, int]] = []  # each record's first row there, file and line

    def read(self, found: Sequence[Source]) -> None:
        """Both passes over the sources; raises ReportError naming the file and line of a malformed record."""
        self.files = len(found)
        with_captures = [source for source in found if self._read_truth(source)]
        for source in with_captures:
            for number, line in numbered(source):
                if not line.strip():
                    continue
                try:
                    record = parse_record(line)
                    if "groundTruthData" in record:
                        continue
                    if "captureData" not in record:
                        raise LineError(
                            "neither a capture record (captureData) nor a ground-truth record (groundTruthData)"
                        )
                    self._capture(record, source.name, number)
                except LineError as problem:
                    self._tally()  # a bad value earlier in the block is the first error
                    raise ReportError(f"{source.name}, line {number}: {problem}") from None
        self._tally()

    def _read_truth(self, source: Source) -> bool:
        """Read a source's ground-truth lines; whether it holds other lines, to read again for captures."""
        others = False
        labels = self.labels
        for number, line in numbered(source):
            if GROUND_TRUTH not in line:
                others = others or bool(line.strip())
                continue
            try:
                record = parse_record(line)
                if "groundTruthData" not in record:
                    others = True
                    continue
                key, label = parse_truth(record)
            except LineError as problem:
                raise ReportError(f"{source.name}, line {number}: {problem}") from None
            self.truth_records += 1
            if key in labels:
                self.truth_repeats += 1  # the last one read wins
            labels[key] = label
        return others

    def _capture(self, record: dict[str, Any], name: str, number: int) -> None:
        try:
            data, meta = record["captureData"], record["eventMetadata"]
            given, answered, moment = data["endpointInput"], data["endpointOutput"], meta["inferenceTime"]
            seconds = parse_time(moment).timestamp()
        except (KeyError, TypeError, AttributeError, ValueError):
            raise LineError(
                "a capture record needs captureData.endpointInput, captureData.endpointOutput and an ISO 8601 "
                "eventMetadata.inferenceTime"
            ) from None
        if not self.since <= seconds < self.until:
            self.outside += 1
            return
        readings, why = content_text(given, "endpointInput")
        outputs, why = (None, why) if why else content_text(answered, "endpointOutput")
        if readings is None or outputs is None:
            self.skipped[why or "no data"] += 1
            return
        values, rows = self._values(readings)
        answers = split_lines(outputs)
        if len(answers) != rows:
            raise LineError(f"{rows} reading(s) but {len(answers)} answer(s) in endpointOutput")
        ident = meta.get("inferenceId") or meta.get("eventId")
        hour = self.hours.get(int(seconds // 3600))
        if hour is None:
            hour = self.hours[int(seconds // 3600)] = Hour()
        labels, threshold, score_counts, top = self.labels, self.threshold, self.score_counts, SCORE_BINS - 1
        positives, score_sum, labelled = 0, 0.0, []
        for row, answer in enumerate(answers, 1):
            score_text, comma, label_text = answer.partition(",")
            try:
                score = float(score_text)
            except ValueError:
                score = math.nan
            if not 0 <= score <= 1:
                raise LineError(f"answer {row}: the score {shown(repr(score_text))} is not from 0 to 1")
            if comma:
                label = 1 if label_text == "1" else 0 if label_text == "0" else -1
                if label < 0:
                    raise LineError(f"answer {row}: the label {shown(repr(label_text))} is not 0 or 1")
            else:
                label = int(score >= threshold)
                self.thresholded += 1
            score_counts[min(int(score * SCORE_BINS), top)] += 1
            positives += label
            score_sum += score
            if labels and (ident, row) in labels:
                labelled.append((score, label, (ident, row)))
        # The record is whole: count it.
        for score, label, key in labelled:
            truth = labels.pop(key)
            self.scores.append(score)
            self.predicted.append(label)
            self.truth.append(truth)
            hour.labelled += 1
            hour.correct += label == truth
            hour.positive += truth
        self.capture_records += 1
        self.predictions += rows
        self.first, self.last = min(self.first, seconds), max(self.last, seconds)
        self.predicted_positive += positives
        self.score_sum += score_sum
        hour.predictions += rows
        hour.predicted_positive += positives
        hour.score_sum += score_sum
        self.block_records.append((self.block_rows, name, number))
        self.block += values
        self.block_rows += rows
        if self.block_rows >= BLOCK_ROWS:
            self._tally()

    def _values(self, text: str) -> tuple[list[str], int]:
        """The readings' values, row after row, and how many rows; raises LineError for a row of another width."""
        lines = split_lines(text)
        if '"' in text:  # quoted values: the csv module reads them
            rows = list(csv.reader(lines))
        else:
            flat = ",".join(lines).split(",")
            if len(flat) == len(lines) * self.width and lines:
                return flat, len(lines)
            rows = [line.split(",") for line in lines]
        if not rows:
            raise LineError("endpointInput holds no readings")
        for row, values in enumerate(rows, 1):
            if len(values) != self.width:
                raise LineError(
                    f"reading {row} holds {len(values)} values; the model's schema has {self.width} "
                    f"({','.join(self.schema.names)})"
                )
        return [value for values in rows for value in values], len(rows)

    def _tally(self) -> None:
        """Tally the block's values field by field; raises ReportError naming the record of a bad number."""
        block, width = self.block, self.width
        if not block:
            return
        for position, name, tally in self.numbers:
            column = block[position::width]
            try:
                tally.add(column)
            except ValueError:
                raise self._bad_number(column, name) from None
        for position, _, counts in self.categories:
            counts.add(block[position::width])
        self.block, self.block_rows, self.block_records = [], 0, []

    def _bad_number(self, column: list[str], name: str) -> ReportError:
        starts = [start for start, _, _ in self.block_records]
        for k, text in enumerate(column):
            try:
                good = math.isfinite(float(text))
            except ValueError:
                good = False
            if not good:
                start, source, line = self.block_records[bisect.bisect_right(starts, k) - 1]
                return ReportError(
                    f"{source}, line {line}: reading {k - start + 1}, field {name}: {shown(repr(text))} is not a "
                    "finite number"
                )
        return ReportError(f"field {name}: the values add up past the largest number")
