"""Capture: every scored request as a Data Capture record and every ground truth as Model Monitor's, written off
the request path; a sink that fails never fails a request, and what is lost is counted."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from flask import Flask
from moto import mock_aws

from app import create_app
from app.config import ConfigError
from app.monitoring.capture import Capture, FileSink, GroundTruth, Scored, capture_record, event_id
from tests.conftest import HEALTHY, SAMPLE, FailingBackend
from tests.loopback import free_port, wait_for_port

MODEL_KEY = "turbine-breakdown-logistic/1.0.0"
READING = {
    "turbine_id": "TID008",
    "turbine_type": "VAWT",
    "wind_speed": 64,
    "rpm_blade": 80,
    "oil_temperature": 46.0,
    "oil_level": 21,
    "temperature": 55,
    "humidity": 55,
    "vibrations_frequency": 7,
    "pressure": 34,
    "wind_direction": "NE",
}


def records(root: Path, kind: str = "capture") -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((root / kind).rglob("*.jsonl"))
        for line in path.read_text().split("\n")
        if line
    ]


def captured_app(root: Path, **settings: Any) -> Flask:
    return create_app({"CAPTURE_URI": f"file://{root}", "ACCESS_LOG": False, **settings})


def close(app: Flask) -> None:
    app.extensions["capture"].close()


def test_a_scored_request_becomes_one_data_capture_record(tmp_path: Path) -> None:
    app = captured_app(tmp_path)
    answer = app.test_client().post("/", data=f"{SAMPLE}\n{HEALTHY}", content_type="text/csv")
    close(app)
    (record,) = records(tmp_path)
    scores = answer.get_json()["predictions"]
    assert record["eventVersion"] == "0"
    assert record["eventMetadata"]["inferenceId"] == answer.headers["X-Inference-Id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", record["eventMetadata"]["eventId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventMetadata"]["inferenceTime"])
    given, said = record["captureData"]["endpointInput"], record["captureData"]["endpointOutput"]
    assert {k: v for k, v in given.items() if k != "data"} == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "encoding": "CSV",
    }
    assert given["data"] == (
        "TID008,VAWT,64.0,80.0,46.0,21.0,55.0,55.0,7.0,34.0,NE\nTID002,HAWT,20.0,25.0,38.0,40.0,20.0,50.0,2.0,40.0,SW"
    )
    assert said["mode"] == "OUTPUT" and said["encoding"] == "CSV"
    assert said["data"] == "\n".join(f"{p['score']!r},{p['predicted_label']}" for p in scores)
    hour = record["eventMetadata"]["inferenceTime"][:13].replace("-", "/").replace("T", "/")
    assert [p.relative_to(tmp_path).parent.as_posix() for p in tmp_path.rglob("*.jsonl")] == [
        f"capture/{MODEL_KEY}/{hour}"
    ]


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/", {"data": SAMPLE, "content_type": "text/csv"}, {}),
        ("/", {"json": READING}, {}),
        ("/v1/predictions?explain=true", {"json": {"instances": [READING]}}, {}),
        ("/invocations", {"data": SAMPLE, "content_type": "text/csv"}, {"Accept": "text/csv"}),
        (
            "/v2/models/turbine-breakdown-logistic/infer",
            {
                "json": {
                    "inputs": [
                        {"name": k, "shape": [1], "datatype": "BYTES" if type(v) is str else "FP64", "data": [v]}
                        for k, v in READING.items()
                    ]
                }
            },
            {},
        ),
    ],
)
def test_every_scoring_route_captures_the_readings_as_validated(
    tmp_path: Path, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    app = captured_app(tmp_path)
    answer = app.test_client().post(path, headers=headers, **body)
    close(app)
    assert answer.status_code == 200, answer.data
    (record,) = records(tmp_path)
    assert record["eventMetadata"]["inferenceId"] == answer.headers["X-Inference-Id"]
    assert record["captureData"]["endpointInput"]["data"] == "TID008,VAWT,64.0,80.0,46.0,21.0,55.0,55.0,7.0,34.0,NE"
    assert record["captureData"]["endpointOutput"]["data"] == "0.9877870058627136,1"


def test_refused_requests_are_not_captured_and_the_classic_body_is_unchanged(tmp_path: Path) -> None:
    app = captured_app(tmp_path)
    client = app.test_client()
    refused = client.post("/", data=SAMPLE.replace("VAWT", "XAWT"), content_type="text/csv")
    answered = client.post("/", data=SAMPLE, content_type="text/csv")
    close(app)
    assert refused.status_code == 400 and "X-Inference-Id" not in refused.headers
    assert answered.data == b'{"predictions":[{"score":0.9877870058627136,"predicted_label":1}]}'
    assert [r["eventMetadata"]["inferenceId"] for r in records(tmp_path)] == [answered.headers["X-Inference-Id"]]


def test_without_capture_answers_still_carry_an_inference_id(client: Any) -> None:
    ids = {client.post("/", data=SAMPLE, content_type="text/csv").headers["X-Inference-Id"] for _ in range(3)}
    assert len(ids) == 3 and all(re.fullmatch("[0-9a-f]{48}", i) for i in ids)


def test_capture_sample_keeps_that_share_of_requests(tmp_path: Path) -> None:
    none, every = captured_app(tmp_path / "none", CAPTURE_SAMPLE=0), captured_app(tmp_path / "all")
    for app in (none, every):
        for _ in range(20):
            assert app.test_client().post("/", data=SAMPLE, content_type="text/csv").status_code == 200
        close(app)
    assert records(tmp_path / "none") == [] and len(records(tmp_path / "all")) == 20
    half = Capture(FailingSink(0), ("m", "1"), sample=50)
    assert 350 < sum(half.wanted() for _ in range(1000)) < 650


def test_the_log_sink_writes_one_line_per_record_as_the_request_ends(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app({"CAPTURE_URI": "log:", "ACCESS_LOG": False})
    answer = app.test_client().post("/", data=SAMPLE, content_type="text/csv")
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["eventMetadata"]["inferenceId"] == answer.headers["X-Inference-Id"]


class FailingSink:
    """Refuses its first `failures` writes, then keeps what it is given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.kept: list[tuple[str, list[bytes]]] = []

    def write(self, key: str, lines: list[bytes]) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.kept.append((key, lines))


