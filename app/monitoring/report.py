"""The drift and model-quality report: capture and ground-truth records read as a stream, compared with what the
model's artifact says of its training data and held-out scores, and written as JSON and HTML.

scipy (requirements-monitor.txt) is imported only inside the functions that compute the distances and the AUC:
serving never imports this module's dependencies.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import json
import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.monitoring.records import LineError, content_text, iso, parse_record, parse_time, parse_truth, split_lines
from app.monitoring.sources import ReportError, Source, numbered, sources
from app.monitoring.statistics import (
    EMPTY_SHARE,
    STD_FLOOR,
    histogram,
    jensen_shannon,
    roc_auc,
    shares_of,
    wasserstein_normed,
)
from app.schema import Schema, SchemaError, schema_from_dict, shown
from app.training.fit import SCORE_BINS

DRIFT_THRESHOLD = 0.1  # evidently's, for both distances
SMALL_REFERENCE = 1000  # at or below this many rows evidently switches to KS and chi-square
FEW_VALUES = 5  # a number with this many distinct values or fewer is compared as categories
METRIC_DROP = 0.05  # a metric this far below its held-out value raises an alert
MIN_LABELLED = 100  # fewer labelled predictions are reported but raise no metric alert
MIN_LIVE = 100  # fewer live readings are compared and reported but raise no drift alert
OTHER = "(other)"  # live categories the schema does not name, beyond the first few
KNOWN_EXTRA = 20  # unknown categories kept by name before the rest count as OTHER
GROUND_TRUTH = b"groundTruthData"
BLOCK_ROWS = 4096  # readings tallied together: the work per field is done per block, not per record
METHOD = "evidently's defaults for a reference of more than 1,000 rows"
TESTS = {
    "wasserstein_normed": "Wasserstein distance (normed)",
    "jensen_shannon": "Jensen-Shannon distance",
}
METRICS = ("accuracy", "precision", "recall", "roc_auc")
EXPORT_AGAIN = "export it again with this version"


# Tallies: counts and sums that stay the same size however many rows are read.


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


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


# The report.


def build_report(
    uris: Sequence[str],
    artifact: dict[str, Any],
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    *,
    model_path: str = "",
    s3: Any = None,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The report on the records under `uris` (captures and ground truth, wherever they are) against a loaded
    artifact; `since` inclusive, `until` exclusive. Raises ReportError."""
    try:
        schema = schema_from_dict(artifact["schema"], "schema")
    except SchemaError as problem:
        raise ReportError(f"the model's {problem}") from None
    found: dict[str, Source] = {}
    for uri in dict.fromkeys(uris):  # one URI may lie under another: each file is read once
        for source in sources(uri, s3):
            found.setdefault(source.name, source)
    distribution = artifact.get("distribution")
    reader = Reader(
        schema,
        distribution,
        float(artifact["threshold"]),
        since.timestamp() if since else -math.inf,
        until.timestamp() if until else math.inf,
    )
    reader.read(list(found.values()))
    where = " or ".join(uris)
    if not reader.predictions:
        detail = []
        if reader.outside:
            detail.append(f"{reader.outside} outside the window")
        if reader.skipped:
            detail.append(f"{sum(reader.skipped.values())} skipped ({_reasons(reader.skipped)})")
        said = f" ({'; '.join(detail)})" if detail else ""
        raise ReportError(f"no capture records in range under {where}: {len(found)} .jsonl file(s) read{said}")

    metrics = artifact.get("metrics") if isinstance(artifact.get("metrics"), dict) else None
    training = artifact.get("training")
    rows = training.get("rows") if isinstance(training, dict) else None
    reference_rows = rows if isinstance(rows, int) and not isinstance(rows, bool) else None
    fields = {name: _number_field(name, distribution, tally, reference_rows) for _, name, tally in reader.numbers}
    fields.update((name, _category_field(name, distribution, tally)) for _, name, tally in reader.categories)
    fields = {name: fields[name] for name in schema.names}
    predictions = _predictions(reader, metrics)
    quality = _quality(reader, metrics) if reader.truth_records else None
    # A handful of readings is far from any distribution: their distances are shown, not alerted on.
    drift_alerts: dict[str, Any] = {"minimum_for_alerts": MIN_LIVE, "alerts_possible": reader.predictions >= MIN_LIVE}
    alerts = []
    if drift_alerts["alerts_possible"]:
        drifted = [(name, entry) for name, entry in fields.items() if entry["drift"]]
        drifted += [("scores", predictions["score"])] if predictions["score"]["drift"] else []
        alerts = [
            f"drift: {name}: {TESTS[entry['test']]} {entry['value']:.4f} >= {entry['threshold']}"
            for name, entry in drifted
        ]
    else:
        drift_alerts["reason"] = f"{reader.predictions} live readings, fewer than {MIN_LIVE}: reported, no drift alert"
    if quality:
        alerts += [
            f"metric: {name} {entry['live']:.4f} is more than {METRIC_DROP} below its held-out {entry['held_out']:.4f}"
            for name, entry in quality["metrics"].items()
            if entry["alert"]
        ]
    return {
        "generated": iso((now or datetime.datetime.now(datetime.UTC)).timestamp()),
        "model": {
            "name": artifact.get("name"),
            "version": artifact.get("version"),
            "checksum": artifact.get("checksum"),
            "path": model_path,
        },
        "window": {
            "since": iso(since.timestamp()) if since else None,
            "until": iso(until.timestamp()) if until else None,
            "first": iso(reader.first),
            "last": iso(reader.last),
        },
        "records": {
            "sources": list(uris),
            "files": reader.files,
            "captures": reader.capture_records,
            "predictions": reader.predictions,
            "outside_window": reader.outside,
            "skipped": sum(reader.skipped.values()),
            "skipped_why": dict(sorted(reader.skipped.items())),
            "labels_from_threshold": reader.thresholded,
            "ground_truth": reader.truth_records,
            "ground_truth_repeats": reader.truth_repeats,
        },
        "method": _method(reference_rows),
        "fields": fields,
        "drift_alerts": drift_alerts,
        "predictions": predictions,
        "quality": quality,
        "hours": [_hour(key, hour) for key, hour in sorted(reader.hours.items())],
        "alerts": alerts,
        # Why alerts that the figures might call for were not raised: too few readings or labels.
        "alerts_withheld": [part["reason"] for part in (drift_alerts, quality or {}) if "reason" in part],
        "status": "alert" if alerts else "ok",
    }


