"""The drift and quality report: records read from files and S3, drift found where it is and not where it is not,
metrics as scikit-learn computes them, older artifacts, errors that name the file and line, flat memory."""

from __future__ import annotations

import base64
import datetime
import json
import random
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

from app import create_app
from app.core.schemas import turbine_schema
from app.core.table import Reading
from app.models.artifact import DEFAULT_MODEL_PATH, checksum
from app.models.embedded import load_artifact
from app.monitoring.records import parse_time
from app.monitoring.report import MIN_LIVE, build_report
from app.monitoring.writing import write_report
from app.training import DEFAULT_SEED
from app.training.data import generate_dataset
from tests.conftest import to_csv

SCHEMA = turbine_schema()
START = parse_time("2026-12-04T04:00:00Z").timestamp()
ARTIFACT = load_artifact(DEFAULT_MODEL_PATH)


def readings(rows: int, seed: int) -> tuple[list[Reading], list[int]]:
    """Synthetic readings in field order (numbers as floats) and their breakdown labels, never the training seed's."""
    assert seed != DEFAULT_SEED
    data = generate_dataset(rows, seed)
    found = [tuple(r[f.name] if f.categories else float(r[f.name]) for f in SCHEMA.fields) for r in data]
    return found, [int(r["breakdown"] == "yes") for r in data]


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def capture_line(inference_id: str, rows: Sequence[Reading], answers: Sequence[tuple[float, int]], at: float) -> bytes:
    """A prediction record as the capture code writes it: SageMaker Data Capture's format."""
    output = "\n".join(f"{score!r},{label}" for score, label in answers)
    return orjson.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": to_csv(rows),
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": output,
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceId": inference_id, "inferenceTime": _iso(at)},
            "eventVersion": "0",
        }
    )


def truth_line(inference_id: str, row: int, label: int) -> bytes:
    """A ground-truth record in Model Monitor's format: row 1 is the inference id, row N the id and ":N"."""
    event = inference_id if row == 1 else f"{inference_id}:{row}"
    return orjson.dumps(
        {"groundTruthData": {"data": str(label), "encoding": "CSV"}, "eventMetadata": {"eventId": event}}
    )


@dataclass
class Captured:
    """What was written: each reading's (inference id, row), score and label, in order."""

    keys: list[tuple[str, int]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)


def write_captures(
    path: Path, backend: Any, rows: Sequence[Reading], per_record: int = 1, start: float = START, step: float = 1.0
) -> Captured:
    """Score the readings with the model and write them, `per_record` readings to a record, a record each `step`
    seconds from `start`."""
    predictions = backend.predict(rows)
    captured = Captured(scores=list(predictions.scores), labels=list(predictions.labels))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as out:
        for n, first in enumerate(range(0, len(rows), per_record)):
            ident = uuid.uuid4().hex
            chunk = range(first, min(first + per_record, len(rows)))
            answers = [(captured.scores[i], captured.labels[i]) for i in chunk]
            out.write(capture_line(ident, rows[chunk.start : chunk.stop], answers, start + n * step) + b"\n")
            captured.keys += [(ident, k + 1) for k in range(len(chunk))]
    return captured


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["monitor", *args])


def drifted(rows: list[Reading]) -> list[Reading]:
    """Oil 15 °C hotter in half the rows, and TID001 in 30 % of them instead of 10 %."""
    rng = random.Random(5)
    oil, turbine = SCHEMA.names.index("oil_temperature"), SCHEMA.names.index("turbine_id")
    changed = []
    for i, row in enumerate(rows):
        values = list(row)
        if i % 2:
            values[oil] += 15.0
        if values[turbine] != "TID001" and rng.random() < 2 / 9:
            values[turbine] = "TID001"
        changed.append(tuple(values))
    return changed