def scored(number: int) -> Scored:
    return Scored(f"{number:032x}", 1_796_000_000.0, [["TID001"], [1.5]], [0.25], [0])


def test_a_failed_write_is_retried_with_the_same_records_and_counted() -> None:
    sink, counted = FailingSink(1), []
    capture = Capture(sink, ("m", "1"), counted=lambda outcome, count: counted.append((outcome, count)))
    capture.add([scored(1), scored(2)])
    deadline = time.monotonic() + 10
    while not capture.counts["written"] and time.monotonic() < deadline:  # the thread writes, fails, retries
        time.sleep(0.05)
    capture.close()
    written = [json.loads(line)["eventMetadata"]["inferenceId"] for _, lines in sink.kept for line in lines]
    assert written == [f"{1:032x}", f"{2:032x}"]
    assert counted == [("failed", 2), ("written", 2)]
    assert capture.counts == {"written": 2, "failed": 2, "dropped": 0}


def test_a_full_buffer_drops_new_records_and_counts_them() -> None:
    capture = Capture(FailingSink(10**6), ("m", "1"), limit=3)
    capture.add([scored(n) for n in range(5)])
    capture.add([scored(5)])
    assert capture.counts["dropped"] == 3
    capture.close()  # nothing could be written: what was kept is counted as dropped too
    assert capture.counts["dropped"] == 6


def test_an_unwritable_directory_leaves_requests_answering_and_counts_the_loss(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the directory should be")
    app = create_app({"CAPTURE_URI": f"file://{blocked}", "METRICS": "prometheus", "ACCESS_LOG": False})
    client = app.test_client()
    for _ in range(3):
        assert client.post("/", data=SAMPLE, content_type="text/csv").status_code == 200
    close(app)
    assert app.extensions["capture"].counts["dropped"] == 3
    text = client.get("/metrics").text
    assert 'turbine_status_capture_records_total{outcome="dropped"} 3.0' in text
    assert 'turbine_status_capture_records_total{outcome="failed"}' in text


@mock_aws
def test_the_s3_sink_writes_under_the_prefix_and_survives_a_refusing_bucket() -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="captures", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    good = create_app({"CAPTURE_URI": "s3://captures/live", "ACCESS_LOG": False})
    answer = good.test_client().post("/", data=SAMPLE, content_type="text/csv")
    close(good)
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket="captures")["Contents"]]
    assert key.startswith(f"live/capture/{MODEL_KEY}/") and key.endswith(".jsonl")
    body = s3.get_object(Bucket="captures", Key=key)["Body"].read().decode()
    assert json.loads(body)["eventMetadata"]["inferenceId"] == answer.headers["X-Inference-Id"]

    missing = create_app({"CAPTURE_URI": "s3://no-such-bucket/live", "ACCESS_LOG": False})
    assert missing.test_client().post("/", data=SAMPLE, content_type="text/csv").status_code == 200
    close(missing)
    assert missing.extensions["capture"].counts == {"written": 0, "failed": 2, "dropped": 1}  # close tries twice


def test_feedback_becomes_ground_truth_records_joined_by_event_id(tmp_path: Path) -> None:
    app = captured_app(tmp_path)
    client = app.test_client()
    one = client.post("/", data=SAMPLE, content_type="text/csv").headers["X-Inference-Id"]
    two = client.post("/", data=f"{SAMPLE}\n{HEALTHY}", content_type="text/csv").headers["X-Inference-Id"]
    sent = {"feedback": [{"inference_id": one, "label": 1}, {"inference_id": two, "label": 0, "row": 2}]}
    answer = client.post("/v1/feedback", json=sent)
    close(app)
    assert answer.status_code == 202 and answer.get_json() == {"accepted": 2}
    assert records(tmp_path, "ground-truth") == [
        {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": one}, "eventVersion": "0"},
        {
            "groundTruthData": {"data": "0", "encoding": "CSV"},
            "eventMetadata": {"eventId": f"{two}:2"},
            "eventVersion": "0",
        },
    ]
    assert event_id(GroundTruth(ID, 1, 1, 0.0)) == ID and event_id(GroundTruth(ID, 3, 0, 0.0)) == f"{ID}:3"


ID = "ISSUED"  # in a parametrized body: an id the test's app issued for one reading


def issued(client: Any, readings: int = 1) -> str:
    """An id the app issued, for an answer to this many readings."""
    body = "\n".join([SAMPLE] * readings)
    return str(client.post("/", data=body, content_type="text/csv").headers["X-Inference-Id"])


def with_ids(body: Any, inference_id: str) -> Any:
    """The body with ID replaced by an issued id."""
    return json.loads(json.dumps(body).replace(f'"{ID}"', f'"{inference_id}"'))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"feedback": [{"inference_id": "not-an-id", "label": 1}]},
            "inference_id",
            "'not-an-id' is not an inference id",
        ),
        ({"feedback": [{"inference_id": "0" * 32, "label": 1}]}, "inference_id", "is not an inference id (48 hex"),
        ({"feedback": [{"inference_id": "0" * 48, "label": 1}]}, "inference_id", "was not issued by this service"),
        ({"feedback": [{"inference_id": ID, "label": 2}]}, "label", "2 is not 0 or 1"),
        ({"feedback": [{"inference_id": ID, "label": True}]}, "label", "True is not 0 or 1"),
        ({"feedback": [{"inference_id": ID, "label": 1.0}]}, "label", "1.0 is not 0 or 1"),
        ({"feedback": [{"inference_id": ID, "label": 1, "row": 0}]}, "row", "0 is not a reading's number"),
        ({"feedback": [{"inference_id": ID, "label": 1, "row": 10_001}]}, "row", "from 1 to 10000"),
        ({"feedback": [{"inference_id": ID, "label": 1, "row": 3}]}, "row", "3 is past the 2 reading(s)"),
        ({"feedback": [{"inference_id": ID, "label": 1, "row": 2}]}, "row", "reading 2 of that answer has a label"),
        ({"feedback": [{"inference_id": ID, "label": 1, "when": "now"}]}, "when", "unknown field"),
        ({"feedback": [{"label": 1}]}, "inference_id", "missing"),
        ({"feedback": [{"inference_id": ID}]}, "label", "missing"),
        ({"feedback": ["x"]}, None, "an item must be an object"),
    ],
)
def test_bad_feedback_is_a_400_naming_the_item_and_field(
    tmp_path: Path, body: dict[str, Any], field: str | None, message: str
) -> None:
    app = captured_app(tmp_path)
    client = app.test_client()
    first = {"inference_id": ID, "label": 0, "row": 2}
    sent = with_ids({"feedback": [first, *body["feedback"]]}, issued(client, 2))
    answer = client.post("/v1/feedback", json=sent)
    close(app)
    assert answer.status_code == 400
    (detail,) = answer.get_json()["details"]
    assert detail["row"] == 2 and detail["field"] == field and message in detail["message"]
    assert records(tmp_path, "ground-truth") == []  # nothing of a refused body is kept


