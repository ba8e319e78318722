"""The drift and model-quality report: the tallies of live records compared with the artifact's training data,
held-out scores and metrics, and the alerts that follow."""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from app.core.schemas import SchemaError, schema_from_dict
from app.monitoring.records import iso
from app.monitoring.sources import ReportError, Source, sources
from app.monitoring.statistics import (
    EMPTY_SHARE,
    STD_FLOOR,
    histogram,
    jensen_shannon,
    roc_auc,
    shares_of,
    wasserstein_normed,
)
from app.monitoring.tallies import FEW_VALUES, CategoryTally, Hour, NumberTally, Reader
from app.training.fit import SCORE_BINS

DRIFT_THRESHOLD = 0.1  # evidently's, for both distances
SMALL_REFERENCE = 1000  # at or below this many rows evidently switches to KS and chi-square
METRIC_DROP = 0.05  # a metric this far below its held-out value raises an alert
MIN_LABELLED = 100  # fewer labelled predictions are reported but raise no metric alert
MIN_LIVE = 100  # fewer live readings are compared and reported but raise no drift alert
METHOD = "evidently's defaults for a reference of more than 1,000 rows"
TESTS = {
    "wasserstein_normed": "Wasserstein distance (normed)",
    "jensen_shannon": "Jensen-Shannon distance",
}
METRICS = ("accuracy", "precision", "recall", "roc_auc")
EXPORT_AGAIN = "export it again with this version"


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


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None