def test_known_drift_flags_exactly_the_drifted_fields_and_exits_3(app: Flask, tmp_path: Path) -> None:
    backend = app.extensions["dataplane"].models.default
    rows = drifted(readings(4000, seed=11)[0])
    write_captures(tmp_path / "capture" / "a.jsonl", backend, rows[:2000], per_record=4)
    write_captures(tmp_path / "capture" / "b.jsonl", backend, rows[2000:], per_record=1, start=START + 3600)

    result = run(app, "--capture", f"file://{tmp_path / 'capture'}", "--out", str(tmp_path / "out"))

    assert result.exit_code == 3, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["status"] == "alert"
    assert {name for name, entry in report["fields"].items() if entry["drift"]} == {"oil_temperature", "turbine_id"}
    oil, turbine = report["fields"]["oil_temperature"], report["fields"]["turbine_id"]
    assert (oil["test"], turbine["test"]) == ("wasserstein_normed", "jensen_shannon")
    assert oil["value"] > 1.5 and turbine["value"] > 0.15  # far past 0.1
    assert turbine["live"]["shares"]["TID001"] == pytest.approx(0.3, abs=0.02)
    assert oil["live"]["mean"] == pytest.approx(oil["training"]["mean"] + 7.5, abs=0.5)
    assert all(e["value"] < 0.1 for n, e in report["fields"].items() if n not in ("oil_temperature", "turbine_id"))
    assert report["records"]["predictions"] == 4000 and report["records"]["captures"] == 500 + 2000
    assert [h["predictions"] for h in report["hours"]] == [2000, 2000]
    assert any(alert.startswith("drift: oil_temperature") for alert in report["alerts"])
    assert "alert: drift: turbine_id" in result.output


@pytest.mark.parametrize(("count", "status"), [(MIN_LIVE - 1, 0), (MIN_LIVE, 3)])
def test_drift_raises_an_alert_only_from_a_hundred_live_readings(
    app: Flask, tmp_path: Path, count: int, status: int
) -> None:
    """A few readings are far from any distribution: their distances are shown, and only say drift."""
    rows = drifted(readings(count, seed=13)[0])
    write_captures(tmp_path / "capture" / "a.jsonl", app.extensions["dataplane"].models.default, rows)

    result = run(app, "--capture", f"file://{tmp_path / 'capture'}", "--out", str(tmp_path / "out"))

    assert result.exit_code == status, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["fields"]["oil_temperature"]["drift"] is True  # computed and shown either way
    page = (tmp_path / "out" / "report.html").read_text()
    if status:
        assert report["drift_alerts"] == {"minimum_for_alerts": MIN_LIVE, "alerts_possible": True}
        assert "alert: drift: oil_temperature" in result.output and "note:" not in result.output
        return
    reason = f"{count} live readings, fewer than {MIN_LIVE}: reported, no drift alert"
    assert report["drift_alerts"] == {"minimum_for_alerts": MIN_LIVE, "alerts_possible": False, "reason": reason}
    assert report["alerts"] == [] and report["status"] == "ok"
    assert f"note: {reason}" in result.output and "alert:" not in result.output
    assert f'<div class="summary ok"><b>No alerts.</b></div><p class="reason">{reason}.</p>' in page


