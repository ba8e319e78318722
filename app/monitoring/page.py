"""The report as one self-contained HTML page: inline CSS and SVG charts, no script, nothing loaded from anywhere,
every text escaped."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from html import escape
from typing import Any

from app.monitoring.records import parse_time
from app.monitoring.report import TESTS

TRAINING, LIVE = "#4c78a8", "#f58518"
ALERT, OK = "#c0392b", "#2e7d32"
WIDTH, HEIGHT = 720, 210
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 40
NUMERIC = re.compile(r"[+-]?[0-9]")  # a cell aligned right
MOST_LABELS = 12  # axis labels per chart; the rest are in the bars' tooltips

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0 auto;
       max-width: 1000px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { margin: 1.6rem 0 .3rem; } .muted { color: #666; } .reason { color: #8a5a00; }
.summary { border-radius: 6px; padding: .7rem 1rem; margin: 1rem 0; color: #fff; }
.summary.alert { background: #c0392b; } .summary.ok { background: #2e7d32; } .summary ul { margin: .3rem 0 0; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { padding: .25rem .7rem; text-align: left;
        border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.drift td { background: #fdecea; } .yes { color: #c0392b; font-weight: 600; } .no { color: #2e7d32; }
svg { display: block; max-width: 100%; height: auto; margin: .3rem 0 .8rem; }
svg text { font: 11px system-ui, sans-serif; fill: #444; } svg .title { font-size: 12px; font-weight: 600; }
"""


def _text(value: Any) -> str:
    return escape(str(value), quote=True)


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _distance(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    parts, x = [], WIDTH - RIGHT - 150 * len(entries)
    for colour, label in entries:
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 17}" y="18">{_text(label)}</text>')
        x += 150
    return "".join(parts)


