"""Errors at the web layer's edge: HTTP errors in the one JSON shape, and an unexpected error a generic 500
without its traceback."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.conftest import ORIGIN, SAMPLE, BrokenBackend, post_csv


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/nowhere", 404, "not_found"),
        ("put", "/", 405, "method_not_allowed"),
        ("get", "/v1/predictions", 405, "method_not_allowed"),
        ("delete", "/ping", 405, "method_not_allowed"),
    ],
)
def test_http_errors_share_the_json_shape(client: FlaskClient, method: str, path: str, status: int, code: str) -> None:
    response = getattr(client, method)(path, headers={"Origin": ORIGIN})
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["message"] and body["details"] == []
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    if status == 405:
        assert "POST" in response.headers["Allow"] or "GET" in response.headers["Allow"]


@pytest.mark.parametrize("headers", [{"Origin": ORIGIN}, {}])
def test_unexpected_errors_are_a_generic_500_without_traceback(
    capsys: pytest.CaptureFixture[str], headers: dict[str, str]
) -> None:
    client = create_app(model=BrokenBackend()).test_client()
    response = post_csv(client, SAMPLE, headers=headers)
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal_error", "message": "Internal server error.", "details": []}
    assert b"secret" not in response.data and b"Traceback" not in response.data
    assert response.headers.get("Access-Control-Allow-Origin") == ("*" if headers else None)
    assert "secret internal detail" in capsys.readouterr().err  # the traceback, in the log's JSON record