def test_with_too_few_labels_the_page_says_metrics_raise_no_alert(app: Flask, tmp_path: Path) -> None:
    """One reading, wrongly labelled: accuracy 0 is shown, and the page does not say no metric fell."""
    rows = readings(1, seed=14)[0]
    captured = write_captures(tmp_path / "c" / "a.jsonl", app.extensions["dataplane"].models.default, rows)
    with (tmp_path / "c" / "truth.jsonl").open("wb") as out:
        out.write(truth_line(*captured.keys[0], 1 - captured.labels[0]) + b"\n")

    result = run(app, "--capture", f"file://{tmp_path / 'c'}", "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["quality"]["metrics"]["accuracy"]["live"] == 0.0
    labels = "1 labelled predictions, fewer than 100: reported, no metric alert"
    assert f"note: {labels}" in result.output
    page = (tmp_path / "out" / "report.html").read_text()
    assert "no metric below its held-out value" not in page and f'<p class="reason">{labels}.</p>' in page


def test_undrifted_data_raises_no_field_alert_in_19_of_20_seeds(app: Flask, tmp_path: Path) -> None:
    backend = app.extensions["dataplane"].models.default
    alerted = []
    for seed in range(1, 21):
        rows, _ = readings(2000, seed)
        write_captures(tmp_path / str(seed) / "a.jsonl", backend, rows, per_record=1 + seed % 3)
        report = build_report([str(tmp_path / str(seed))], ARTIFACT)
        if any(entry["drift"] for entry in report["fields"].values()):
            alerted.append(seed)
    assert len(alerted) <= 1, alerted


def test_ground_truth_joins_by_id_and_row_and_metrics_equal_scikit_learn(app: Flask, tmp_path: Path) -> None:
    rows, truth = readings(1500, seed=13)
    backend = app.extensions["dataplane"].models.default
    captured = write_captures(tmp_path / "capture" / "a.jsonl", backend, rows[:900], per_record=3)
    single = write_captures(tmp_path / "capture" / "b.jsonl", backend, rows[900:], per_record=1, start=START + 7200)
    keys, scores = captured.keys + single.keys, captured.scores + single.scores
    predicted = captured.labels + single.labels
    rng = random.Random(3)
    labelled = sorted(rng.sample(range(1500), 1200))
    repeated = labelled[:50]
    with (tmp_path / "truth.jsonl").open("wb") as out:
        out.writelines(truth_line(*keys[i], 1 - truth[i]) + b"\n" for i in repeated)  # overwritten below
        out.writelines(truth_line(*keys[i], truth[i]) + b"\n" for i in labelled[:600])
        out.writelines(truth_line(uuid.uuid4().hex, 2, 1) + b"\n" for _ in range(7))  # no such prediction
    # The rest of the labels lie beside the captures: both URIs are read for both kinds.
    with (tmp_path / "capture" / "truth.jsonl").open("wb") as out:
        out.writelines(truth_line(*keys[i], truth[i]) + b"\n" for i in labelled[600:])

    result = run(
        app,
        "--capture",
        str(tmp_path / "capture"),
        "--ground-truth",
        f"file://{tmp_path}",
        "--out",
        str(tmp_path / "o"),
    )

    assert result.exit_code in (0, 3), result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    quality = report["quality"]
    assert (quality["labelled"], quality["unmatched_labels"]) == (1200, 7)
    assert report["records"]["ground_truth_repeats"] == 50
    assert report["records"]["ground_truth"] == 50 + 1200 + 7
    y, p, s = [truth[i] for i in labelled], [predicted[i] for i in labelled], [scores[i] for i in labelled]
    expected = {
        "accuracy": accuracy_score(y, p),
        "precision": precision_score(y, p),
        "recall": recall_score(y, p),
        "roc_auc": roc_auc_score(y, s),
    }
    for name, value in expected.items():
        assert quality["metrics"][name]["live"] == pytest.approx(value, abs=1e-12), name
        assert quality["metrics"][name]["held_out"] == ARTIFACT["metrics"][name]
    matrix = quality["confusion_matrix"]
    assert matrix["true_positive"] == sum(1 for a, b in zip(y, p, strict=True) if a and b)
    assert sum(matrix.values()) == 1200
    assert sum(h["labelled"] for h in report["hours"]) == 1200
    alerted = [name for name, entry in quality["metrics"].items() if entry["alert"]]
    assert alerted == [n for n, v in expected.items() if v < ARTIFACT["metrics"][n] - 0.05]
    assert result.exit_code == (3 if report["alerts"] else 0)


def test_the_loop_through_the_api_scoring_feedback_then_report_equals_scikit_learn(tmp_path: Path) -> None:
    """Readings scored over HTTP with capture on, their truth sent to /v1/feedback by id and row, then the report."""
    app = create_app({"CAPTURE_URI": f"file://{tmp_path}", "ACCESS_LOG": False})
    client = app.test_client()
    rows, truth = readings(600, seed=15)
    y, p, s, feedback = [], [], [], []
    for start in range(0, 600, 6):
        answer = client.post("/", data=to_csv(rows[start : start + 6]), content_type="text/csv")
        assert answer.status_code == 200
        ident = answer.headers["X-Inference-Id"]
        for row, prediction in enumerate(answer.get_json()["predictions"], 1):
            if (start + row) % 4:  # three in four get their truth
                feedback.append({"inference_id": ident, "label": truth[start + row - 1], "row": row})
                y.append(truth[start + row - 1])
                p.append(prediction["predicted_label"])
                s.append(prediction["score"])
    for start in range(0, len(feedback), 100):
        sent = client.post("/v1/feedback", json={"feedback": feedback[start : start + 100]})
        assert sent.status_code == 202
    app.extensions["capture"].close()

    result = run(app, "--capture", f"file://{tmp_path}", "--out", str(tmp_path / "out"))

    assert result.exit_code in (0, 3), result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["records"]["predictions"] == 600 and report["quality"]["labelled"] == len(y) == 450
    expected = {
        "accuracy": accuracy_score(y, p),
        "precision": precision_score(y, p),
        "recall": recall_score(y, p),
        "roc_auc": roc_auc_score(y, s),
    }
    assert {name: report["quality"]["metrics"][name]["live"] for name in expected} == pytest.approx(expected)


@pytest.mark.parametrize(("labelled", "alert"), [(150, True), (60, False)])
def test_a_metric_alert_fires_more_than_0_05_below_held_out_with_100_labelled(
    app: Flask, tmp_path: Path, labelled: int, alert: bool
) -> None:
    rows, _ = readings(400, seed=14)
    captured = write_captures(tmp_path / "a.jsonl", app.extensions["dataplane"].models.default, rows)
    with (tmp_path / "a.jsonl").open("ab") as out:
        # Wrong on every third: accuracy near 0.67, far below the held-out 0.89.
        for i in range(labelled):
            out.write(truth_line(*captured.keys[i], captured.labels[i] ^ (i % 3 == 0)) + b"\n")

    report = build_report([str(tmp_path)], ARTIFACT)

    accuracy = report["quality"]["metrics"]["accuracy"]
    assert accuracy["live"] == pytest.approx(1 - len(range(0, labelled, 3)) / labelled)
    assert accuracy["alert"] is alert
    assert report["quality"]["alerts_possible"] is alert
    assert any(a.startswith("metric: accuracy") for a in report["alerts"]) is alert
    if not alert:
        assert "fewer than 100" in report["quality"]["reason"]


def test_undefined_metrics_are_null_with_a_reason(app: Flask, tmp_path: Path) -> None:
    backend = app.extensions["dataplane"].models.default
    rows, _ = readings(600, seed=15)
    negative = [row for row, label in zip(rows, backend.predict(rows).labels, strict=True) if not label]
    captured = write_captures(tmp_path / "a.jsonl", backend, negative)
    with (tmp_path / "a.jsonl").open("ab") as out:
        out.writelines(truth_line(*key, 0) + b"\n" for key in captured.keys)

    metrics = build_report([str(tmp_path)], ARTIFACT)["quality"]["metrics"]

    assert metrics["accuracy"]["live"] == 1.0
    for name, why in [
        ("precision", "no labelled prediction is positive"),
        ("recall", "no labelled reading is"),
        ("roc_auc", "one class"),
    ]:
        assert metrics[name]["live"] is None and metrics[name]["alert"] is False
        assert why in metrics[name]["reason"]


def older(artifact: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The artifact with keys changed (None deletes a nested key given as a path), signed again."""
    edited = json.loads(json.dumps(artifact))
    for path, value in changes.items():
        *parents, last = path.split("__")
        holder = edited
        for part in parents:
            holder = holder[part]
        if value is ...:
            del holder[last]
        else:
            holder[last] = value
    edited["checksum"] = checksum(edited)
    return edited


def test_an_older_artifact_says_what_it_cannot_compute(app: Flask, tmp_path: Path) -> None:
    artifact = older(
        ARTIFACT,
        name="<script>old</script>",
        distribution__oil_temperature__histogram=...,
        distribution__oil_temperature__std=...,
        distribution__wind_speed__std=...,
        metrics__predicted_positive_rate=...,
        metrics__score_counts=...,
    )
    (tmp_path / "old.json").write_text(json.dumps(artifact))
    load_artifact(tmp_path / "old.json")  # still an artifact the service serves
    rows, _ = readings(800, seed=16)
    write_captures(tmp_path / "c" / "a.jsonl", app.extensions["dataplane"].models.default, rows)

    result = run(app, "--capture", str(tmp_path / "c"), "--model", str(tmp_path / "old.json"), "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    fields = report["fields"]
    assert fields["oil_temperature"]["computed"] is False and fields["oil_temperature"]["value"] is None
    assert "no histogram for this field: export it again" in fields["oil_temperature"]["reason"]
    assert "no standard deviation" in fields["wind_speed"]["reason"]
    assert fields["oil_temperature"]["live"]["count"] == 800 and fields["oil_temperature"]["live"]["mean"] > 30
    assert all(e["computed"] for n, e in fields.items() if n not in ("oil_temperature", "wind_speed"))
    score = report["predictions"]["score"]
    assert score["computed"] is False and "no held-out score counts" in score["reason"]
    assert "no held-out predicted positive rate" in report["predictions"]["predicted_positive_rate"]["reason"]
    assert report["quality"] is None
    page = (tmp_path / "report.html").read_text()
    assert "no histogram for this field" in page and "<script>" not in page and "&lt;script&gt;old" in page


def test_an_imported_artifact_without_distribution_or_metrics_is_reported_as_far_as_it_goes(
    app: Flask, tmp_path: Path
) -> None:
    artifact = older(ARTIFACT, distribution=None, metrics=None, training=None)
    rows, truth = readings(300, seed=17)
    captured = write_captures(tmp_path / "a.jsonl", app.extensions["dataplane"].models.default, rows, per_record=3)
    with (tmp_path / "a.jsonl").open("ab") as out:
        out.writelines(truth_line(*key, label) + b"\n" for key, label in zip(captured.keys, truth, strict=True))

    report = build_report([str(tmp_path)], artifact)
    write_report(report, tmp_path / "out")

    assert report["status"] == "ok"
    assert all(not e["computed"] and "no training distribution" in e["reason"] for e in report["fields"].values())
    assert report["fields"]["wind_speed"]["live"]["count"] == 300
    assert report["predictions"]["score"]["computed"] is False
    quality = report["quality"]["metrics"]
    assert quality["accuracy"]["live"] is not None and quality["accuracy"]["held_out"] is None
    assert "nothing to compare with" in quality["accuracy"]["reason"]
    assert "does not say how many rows" in report["method"]["notes"][0]
    assert (tmp_path / "out" / "report.html").read_text().count("<svg") >= len(SCHEMA.names)


def test_a_small_reference_says_evidently_would_use_ks_and_chi_square(app: Flask, tmp_path: Path) -> None:
    rows, _ = readings(200, seed=18)
    write_captures(tmp_path / "a.jsonl", app.extensions["dataplane"].models.default, rows)
    report = build_report([str(tmp_path)], older(ARTIFACT, training__rows=800))
    assert report["method"]["reference_rows"] == 800
    assert "Kolmogorov-Smirnov" in report["method"]["notes"][0] and "chi-square" in report["method"]["notes"][0]


def test_an_artifact_the_service_refuses_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    artifact = dict(ARTIFACT)
    del artifact["distribution"]
    artifact["checksum"] = checksum(artifact)
    (tmp_path / "m.json").write_text(json.dumps(artifact))
    (tmp_path / "c").mkdir()
    result = run(app, "--capture", str(tmp_path / "c"), "--model", str(tmp_path / "m.json"), "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "m.json is invalid: missing distribution" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-12-04T05:00:00Z", "2026-12-04T06:00:00Z"),
        ("2026-12-04T05:00:00.000Z", "2026-12-04T06:00:00"),
        ("2026-12-04T05:00:00", "2026-12-04T07:00:00+01:00"),
    ],
)
def test_since_and_until_filter_by_inference_time(app: Flask, tmp_path: Path, since: str, until: str) -> None:
    rows, _ = readings(5, seed=19)
    for at in ("04:30:00", "05:00:00", "05:59:59.999", "06:00:00", "06:30:00"):
        write_captures(
            tmp_path / "c" / "a.jsonl",
            app.extensions["dataplane"].models.default,
            rows[:1],
            start=parse_time(f"2026-12-04T{at}").timestamp(),
        )

    result = run(app, "--capture", str(tmp_path / "c"), "--since", since, "--until", until, "--out", str(tmp_path))

    assert result.exit_code in (0, 3), result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["records"]["captures"], report["records"]["outside_window"]) == (2, 3)
    assert report["window"] == {
        "since": "2026-12-04T05:00:00.000Z",
        "until": "2026-12-04T06:00:00.000Z",
        "first": "2026-12-04T05:00:00.000Z",
        "last": "2026-12-04T05:59:59.999Z",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "'yesterday' is not an ISO 8601 time"),
        (["--since", "2026-12-04T06:00:00Z", "--until", "2026-12-04T05:00:00Z"], "--since must come before --until"),
    ],
)
def test_bad_times_are_usage_errors(app: Flask, tmp_path: Path, args: list[str], message: str) -> None:
    result = run(app, "--capture", str(tmp_path), "--out", str(tmp_path), *args)
    assert result.exit_code == 2 and message in result.output


GOOD_ROW = SCHEMA.sample.replace(",64,80,46.0,21,55,55,7,34,", ",64.0,80.0,46.0,21.0,55.0,55.0,7.0,34.0,")


def _line(data: str = GOOD_ROW, output: str = "0.9,1", **meta: str) -> bytes:
    record = json.loads(capture_line("a" * 32, [], [], START))
    record["captureData"]["endpointInput"]["data"] = data
    record["captureData"]["endpointOutput"]["data"] = output
    record["eventMetadata"].update(meta)
    return orjson.dumps(record)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "a record is a JSON object"),
        (b'{"eventVersion": "0"}', "neither a capture record (captureData) nor a ground-truth record"),
        (_line(GOOD_ROW.rsplit(",", 1)[0]), "reading 1 holds 10 values; the model's schema has 11"),
        (
            _line(f"{GOOD_ROW}\n{GOOD_ROW.replace('64.0', 'fast')}", "0.9,1\n0.8,1"),
            "reading 2, field wind_speed: 'fast'",
        ),
        (_line(f"{GOOD_ROW}\n{GOOD_ROW}", "0.9,1"), "2 reading(s) but 1 answer(s)"),
        (_line(output="1.5,1"), "the score '1.5' is not from 0 to 1"),
        (_line(inferenceTime="soon"), "ISO 8601 eventMetadata.inferenceTime"),
        (truth_line("b" * 32, 1, 2), "the ground truth '2' is not 0 or 1"),
    ],
)
def test_a_malformed_line_is_an_error_naming_its_file_and_line(
    app: Flask, tmp_path: Path, line: bytes, message: str
) -> None:
    path = tmp_path / "c" / "2026" / "a.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(_line() + b"\n\n" + line + b"\n" + _line() + b"\n")

    result = run(app, "--capture", f"file://{tmp_path / 'c'}", "--out", str(tmp_path / "out"))

    assert result.exit_code == 1, result.output
    assert f"Error: {path}, line 3: " in result.output and message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_sagemaker_base64_records_are_read_and_json_ones_skipped_and_counted(app: Flask, tmp_path: Path) -> None:
    encoded = json.loads(_line())
    for part in ("endpointInput", "endpointOutput"):
        holder = encoded["captureData"][part]
        holder.update(encoding="BASE64", data=base64.b64encode(holder["data"].encode()).decode())
    sent_json = json.loads(_line())
    sent_json["captureData"]["endpointInput"].update(observedContentType="application/json", encoding="JSON")
    (tmp_path / "a.jsonl").write_bytes(b"\n".join([_line(), orjson.dumps(encoded), orjson.dumps(sent_json)]))

    write_report(build_report([str(tmp_path)], ARTIFACT), tmp_path)

    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["records"]["predictions"], report["records"]["skipped"]) == (2, 1)
    assert report["records"]["skipped_why"] == {"JSON encoding": 1}
    assert "1 for JSON encoding" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "no capture records in range under"),
        ("missing", "no such file or directory"),
        ("outside", "(1 outside the window)"),
        ("skipped", "1 skipped (1 for JSON encoding)"),
        ("truth only", "no capture records in range under"),
    ],
)
def test_no_capture_records_is_a_clear_error(app: Flask, tmp_path: Path, setup: str, message: str) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    if setup == "missing":
        folder = tmp_path / "nowhere"
    elif setup == "outside":
        (folder / "a.jsonl").write_bytes(_line(inferenceTime="2020-01-01T00:00:00Z") + b"\n")
    elif setup == "skipped":
        record = json.loads(_line())
        record["captureData"]["endpointOutput"]["encoding"] = "JSON"
        (folder / "a.jsonl").write_bytes(orjson.dumps(record))
    elif setup == "truth only":
        (folder / "a.jsonl").write_bytes(truth_line("c" * 32, 1, 1))

    result = run(app, "--capture", str(folder), "--since", "2026-01-01", "--out", str(tmp_path / "out"))

    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_serving_imports_neither_scipy_nor_the_report() -> None:
    code = (
        "import sys\n"
        "from app import create_app\n"
        "app = create_app()\n"
        "assert 'monitor' in app.cli.commands\n"
        "loaded = {name.split('.')[0] for name in sys.modules} | set(sys.modules)\n"
        "report = ('sources', 'records', 'tallies', 'statistics', 'report', 'page', 'writing')\n"
        "assert not ({'scipy', 'numpy'} | {f'app.monitoring.{m}' for m in report}) & loaded, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
