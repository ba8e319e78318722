"""`flask check-url` against the app served by gunicorn on 127.0.0.1, with and without a required key."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from app.check import percentile
from app.web.security import hash_key
from tests.conftest import serve_on_loopback

ROOT = Path(__file__).resolve().parent.parent
KEY = "check-url-test-key"

pytestmark = pytest.mark.slow


def gunicorn(monkeypatch: pytest.MonkeyPatch, **settings: str) -> Iterator[str]:
    """The app under gunicorn (one sync worker) on loopback, configured through the environment."""
    monkeypatch.delenv("API_KEYS", raising=False)
    monkeypatch.setenv("ACCESS_LOG", "off")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    # serve_on_loopback appends the port as the last word; gunicorn wants it in host:port, so sh puts it there.
    command = ["sh", "-c", f'exec "{sys.executable}" -m gunicorn --chdir "{ROOT}" -w 1 -b 127.0.0.1:"$0" app.wsgi:app']
    for port in serve_on_loopback(command):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def open_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from gunicorn(monkeypatch)


@pytest.fixture
def keyed_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from gunicorn(monkeypatch, API_KEYS=hash_key(KEY))


@pytest.fixture
def one_origin_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from gunicorn(monkeypatch, CORS_ORIGINS="https://page.example")


def check(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["check-url", *args])


def test_a_healthy_service_passes_with_latency(app: Flask, open_server: str) -> None:
    result = check(app, open_server, "--requests", "10")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == [
        "ok   GET /ping",
        "ok   POST / (classic)",
        "ok   OPTIONS / (CORS preflight)",
        "ok   GET / (page)",
    ]
    assert "label 1" in lines[1]
    assert lines[4].startswith("latency over 10 classic POSTs: p50 ") and " ms, p99 " in lines[4]
    assert lines[5] == "verdict: PASS (all 4 checks passed)"


def test_a_required_key_is_sent_and_a_missing_or_wrong_one_fails(app: Flask, keyed_server: str) -> None:
    passed = check(app, keyed_server, "--api-key", KEY, "--requests", "5")
    assert passed.exit_code == 0, passed.output
    assert "verdict: PASS" in passed.output

    for args in ([], ["--api-key", "not-the-key"]):
        failed = check(app, keyed_server, *args)
        assert failed.exit_code == 1, failed.output
        assert "FAIL POST / (classic): no sample reading from GET /v1/model: 401: " in failed.output
        assert "verdict: FAIL (1 of 4 checks failed: POST / (classic))" in failed.output
        assert "latency" not in failed.output  # nothing timed against a service that refuses


def test_the_preflight_is_checked_for_the_pages_origin(app: Flask, one_origin_server: str) -> None:
    refused = check(app, one_origin_server, "--requests", "1")
    assert refused.exit_code == 1
    assert "FAIL OPTIONS / (CORS preflight): 200, but https://check-url.example may not POST" in refused.output
    allowed = check(app, one_origin_server, "--requests", "1", "--origin", "https://page.example")
    assert allowed.exit_code == 0, allowed.output
    assert "ok   OPTIONS / (CORS preflight): 200, origin https://page.example may POST" in allowed.output


def test_a_closed_port_fails_every_check(app: Flask) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        result = check(app, f"http://127.0.0.1:{port}", "--timeout", "2")
    assert result.exit_code == 1
    assert "verdict: FAIL (4 of 4 checks failed" in result.output
    assert "FAIL GET /ping: no answer: " in result.output


def test_only_http_urls_are_checked(app: Flask) -> None:
    result = check(app, "file:///etc/passwd")
    assert result.exit_code == 2
    assert "is not an http:// or https:// URL" in result.output


def test_the_command_a_user_runs_exits_non_zero_on_failure(open_server: str) -> None:
    flask = [sys.executable, "-m", "flask", "--app", "app", "check-url"]
    ok = subprocess.run([*flask, open_server, "--requests", "3"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = subprocess.run([*flask, f"{open_server}/nowhere"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "verdict: FAIL" in refused.stdout


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0], 0.5, 5.0),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([float(v) for v in range(1, 21)], 0.5, 10.0),
        ([float(v) for v in range(1, 21)], 0.99, 20.0),
        ([float(v) for v in range(1, 101)], 0.99, 99.0),
    ],
)
def test_percentiles_are_measured_values(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected
