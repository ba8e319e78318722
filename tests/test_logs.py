"""Log records through the logging module: JSON lines on stderr by default, a user's own handler respected,
LOG_LEVEL, Lambda's request id, and error records that name their request."""

from __future__ import annotations

import json
import logging
import logging.config
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from app import create_app
from app.logs import ROOT_LOGGER
from app.web.logs import JsonFormatter
from tests.conftest import SAMPLE, BrokenBackend


@pytest.fixture
def service_logger() -> Iterator[logging.Logger]:
    """The turbine_status logger, put back as it was after the test."""
    logger = logging.getLogger(ROOT_LOGGER)
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers.clear()
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines()]


def test_access_records_are_json_lines_with_the_fields_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    create_app().test_client().post("/", data=SAMPLE, content_type="text/csv", headers={"X-Request-Id": "r1"})
    [line] = lines(capsys.readouterr().err)
    fields = ["time", "level", "request_id", "method", "route", "status", "rows", "backend", "latency_ms"]
    assert list(line) == fields
    assert line["request_id"] == "r1" and line["status"] == 200 and line["rows"] == 1


def test_every_line_starts_with_an_iso_8601_utc_time_and_the_level(capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC)
    time.sleep(0.002)
    create_app(model=BrokenBackend()).test_client().post("/", data=SAMPLE, content_type="text/csv")
    written = lines(capsys.readouterr().err)
    assert [(list(line)[:2], line["level"]) for line in written] == [
        (["time", "level"], "ERROR"),
        (["time", "level"], "INFO"),
    ]
    for line in written:
        assert isinstance(line["time"], str) and line["time"].endswith("Z") and len(line["time"]) == 24
        assert before < datetime.fromisoformat(line["time"]) <= datetime.now(UTC)


@pytest.mark.parametrize("created", [0.0, 1764754543.1834, 1764754543.9999, 1764754544.0005, 1764754543.5])
def test_a_lines_time_is_its_records_to_the_millisecond(created: float) -> None:
    """Also when the second before was written (its text is reused) and when it was not."""
    formatter = JsonFormatter()
    for earlier in (created - 0.3, created - 1, created):
        formatter.utc_time(earlier)
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert formatter.utc_time(created) == expected


def test_on_lambda_the_line_carries_lambdas_request_id_next_to_api_gateways(
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {
        "lambda.event": {"requestContext": {"requestId": "apigw-1"}},
        "lambda.context": SimpleNamespace(aws_request_id="lambda-1"),
    }
    create_app().test_client().post("/", data=SAMPLE, content_type="text/csv", environ_base=environ)
    [line] = lines(capsys.readouterr().err)
    assert list(line)[2:4] == ["request_id", "aws_request_id"]
    assert (line["request_id"], line["aws_request_id"]) == ("apigw-1", "lambda-1")


def test_an_unexpected_error_is_one_json_record_naming_its_request(capsys: pytest.CaptureFixture[str]) -> None:
    client = create_app(model=BrokenBackend()).test_client()
    client.post("/", data=SAMPLE, content_type="text/csv", headers={"X-Request-Id": "boom-1"})
    error, access = lines(capsys.readouterr().err)
    assert (error["level"], error["logger"], error["request_id"]) == ("ERROR", "turbine_status.errors", "boom-1")
    assert "RuntimeError: secret internal detail" in str(error["exc_info"])
    assert access["request_id"] == "boom-1" and access["status"] == 500


def test_log_level_warning_silences_access_lines_but_not_errors(capsys: pytest.CaptureFixture[str]) -> None:
    create_app({"LOG_LEVEL": "WARNING"}).test_client().post("/", data=SAMPLE, content_type="text/csv")
    assert capsys.readouterr().err == ""
    create_app({"LOG_LEVEL": "WARNING"}, model=BrokenBackend()).test_client().post(
        "/", data=SAMPLE, content_type="text/csv"
    )
    assert [line["logger"] for line in lines(capsys.readouterr().err)] == ["turbine_status.errors"]


def test_a_handler_the_user_configured_gets_the_records_and_none_is_added(
    service_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": JsonFormatter}},
            "handlers": {"mine": {"class": "logging.handlers.BufferingHandler", "capacity": 100, "formatter": "json"}},
            "loggers": {ROOT_LOGGER: {"handlers": ["mine"], "propagate": False}},
        }
    )
    [mine] = service_logger.handlers
    create_app().test_client().post("/", data=SAMPLE, content_type="text/csv", headers={"X-Request-Id": "r9"})
    assert service_logger.handlers == [mine]
    assert capsys.readouterr().err == ""
    [record] = mine.buffer  # type: ignore[attr-defined]
    assert record.name == "turbine_status.access"
    assert json.loads(mine.format(record))["request_id"] == "r9"


def test_the_handler_is_added_once_however_many_apps(service_logger: logging.Logger) -> None:
    create_app(), create_app()
    assert len(service_logger.handlers) == 1 and not service_logger.propagate
