"""Metrics: off by default and not even imported; Prometheus text at /metrics, exact across two gunicorn workers;
CloudWatch EMF lines that follow the documented structure, in process and from the packaged Lambda handler."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.web.metrics import BACKEND_ERRORS, LATENCY, NAMESPACE, PREDICTIONS, REQUESTS, ROWS
from app.web.security import hash_key
from tests.conftest import HEALTHY, SAMPLE, FailingBackend
from tests.lambda_harness import run_events
from tests.loopback import free_port, wait_for_port
from tests.test_lambda import rest_event

ROOT = Path(__file__).resolve().parent.parent
# The units CloudWatch accepts (MetricDatum's Unit).
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
    "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
    "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
    "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def count(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def send_mix(client: FlaskClient) -> None:
    """3 good single readings, 1 good batch of 2, 2 invalid, 1 unknown path."""
    for _ in range(3):
        assert client.post("/", data=SAMPLE, content_type="text/csv").status_code == 200
    assert client.post("/v1/predictions", data=f"{SAMPLE}\n{HEALTHY}", content_type="text/csv").status_code == 200
    for body in ("nonsense", SAMPLE.replace("NE", "UP")):
        assert client.post("/", data=body, content_type="text/csv").status_code == 400
    assert client.get("/no/such/page").status_code == 404


def test_metrics_are_off_and_not_imported_by_default() -> None:
    code = "import sys; from app import create_app; a = create_app(); print(sorted(m for m in sys.modules if m in "
    code += "('prometheus_client', 'flask_swagger_ui')), a.test_client().get('/metrics').status_code)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[0] == "[] 404"


def test_prometheus_counts_in_process() -> None:
    client = create_app({"METRICS": "prometheus"}).test_client()
    send_mix(client)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    found = samples(response.get_data(as_text=True))
    assert count(found, REQUESTS, method="POST", route="/", status="200") == 3
    assert count(found, REQUESTS, method="POST", route="/", status="400") == 2
    assert count(found, REQUESTS, method="POST", route="/v1/predictions", status="200") == 1
    assert count(found, REQUESTS, method="GET", route="unmatched", status="404") == 1
    assert count(found, f"{LATENCY}_count", method="POST", route="/") == 5
    assert count(found, f"{ROWS}_count", route="/") == 3
    assert count(found, f"{ROWS}_sum", route="/v1/predictions") == 2
    assert count(found, f"{ROWS}_bucket", route="/v1/predictions", le="1.0") == 0
    assert count(found, PREDICTIONS, predicted_label="1") == 4
    assert count(found, PREDICTIONS, predicted_label="0") == 1


def test_backend_errors_are_counted_by_code() -> None:
    client = create_app({"METRICS": "prometheus"}, model=FailingBackend()).test_client()  # type: ignore[arg-type]
    for _ in range(2):
        assert client.post("/", data=SAMPLE, content_type="text/csv").status_code == 504
    found = samples(client.get("/metrics").get_data(as_text=True))
    assert count(found, BACKEND_ERRORS, code="backend_timeout") == 2
    assert count(found, REQUESTS, method="POST", route="/", status="504") == 2


def test_backend_errors_in_emf(capsys: pytest.CaptureFixture[str]) -> None:
    client = create_app({"METRICS": "emf", "ACCESS_LOG": False}, model=FailingBackend()).test_client()  # type: ignore[arg-type]
    client.post("/", data=SAMPLE, content_type="text/csv")
    [document] = emf_lines(capsys.readouterr().err)
    check_emf(document)
    assert (document["status"], document["code"], document[BACKEND_ERRORS]) == ("504", "backend_timeout", 1)


def test_metrics_need_the_api_key_when_keys_are_on() -> None:
    client = create_app({"METRICS": "prometheus", "API_KEYS": (hash_key("k"),)}).test_client()
    assert client.get("/metrics").status_code == 401
    found = samples(client.get("/metrics", headers={"X-API-Key": "k"}).get_data(as_text=True))
    assert count(found, REQUESTS, method="GET", route="/metrics", status="401") == 1


def check_emf(document: dict[str, Any]) -> None:
    """The structure the CloudWatch EMF specification documents: an _aws metadata object with a millisecond
    Timestamp and MetricDirectives whose every dimension and metric names a member of the root node."""
    metadata = document["_aws"]
    assert set(metadata) == {"Timestamp", "CloudWatchMetrics"}
    assert isinstance(metadata["Timestamp"], int) and metadata["Timestamp"] > 1_500_000_000_000
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert isinstance(directive["Namespace"], str) and 0 < len(directive["Namespace"]) <= 1024
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30
            for name in dimension_set:
                value = document[name]
                assert isinstance(value, str) and value.strip() and value.isascii() and len(value) <= 1024
        assert 0 < len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"} and metric["Unit"] in UNITS
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def emf_lines(stderr: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in parsed if "_aws" in line]


def by_metric(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).append(document)
    return found


def test_emf_lines_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    send_mix(create_app({"METRICS": "emf", "LOG_LEVEL": "ERROR"}).test_client())
    documents = emf_lines(capsys.readouterr().err)
    for document in documents:
        check_emf(document)
        assert {d["Namespace"] for d in document["_aws"]["CloudWatchMetrics"]} == {NAMESPACE}
    metrics = by_metric(documents)
    statuses = sorted((d["method"], d["route"], d["status"]) for d in metrics[REQUESTS])
    assert statuses == [("GET", "unmatched", "404")] + [("POST", "/", "200")] * 3 + [("POST", "/", "400")] * 2 + [
        ("POST", "/v1/predictions", "200")
    ]
    assert sorted(d[ROWS] for d in metrics[ROWS]) == [1, 1, 1, 2]
    assert all(d[LATENCY] > 0 for d in metrics[LATENCY])
    predicted = [(d["predicted_label"], d[PREDICTIONS]) for d in metrics[PREDICTIONS]]
    assert sorted(predicted) == [("0", 1), ("1", 1), ("1", 1), ("1", 1), ("1", 1)]


@pytest.fixture
def gunicorn_two_workers(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The app under gunicorn, 2 sync workers on 127.0.0.1, METRICS=prometheus in multiprocess mode."""
    port, shared = free_port(), tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"")  # left from an earlier run: the config file must clear it
    env = {**os.environ, "METRICS": "prometheus", "PROMETHEUS_MULTIPROC_DIR": str(shared), "ACCESS_LOG": "off"}
    command = [sys.executable, "-m", "gunicorn", "-c", "app/gunicorn_conf.py", "-w", "2", "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, "app.wsgi:app"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port, shared
    finally:
        server.terminate()
        server.wait(timeout=30)


def request(port: int, method: str, path: str, body: str | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Connection": "close", **({"Content-Type": "text/csv"} if body is not None else {})}
    connection.request(method, path, body, headers)
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.slow
def test_prometheus_counts_are_exact_across_two_gunicorn_workers(gunicorn_two_workers: tuple[int, Path]) -> None:
    port, shared = gunicorn_two_workers
    # One worker is held on a request whose body has not arrived, so the other serves the rest; then it ends.
    held = socket.create_connection(("127.0.0.1", port))
    held.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: {len(SAMPLE)}\r\n".encode())
    good, bad, missing = 7, 4, 3
    assert [request(port, "POST", "/", SAMPLE) for _ in range(good)] == [200] * good
    assert [request(port, "POST", "/", "nonsense") for _ in range(bad)] == [400] * bad
    assert [request(port, "GET", f"/missing/{i}") for i in range(missing)] == [404] * missing
    held.sendall(f"Connection: close\r\n\r\n{SAMPLE}".encode())
    assert held.recv(64).startswith(b"HTTP/1.1 200")
    held.close()
    assert len({path.stem.rsplit("_", 1)[1] for path in shared.glob("counter_*.db")}) == 2  # both workers counted

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/metrics")
    found = samples(connection.getresponse().read().decode())
    connection.close()
    assert count(found, REQUESTS, method="POST", route="/", status="200") == good + 1
    assert count(found, REQUESTS, method="POST", route="/", status="400") == bad
    assert count(found, REQUESTS, method="GET", route="unmatched", status="404") == missing
    assert count(found, f"{LATENCY}_count", method="POST", route="/") == good + 1 + bad
    assert count(found, f"{ROWS}_count", route="/") == good + 1
    assert count(found, PREDICTIONS, predicted_label="1") == good + 1


@pytest.mark.slow
def test_packaged_handler_writes_valid_emf_lines(lambda_path: str) -> None:
    events = [
        rest_event("POST", "/", f"{SAMPLE}\n{HEALTHY}", {"Content-Type": "text/csv"}),
        rest_event("POST", "/", "nonsense", {"Content-Type": "text/csv"}),
        rest_event("GET", "/no/such/page"),
    ]
    run = run_events(lambda_path, events, {"METRICS": "emf"})
    assert [r["statusCode"] for r in run.responses] == [200, 400, 404]
    ours = [json.loads(line) for line in run.stderr.splitlines() if line.startswith('{"')]
    access = [line for line in ours if "_aws" not in line]
    assert [(a["aws_request_id"], a["status"]) for a in access] == [
        ("lambda-1", 200),
        ("lambda-2", 400),
        ("lambda-3", 404),
    ]
    documents = emf_lines(run.stderr)
    for document in documents:
        check_emf(document)
    metrics = by_metric(documents)
    assert sorted(d["status"] for d in metrics[REQUESTS]) == ["200", "400", "404"]
    assert sorted((d["predicted_label"], d[PREDICTIONS]) for d in metrics[PREDICTIONS]) == [("0", 1), ("1", 1)]
    assert [d[ROWS] for d in metrics[ROWS]] == [2]