def test_an_id_is_taken_by_every_app_that_shares_the_secret_and_by_no_other(tmp_path: Path) -> None:
    secret = "s" * 32
    one, two = (captured_app(tmp_path / name, INFERENCE_ID_SECRET=secret) for name in ("one", "two"))
    other = captured_app(tmp_path / "other")
    inference_id = issued(one.test_client())
    sent = {"feedback": [{"inference_id": inference_id, "label": 1}]}
    assert two.test_client().post("/v1/feedback", json=sent).status_code == 202
    refused = other.test_client().post("/v1/feedback", json=sent)
    assert refused.status_code == 400 and "was not issued by this service" in refused.get_json()["message"]
    forged = inference_id[:16] + "ffffffff" + inference_id[24:]  # the count of readings changed: the mac no longer fits
    forged_body = {"feedback": [{"inference_id": forged, "label": 1, "row": 2}]}
    assert two.test_client().post("/v1/feedback", json=forged_body).status_code == 400
    for app in (one, two, other):
        close(app)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"json": {"feedback": []}}, 400, "invalid_input"),
        ({"json": {"feedback": [{"inference_id": ID, "label": 1}], "more": 1}}, 400, "invalid_input"),
        ({"json": [{"inference_id": ID, "label": 1}]}, 400, "invalid_input"),
        ({"data": "{", "content_type": "application/json"}, 400, "invalid_input"),
        ({"data": f"{ID},1", "content_type": "text/csv"}, 415, "unsupported_media_type"),
    ],
)
def test_a_feedback_body_of_the_wrong_shape_is_refused(
    tmp_path: Path, body: dict[str, Any], status: int, error: str
) -> None:
    app = captured_app(tmp_path)
    client = app.test_client()
    if "json" in body:
        body = {"json": with_ids(body["json"], issued(client))}
    answer = client.post("/v1/feedback", **body)
    close(app)
    assert (answer.status_code, answer.get_json()["error"]) == (status, error)


def test_feedback_of_more_values_than_max_rows_items_hold_is_a_413_unparsed(tmp_path: Path) -> None:
    app = captured_app(tmp_path, MAX_ROWS=10)
    client = app.test_client()
    for items in ([{}] * 2000, [{"inference_id": ID, "label": 1, "row": [1] * 2000}]):
        answer = client.post("/v1/feedback", json={"feedback": items})
        assert answer.status_code == 413
        assert answer.get_json()["message"].startswith("The JSON body holds more values than 10 readings: ")
    inference_id = issued(client, 10)
    ten = [{"inference_id": inference_id, "label": 1, "row": row} for row in range(1, 11)]
    assert client.post("/v1/feedback", json={"feedback": ten}).status_code == 202
    assert (
        client.post("/v1/feedback", json={"feedback": [*ten, ten[0]]})
        .get_json()["message"]
        .startswith("11 readings sent; at most 10")
    )
    close(app)


def test_feedback_without_capture_is_a_409(client: Any) -> None:
    answer = client.post("/v1/feedback", json={"feedback": [{"inference_id": issued(client), "label": 1}]})
    assert answer.status_code == 409
    assert answer.get_json()["error"] == "capture_off" and "CAPTURE_URI" in answer.get_json()["message"]