def bar_chart(
    title: str,
    groups: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    axis: Sequence[tuple[float, str]] | None = None,
) -> str:
    """Grouped bars of shares: one group per bin or category, one bar per series (colour, name, shares). `axis`
    places labels at positions counted in groups (0 is the left edge); by default each group's name, centred."""
    n = max(len(groups), 1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([v for _, _, values in series for v in values if v is not None] + [1e-9]) * 1.1
    step = inner_w / n
    bar = min(step * 0.8 / max(len(series), 1), 40.0)
    pad = (step - bar * len(series)) / 2
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_text(title)}">']
    parts.append(f'<text class="title" x="{LEFT}" y="18">{_text(title)}</text>')
    parts.append(_legend([(colour, name) for colour, name, _ in series]))
    for fraction in (0, 0.5, 1):
        y = TOP + inner_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_share(top * fraction)}</text>')
    for g, group in enumerate(groups):
        for s, (colour, name, values) in enumerate(series):
            value = values[g] if g < len(values) else None
            if value is None:
                continue
            h = inner_h * value / top
            x = LEFT + g * step + pad + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + inner_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{_text(group)}: {_text(name)} {_share(value)}</title></rect>"
            )
    if axis is None:
        every = math.ceil(n / MOST_LABELS)
        axis = [(g + 0.5, group) for g, group in enumerate(groups) if g % every == 0]
    for position, label in axis:
        x = LEFT + position * step
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 15}" text-anchor="middle">{_text(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def range_chart(title: str, training: dict[str, Any] | None, live: dict[str, Any]) -> str:
    """Where a number's values lie when there is no histogram: the training range, quartiles and median, and the
    live range and mean, on one scale."""
    points = [live.get(k) for k in ("min", "max", "mean")]
    if training:
        points += [training.get(k) for k in ("min", "q1", "median", "q3", "max", "mean")]
    known = [p for p in points if p is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    span = (high - low) or 1.0
    inner_w = WIDTH - LEFT - RIGHT - 60

    def x(value: float) -> float:
        return LEFT + 60 + inner_w * (value - low) / span

    height = 110
    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{_text(title)}">']
    parts.append(f'<text class="title" x="{LEFT}" y="18">{_text(title)}</text>')
    rows = [("training", TRAINING, training or {}, 48), ("live", LIVE, live, 78)]
    for name, colour, summary, y in rows:
        parts.append(f'<text x="{LEFT}" y="{y + 4}">{name}</text>')
        a, b = summary.get("min"), summary.get("max")
        if a is None or b is None:
            parts.append(f'<text x="{LEFT + 60}" y="{y + 4}" class="muted">not known</text>')
            continue
        parts.append(f'<line x1="{x(a):.1f}" x2="{x(b):.1f}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        q1, q3 = summary.get("q1"), summary.get("q3")
        if q1 is not None and q3 is not None:
            parts.append(
                f'<rect x="{x(q1):.1f}" y="{y - 7}" width="{x(q3) - x(q1):.1f}" height="14" fill="{colour}" '
                f'opacity=".5"><title>{name} quartiles {_number(q1)} to {_number(q3)}</title></rect>'
            )
        if summary.get("mean") is not None:
            parts.append(
                f'<circle cx="{x(summary["mean"]):.1f}" cy="{y}" r="4" fill="{colour}">'
                f"<title>{name} mean {_number(summary['mean'])}</title></circle>"
            )
        parts.append(f'<text x="{x(a):.1f}" y="{y + 20}" text-anchor="middle">{_number(a)}</text>')
        parts.append(f'<text x="{x(b):.1f}" y="{y + 20}" text-anchor="middle">{_number(b)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, hours: Sequence[str], values: Sequence[float | None], held_out: float | None) -> str:
    """One value per hour, from 0 to 1, on a time axis, and the held-out value as a dashed line; an hour without a
    value leaves a gap."""
    height = 170
    inner_w, inner_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    times = [parse_time(hour).timestamp() for hour in hours]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)

    def x(t: float) -> float:
        return LEFT + inner_w * ((t - first) / (last - first) if last > first else 0.5)

    def y(v: float) -> float:
        return TOP + inner_h * (1 - v)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{_text(title)}">']
    parts.append(f'<text class="title" x="{LEFT}" y="18">{_text(title)}</text>')
    legend = [(LIVE, "live")] + ([(TRAINING, f"held out {_number(held_out)}")] if held_out is not None else [])
    parts.append(_legend(legend))
    for fraction in (0, 0.5, 1):
        level = f'y1="{y(fraction):.1f}" y2="{y(fraction):.1f}"'
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" {level} stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(fraction) + 4:.1f}" text-anchor="end">{fraction:g}</text>')
    if held_out is not None:
        level = f'y1="{y(held_out):.1f}" y2="{y(held_out):.1f}"'
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" {level} stroke="{TRAINING}" stroke-dasharray="5 4"/>')
    runs: list[list[str]] = [[]]
    for t, hour, value in zip(times, hours, values, strict=True):
        if value is None:
            runs.append([])
            continue
        runs[-1].append(f"{x(t):.1f},{y(value):.1f}")
        parts.append(
            f'<circle cx="{x(t):.1f}" cy="{y(value):.1f}" r="2.5" fill="{LIVE}">'
            f"<title>{_text(hour)}: {_number(value)}</title></circle>"
        )
    for run in runs:
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{LIVE}" stroke-width="1.5"/>')
    ends = {0: "start", len(hours) - 1: "end"} if len(hours) > 1 else {0: "middle"}
    for k in sorted({*ends, len(hours) // 2}) if hours else []:
        anchor = ends.get(k, "middle")
        shown = hours[k][:16].replace("T", " ")
        parts.append(
            f'<text x="{x(times[k]):.1f}" y="{height - BOTTOM + 15}" text-anchor="{anchor}">{_text(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()) -> str:
    """A table of already escaped cells; a cell that starts with a number is aligned right."""
    out = ["<table><thead><tr>", *(f"<th>{_text(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for k, row in enumerate(rows):
        css = f' class="{classes[k]}"' if k < len(classes) and classes[k] else ""
        cells = "".join(f'<td class="num">{c}</td>' if NUMERIC.match(c) else f"<td>{c}</td>" for c in row)
        out.append(f"<tr{css}>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _verdict(entry: dict[str, Any]) -> str:
    if not entry["computed"]:
        return '<span class="muted">not computed</span>'
    return '<span class="yes">yes</span>' if entry["drift"] else '<span class="no">no</span>'


def _field_chart(name: str, entry: dict[str, Any]) -> str:
    training, live = entry["training"], entry["live"]
    if entry["kind"] == "category":
        groups = list(live["shares"])
        if training:
            groups = [*training["shares"], *(g for g in groups if g not in training["shares"])]
        series = [(LIVE, "live", [live["shares"].get(g, 0.0) for g in groups])]
        if training:
            series.insert(0, (TRAINING, "training", [training["shares"].get(g, 0.0) for g in groups]))
        return bar_chart(f"{name}: share of each category", groups, series)
    if training and "edges" in training:
        edges = training["edges"]
        groups = [f"{_number(a)} to {_number(b)}" for a, b in itertools.pairwise(edges)]
        every = math.ceil(len(edges) / MOST_LABELS)
        axis = [(k, _number(edges[k])) for k in range(0, len(edges), every)]
        series = [(TRAINING, "training", training["shares"]), (LIVE, "live", live["shares"])]
        return bar_chart(f"{name}: share in each training bin", groups, series, axis)
    return range_chart(f"{name}: range, quartiles and mean", training, live)


def _field_section(name: str, entry: dict[str, Any]) -> str:
    training, live = entry["training"] or {}, entry["live"]
    parts = [f'<section id="field-{_text(name)}"><h3>{_text(name)}</h3>']
    value = _distance(entry["value"])
    parts.append(
        f"<p>{_text(TESTS[entry['test']])}: <b>{value}</b> (drift at {_number(entry['threshold'])} or more): "
        f"{_verdict(entry)}.</p>"
    )
    if entry.get("reason"):
        parts.append(f'<p class="reason">Not computed: {_text(entry["reason"])}.</p>')
    if entry.get("note"):
        parts.append(f'<p class="muted">{_text(entry["note"])}.</p>')
    if entry["kind"] == "number":
        rows = [
            [_text(key), _number(training.get(key)), _number(live.get(key))]
            for key in ("count", "mean", "std", "min", "max")
        ]
        if live.get("below") or live.get("above"):
            rows.append(["beyond the training edges", "—", f"{live['below']:,} below, {live['above']:,} above"])
        parts.append(_table(["", "training", "live"], rows))
    else:
        unknown = live.get("unknown")
        said = f", {unknown:,} of them in categories the schema does not name" if unknown else ""
        parts.append(f'<p class="muted">{live["count"]:,} live values{_text(said)}.</p>')
    parts.append(_field_chart(name, entry))
    parts.append("</section>")
    return "".join(parts)


def _summary(report: dict[str, Any]) -> str:
    alerts = report["alerts"]
    said = "".join(f'<p class="reason">{_text(note)}.</p>' for note in report["alerts_withheld"])
    if alerts:
        items = "".join(f"<li>{_text(a)}</li>" for a in alerts)
        return f'<div class="summary alert"><b>{len(alerts)} alert(s)</b><ul>{items}</ul></div>{said}'
    if said:
        return f'<div class="summary ok"><b>No alerts.</b></div>{said}'
    return '<div class="summary ok"><b>No alerts.</b> No drift and no metric below its held-out value.</div>'


def _records(report: dict[str, Any]) -> str:
    r = report["records"]
    rows = [
        ["record files read", _number(r["files"])],
        ["capture records in the window", _number(r["captures"])],
        ["predictions (readings) in them", _number(r["predictions"])],
        ["capture records outside the window", _number(r["outside_window"])],
        ["capture records skipped", _number(r["skipped"])],
        ["ground-truth records", _number(r["ground_truth"])],
        ["ground-truth records repeating an earlier one (the last read wins)", _number(r["ground_truth_repeats"])],
    ]
    if r["labels_from_threshold"]:
        rows.append(["answers with a score only, labelled at the threshold", _number(r["labels_from_threshold"])])
    parts = [_table(["", "count"], rows)]
    if r["skipped"]:
        why = "; ".join(f"{count:,} for {reason}" for reason, count in r["skipped_why"].items())
        parts.append(f'<p class="reason">Skipped records, not this service\'s CSV records: {_text(why)}.</p>')
    sources = ", ".join(r["sources"])
    parts.append(f'<p class="muted">Read from {_text(sources)}.</p>')
    return "".join(parts)


def _method(report: dict[str, Any]) -> str:
    m = report["method"]
    rows = [[_text(k), _text(m[k])] for k in ("numbers", "categories", "scores", "quality", "alerts")]
    reference = f"{m['reference_rows']:,} training rows" if m["reference_rows"] is not None else "an unknown number"
    parts = [f"<p>Tests: {_text(m['name'])}; the reference is {_text(reference)}.</p>", _table(["", "how"], rows)]
    parts += [f'<p class="reason">{_text(note)}</p>' for note in m["notes"]]
    return "".join(parts)


def _fields(report: dict[str, Any]) -> str:
    rows, classes = [], []
    for name, entry in report["fields"].items():
        rows.append(
            [
                f'<a href="#field-{_text(name)}">{_text(name)}</a>',
                _text(entry["kind"]),
                _text(TESTS[entry["test"]]),
                _distance(entry["value"]),
                _number(entry["threshold"]),
                _verdict(entry),
                _text(entry.get("reason", "")),
            ]
        )
        classes.append("drift" if entry["drift"] else "")
    return _table(["field", "kind", "test", "value", "threshold", "drift", "note"], rows, classes)


def _predictions(report: dict[str, Any]) -> str:
    p = report["predictions"]
    score, rate = p["score"], p["predicted_positive_rate"]
    parts = [
        f"<p>{p['count']:,} predictions, mean score {_number(p['mean_score'])}. {_text(TESTS[score['test']])} of the "
        f"scores against the held-out ones: <b>{_distance(score['value'])}</b> (drift at {_number(score['threshold'])} "
        f"or more): {_verdict(score)}.</p>"
    ]
    if score.get("reason"):
        parts.append(f'<p class="reason">Not computed: {_text(score["reason"])}.</p>')
    rows = [["predicted positive rate", _share(rate["held_out"]), _share(rate["live"])]]
    parts.append(_table(["", "held out", "live"], rows))
    if rate.get("reason"):
        parts.append(f'<p class="reason">{_text(rate["reason"])}.</p>')
    edges = score["edges"]
    groups = [f"{a:g} to {b:g}" for a, b in itertools.pairwise(edges)]
    series = [(LIVE, "live", score["live"]["shares"])]
    if score["held_out"]:
        series.insert(0, (TRAINING, "held out", score["held_out"]["shares"]))
    axis = [(k, f"{edge:g}") for k, edge in enumerate(edges)]
    parts.append(bar_chart("Scores: share in each tenth", groups, series, axis))
    return "".join(parts)


def _quality(report: dict[str, Any]) -> str:
    q = report["quality"]
    if q is None:
        return '<p class="reason">No ground-truth records were found, so there are no quality metrics.</p>'
    parts = [
        f"<p>{q['labelled']:,} predictions have ground truth; {q['unmatched_labels']:,} labels matched no prediction "
        "read (outside the window, or not captured). Positive rate of the labels: "
        f"{_share(q['positive_rate'])} (held out: {_share(q['held_out_positive_rate'])}).</p>"
    ]
    if q.get("reason"):
        parts.append(f'<p class="reason">{_text(q["reason"])}.</p>')
    rows, classes = [], []
    for name, entry in q["metrics"].items():
        alert = '<span class="yes">yes</span>' if entry["alert"] else '<span class="no">no</span>'
        rows.append(
            [
                _text(name),
                _distance(entry["live"]),
                _distance(entry["held_out"]),
                "—" if entry["difference"] is None else f"{entry['difference']:+.4f}",
                alert,
                _text(entry.get("reason", "")),
            ]
        )
        classes.append("drift" if entry["alert"] else "")
    parts.append(_table(["metric", "live", "held out", "difference", "alert", "note"], rows, classes))
    m = q["confusion_matrix"]
    cells = [["actual 0", _number(m["true_negative"]), _number(m["false_positive"])]]
    cells.append(["actual 1", _number(m["false_negative"]), _number(m["true_positive"])])
    parts.append(_table(["", "predicted 0", "predicted 1"], cells))
    return "".join(parts)


def _hours(report: dict[str, Any]) -> str:
    hours = report["hours"]
    times = [h["hour"] for h in hours]
    quality, held = report["quality"], report["predictions"]["predicted_positive_rate"]["held_out"]
    accuracy = quality["metrics"]["accuracy"]["held_out"] if quality else None
    rates = [h["predicted_positive_rate"] for h in hours]
    parts = [
        line_chart("Predicted positive rate per hour", times, rates, held),
        line_chart("Mean score per hour", times, [h["mean_score"] for h in hours], None),
        line_chart("Accuracy of the labelled predictions per hour", times, [h["accuracy"] for h in hours], accuracy),
    ]
    rows = [
        [
            _text(h["hour"]),
            _number(h["predictions"]),
            _share(h["predicted_positive_rate"]),
            _number(h["mean_score"]),
            _number(h["labelled"]),
            _share(h["accuracy"]),
        ]
        for h in hours
    ]
    head = ["hour (UTC)", "predictions", "predicted positive", "mean score", "labelled", "accuracy"]
    parts.append(f"<details><summary>Every hour</summary>{_table(head, rows)}</details>")
    return "".join(parts)


def render(report: dict[str, Any]) -> str:
    """The whole page for a report as build_report makes it."""
    model, window = report["model"], report["window"]
    title = f"Drift and quality: {model['name']} {model['version']}"
    span = f"{window['first']} to {window['last']}"
    asked = [
        f"since {window['since']}" if window["since"] else "",
        f"until {window['until']}" if window["until"] else "",
    ]
    asked_text = f" (asked: {', '.join(a for a in asked if a)})" if any(asked) else ""
    r = report["records"]
    counted = f"{r['predictions']:,} predictions in {r['captures']:,} capture records"
    if r["skipped"]:
        counted += f"; {r['skipped']:,} records skipped (see Records)"
    sections = "".join(_field_section(name, entry) for name, entry in report["fields"].items())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{_text(title)}</h1>"
        f'<p class="muted">Predictions from {_text(span)}{_text(asked_text)}. Model checksum '
        f"{_text(model['checksum'])}. Generated {_text(report['generated'])}.</p>"
        f"<p>{_text(counted)}</p>"
        f"{_summary(report)}"
        f"<h2>Fields</h2>{_fields(report)}{sections}"
        f"<h2>Predictions</h2>{_predictions(report)}"
        f"<h2>Quality</h2>{_quality(report)}"
        f"<h2>Over time</h2>{_hours(report)}"
        f"<h2>Records</h2>{_records(report)}"
        f"<h2>Method</h2>{_method(report)}"
        "</body></html>\n"
    )