def _reasons(counts: Counter[str]) -> str:
    return ", ".join(f"{count} for {why}" for why, count in sorted(counts.items()))


def _method(reference_rows: int | None) -> dict[str, Any]:
    notes = []
    if reference_rows is None:
        notes.append(
            "The artifact does not say how many rows it was trained on; evidently's choice for a reference of more "
            "than 1,000 rows is assumed."
        )
    elif reference_rows <= SMALL_REFERENCE:
        notes.append(
            f"The reference has only {reference_rows:,} rows: evidently would use the two-sample Kolmogorov-Smirnov "
            "test for numbers and chi-square (or a Z-test for two values) for categories. The artifact keeps a "
            "summary of its training data, not the rows the KS test needs, so the distances below are used for all "
            "fields, with their usual thresholds."
        )
    return {
        "name": METHOD,
        "reference_rows": reference_rows,
        "numbers": (
            "Wasserstein distance between the training and live values, divided by the training standard deviation "
            f"(at least {STD_FLOOR}); both are binned on the training histogram's edges (about equal-count bins, each "
            "placed at its values' mean; live values beyond the edges join the first or last bin). "
            f"Drift at {DRIFT_THRESHOLD} or more."
        ),
        "categories": (
            "Jensen-Shannon distance (natural log) between the training and live shares, a category one side never "
            f"saw counted as {EMPTY_SHARE}; also for a number with {FEW_VALUES} distinct values or fewer, over its "
            f"bins. Drift at {DRIFT_THRESHOLD} or more."
        ),
        "scores": (
            f"Jensen-Shannon distance between the held-out and live scores in {SCORE_BINS} equal bins of [0, 1]; "
            f"drift at {DRIFT_THRESHOLD} or more."
        ),
        "alerts": (
            f"Drift raises an alert from {MIN_LIVE} live readings, a metric from {MIN_LABELLED} labelled predictions; "
            "below that the figures are reported and raise none."
        ),
        "quality": (
            "Accuracy, precision and recall of the captured labels, and ROC AUC of the captured scores, on the "
            f"predictions that have ground truth; an alert when one is more than {METRIC_DROP} below its held-out "
            f"value, with at least {MIN_LABELLED} labelled predictions."
        ),
        "notes": notes,
    }