def test_feedback_needs_a_key_when_keys_are_on(tmp_path: Path) -> None:
    from app.web.security import hash_key

    app = captured_app(tmp_path, API_KEYS=hash_key("secret"))
    client = app.test_client()
    key = {"X-API-Key": "secret"}
    answered = client.post("/", data=SAMPLE, content_type="text/csv", headers=key)
    sent = {"feedback": [{"inference_id": answered.headers["X-Inference-Id"], "label": 1}]}
    assert client.post("/v1/feedback", json=sent).status_code == 401
    assert client.post("/v1/feedback", json=sent, headers=key).status_code == 202
    close(app)


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    root, port = tmp_path / "capture", free_port()
    gunicorn = shutil.which("gunicorn")
    assert gunicorn, "gunicorn is in requirements-dev.txt"
    environ = {**os.environ, "CAPTURE_URI": f"file://{root}", "ACCESS_LOG": "off"}
    server = subprocess.Popen(
        [gunicorn, "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", "app.wsgi:app"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, 30)
        yield port, server, root
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)


def test_under_two_gunicorn_workers_every_request_is_captured_once_including_at_sigterm(
    two_workers: tuple[int, subprocess.Popen[bytes], Path],
) -> None:
    port, server, root = two_workers
    url = f"http://127.0.0.1:{port}"
    mix = [
        ("/", {"data": SAMPLE, "headers": {"Content-Type": "text/csv"}}),
        ("/", {"data": f"{SAMPLE}\n{HEALTHY}\n{SAMPLE}", "headers": {"Content-Type": "text/csv"}}),
        ("/v1/predictions", {"json": READING}),
        ("/invocations", {"data": HEALTHY, "headers": {"Content-Type": "text/csv", "Accept": "application/jsonlines"}}),
        ("/", {"data": SAMPLE.replace("VAWT", "XAWT"), "headers": {"Content-Type": "text/csv"}}),  # refused: none
    ]
    lock, answered = threading.Lock(), []

    def send(number: int) -> None:
        path, body = mix[number % len(mix)]
        answer = requests.post(url + path, timeout=10, **body)  # type: ignore[arg-type]
        with lock:
            answered.append((answer.status_code, answer.headers.get("X-Inference-Id"), body))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(400)))
    server.send_signal(signal.SIGTERM)  # the last records are still in the workers' buffers
    _, errors = server.communicate(timeout=30)
    assert server.returncode == 0 and b"Handling signal: term" in errors
    ids = [inference_id for status, inference_id, _ in answered if status == 200]
    assert len(ids) == 320 and all(status in (200, 400) for status, _, _ in answered)
    found = [r["eventMetadata"]["inferenceId"] for r in records(root)]
    assert sorted(found) == sorted(ids)  # each once, none lost at shutdown
    assert len({p.name for p in (root / "capture").rglob("*.jsonl")}) == 2  # a file per worker


def test_a_category_that_needs_quotes_is_quoted_as_the_csv_module_writes_it() -> None:
    quoted = Scored(ID, 1_796_000_000.0, [['wing "A", north', "plain"], [1.5, 2.0]], [0.5, 0.25], [1, 0])
    assert capture_record(quoted)["captureData"]["endpointInput"]["data"] == '"wing ""A"", north",1.5\nplain,2.0'
    assert capture_record(quoted)["eventMetadata"]["inferenceTime"] == "2026-11-30T00:53:20.000Z"


@pytest.mark.parametrize("model", [("..", "1"), ("m", "."), ("m", "..")])
def test_a_model_name_that_names_no_folder_of_its_own_is_refused(tmp_path: Path, model: tuple[str, str]) -> None:
    for refused in (model, ("", "1")):
        with pytest.raises(ValueError, match="cannot name a folder of the capture"):
            Capture(FileSink(str(tmp_path)), refused)

    class Named(FailingBackend):
        def describe(self) -> dict[str, object]:
            return {"backend": self.name, "name": model[0], "version": model[1]}

    with pytest.raises(ConfigError, match="CAPTURE_URI: the served model's name or version"):
        create_app({"CAPTURE_URI": f"file://{tmp_path}"}, model=Named())


def test_the_file_sink_writes_nothing_outside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(ValueError, match="leads out of"):
        FileSink(str(root)).write("capture/../../escaped", [b"{}"])
    assert not (tmp_path / "escaped").exists()
