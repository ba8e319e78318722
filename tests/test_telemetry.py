"""Request ids, the JSON access line and the one record per request that the line and the metrics read."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.conftest import SAMPLE, FailingBackend


def post(client: FlaskClient, headers: dict[str, str] | None = None) -> object:
    return client.post("/", data=SAMPLE, content_type="text/csv", headers=headers or {})


def test_request_id_is_generated_or_kept(client: FlaskClient) -> None:
    generated = post(client).headers["X-Request-Id"]
    assert len(generated) == 32
    assert post(client, {"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    assert post(client, {"X-Request-Id": "bad id <x>"}).headers["X-Request-Id"] != "bad id <x>"


def test_lambda_request_id_is_used(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    for request_id in ("lambda-req-9", 'odd "id"'):
        event = {"requestContext": {"requestId": request_id}}
        response = client.post("/", data=SAMPLE, content_type="text/csv", environ_base={"lambda.event": event})
        assert response.headers["X-Request-Id"] == request_id
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["request_id"] for line in logged] == ["lambda-req-9", 'odd "id"']


def test_one_json_log_line_per_request(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    client.post("/", data=f"{SAMPLE}\n{SAMPLE}", content_type="text/csv", headers={"X-Request-Id": "r1"})
    client.post("/", data="nonsense", content_type="text/csv", headers={"X-Request-Id": "r2"})
    client.open('/"\\é', method="PATCH", headers={"X-Request-Id": "r3"})
    logged = capsys.readouterr().err
    lines = [json.loads(line) for line in logged.splitlines()]
    assert [(x["request_id"], x["method"], x["route"], x["status"], x["rows"], x["backend"]) for x in lines] == [
        ("r1", "POST", "/", 200, 2, "embedded"),
        ("r2", "POST", "/", 400, None, "embedded"),
        ("r3", "PATCH", '/"\\é', 404, None, "embedded"),
    ]
    assert all(x["latency_ms"] > 0 for x in lines)
    assert "TID008" not in logged and "nonsense" not in logged


def test_access_log_can_be_switched_off(capsys: pytest.CaptureFixture[str]) -> None:
    create_app({"ACCESS_LOG": False}).test_client().post("/", data=SAMPLE, content_type="text/csv")
    assert capsys.readouterr().err == ""


def test_what_a_failed_request_noted_reaches_the_answer_the_line_and_the_metrics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = create_app({"METRICS": "emf"}, model=FailingBackend())  # type: ignore[arg-type]
    response = app.test_client().post("/", data=SAMPLE, content_type="text/csv", headers={"X-Request-Id": "t-1"})
    assert response.status_code == 504 and response.get_json()["message"].endswith("Request id: t-1.")
    access, metrics = map(json.loads, capsys.readouterr().err.splitlines())
    assert (access["request_id"], access["status"], access["rows"], access["backend"]) == ("t-1", 504, 1, "failing")
    assert (metrics["request_id"], metrics["route"], metrics["code"]) == ("t-1", "/", "backend_timeout")