def _entry(kind: str, test: str) -> dict[str, Any]:
    return {"kind": kind, "test": test, "value": None, "threshold": DRIFT_THRESHOLD, "drift": False, "computed": False}


def _not_computed(entry: dict[str, Any], reason: str) -> dict[str, Any]:
    entry.update(value=None, drift=False, computed=False, reason=reason)
    return entry


def _computed(entry: dict[str, Any], value: float) -> dict[str, Any]:
    entry.update(value=value, drift=value >= DRIFT_THRESHOLD, computed=True)
    return entry


def _number_field(name: str, distribution: Any, tally: NumberTally, reference_rows: int | None) -> dict[str, Any]:
    entry = _entry("number", "wasserstein_normed")
    live = tally.summary()
    if not isinstance(distribution, dict):
        entry.update(training=None, live=live)
        return _not_computed(entry, f"the artifact has no training distribution: {EXPORT_AGAIN}")
    spec = distribution.get(name)
    spec = spec if isinstance(spec, dict) else {}
    training: dict[str, Any] = {
        key: _number(spec.get(key)) for key in ("mean", "std", "min", "q1", "median", "q3", "max")
    }
    if reference_rows is not None:
        training["count"] = reference_rows
    entry["training"] = training
    entry["live"] = live
    binned = histogram(distribution, name)
    if binned is None:
        return _not_computed(entry, f"the artifact has no histogram for this field: {EXPORT_AGAIN}")
    edges, counts, means = binned
    training.update(edges=edges, counts=counts, shares=shares_of(counts), means=means)
    if tally.distinct is not None and len(set(means) | tally.distinct) <= FEW_VALUES:
        entry.update(test="jensen_shannon", note=f"{FEW_VALUES} distinct values or fewer: compared as categories")
        return _computed(entry, jensen_shannon(counts, tally.counts))
    std = training["std"]
    if std is None:
        return _not_computed(entry, f"the artifact has no standard deviation for this field: {EXPORT_AGAIN}")
    live_means = [s / c if c else 0.0 for s, c in zip(tally.sums, tally.counts, strict=True)]
    return _computed(entry, wasserstein_normed((means, counts), (live_means, tally.counts), std))


def _category_field(name: str, distribution: Any, tally: CategoryTally) -> dict[str, Any]:
    found = tally.counts
    total = sum(found.values())
    counts = {category: found.get(category, 0) for category in tally.categories}
    counts.update((key, count) for key, count in found.items() if key not in tally.known)
    entry = _entry("category", "jensen_shannon")
    spec = distribution.get(name) if isinstance(distribution, dict) else None
    shares = spec.get("shares") if isinstance(spec, dict) else None
    usable = isinstance(shares, dict) and all(_number(v) is not None for v in shares.values())
    entry["training"] = {"shares": shares} if usable else None
    entry["live"] = {
        "count": total,
        "counts": counts,
        "shares": {key: count / total for key, count in counts.items()},
        "unknown": total - sum(found.get(category, 0) for category in tally.categories),
    }
    if not isinstance(shares, dict) or not usable:
        why = "training distribution" if not isinstance(distribution, dict) else "training shares for this field"
        return _not_computed(entry, f"the artifact has no {why}: {EXPORT_AGAIN}")
    keys = [*shares, *(key for key in counts if key not in shares)]
    return _computed(entry, jensen_shannon([shares.get(k, 0.0) for k in keys], [counts.get(k, 0) for k in keys]))


def _predictions(reader: Reader, metrics: dict[str, Any] | None) -> dict[str, Any]:
    live_rate = reader.predicted_positive / reader.predictions
    held_rate = _number(metrics.get("predicted_positive_rate")) if metrics else None
    rate: dict[str, Any] = {"held_out": held_rate, "live": live_rate, "difference": None}
    score = _entry("score", "jensen_shannon")
    score.update(
        edges=[k / SCORE_BINS for k in range(SCORE_BINS + 1)],
        held_out=None,
        live={"counts": list(reader.score_counts), "shares": shares_of(reader.score_counts)},
    )
    if metrics is None:
        rate["reason"] = f"the artifact has no held-out metrics: {EXPORT_AGAIN}"
        _not_computed(score, rate["reason"])
    else:
        if held_rate is None:
            rate["reason"] = f"the artifact has no held-out predicted positive rate: {EXPORT_AGAIN}"
        else:
            rate["difference"] = live_rate - held_rate
        counts = metrics.get("score_counts")
        if isinstance(counts, list) and len(counts) == SCORE_BINS and sum(counts) > 0:
            score["held_out"] = {"rows": sum(counts), "counts": counts, "shares": shares_of(counts)}
            _computed(score, jensen_shannon(counts, reader.score_counts))
        else:
            _not_computed(score, f"the artifact has no held-out score counts: {EXPORT_AGAIN}")
    return {
        "count": reader.predictions,
        "mean_score": reader.score_sum / reader.predictions,
        "predicted_positive_rate": rate,
        "score": score,
    }


def _quality(reader: Reader, metrics: dict[str, Any] | None) -> dict[str, Any]:
    scores, predicted, truth = reader.scores, reader.predicted, reader.truth
    labelled = len(truth)
    tp = sum(1 for p, t in zip(predicted, truth, strict=True) if p and t)
    positives, predicted_positives = sum(truth), sum(predicted)
    correct = sum(1 for p, t in zip(predicted, truth, strict=True) if p == t)
    live: dict[str, tuple[float | None, str | None]] = {}
    none = "no prediction has ground truth"
    live["accuracy"] = (correct / labelled, None) if labelled else (None, none)
    if not labelled:
        live.update(precision=(None, none), recall=(None, none), roc_auc=(None, none))
    else:
        live["precision"] = (
            (tp / predicted_positives, None)
            if predicted_positives
            else (None, "no labelled prediction is positive: precision is undefined")
        )
        live["recall"] = (
            (tp / positives, None) if positives else (None, "no labelled reading is positive: recall is undefined")
        )
        live["roc_auc"] = (
            (roc_auc(scores, truth), None)
            if 0 < positives < labelled
            else (None, "the labels hold one class only: ROC AUC is undefined")
        )
    enough = labelled >= MIN_LABELLED
    found: dict[str, Any] = {}
    for name in METRICS:
        value, reason = live[name]
        held = _number(metrics.get(name)) if metrics else None
        entry: dict[str, Any] = {"live": value, "held_out": held, "difference": None, "alert": False}
        if value is not None and held is not None:
            entry["difference"] = value - held
            entry["alert"] = enough and value < held - METRIC_DROP
        if reason is None and held is None:
            reason = f"the artifact has no held-out {name}: nothing to compare with"
        if reason:
            entry["reason"] = reason
        found[name] = entry
    result: dict[str, Any] = {
        "labelled": labelled,
        "unmatched_labels": len(reader.labels),
        "positive_rate": positives / labelled if labelled else None,
        "held_out_positive_rate": _number(metrics.get("positive_rate")) if metrics else None,
        "confusion_matrix": {
            "true_negative": labelled - positives - predicted_positives + tp,
            "false_positive": predicted_positives - tp,
            "false_negative": positives - tp,
            "true_positive": tp,
        },
        "minimum_for_alerts": MIN_LABELLED,
        "alerts_possible": enough,
        "metrics": found,
    }
    if not enough:
        result["reason"] = f"{labelled} labelled predictions, fewer than {MIN_LABELLED}: reported, no metric alert"
    return result


def _hour(key: int, hour: Hour) -> dict[str, Any]:
    return {
        "hour": iso(key * 3600.0),
        "predictions": hour.predictions,
        "predicted_positive_rate": hour.predicted_positive / hour.predictions,
        "mean_score": hour.score_sum / hour.predictions,
        "labelled": hour.labelled,
        "positive_rate": hour.positive / hour.labelled if hour.labelled else None,
        "accuracy": hour.correct / hour.labelled if hour.labelled else None,
    }


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """report.json and report.html in `out` (made when missing); raises OSError."""
    from app.monitoring.report_html import render

    out.mkdir(parents=True, exist_ok=True)
    as_json, as_html = out / "report.json", out / "report.html"
    as_json.write_text(json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False) + "\n", encoding="utf-8")
    as_html.write_text(render(report), encoding="utf-8")
    return as_json, as_html
