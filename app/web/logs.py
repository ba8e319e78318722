"""The service's log lines: one JSON object per line on stderr (the access line, tracebacks of unexpected errors,
SageMaker faults, EMF metric lines), and each app's LOG_LEVEL applied to the service loggers (app.logs)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson
from flask import Flask, current_app, has_app_context, has_request_context, request

from app.config import level
from app.logs import FIELDS, ROOT_LOGGER, filter_service_loggers


class AppLevel(logging.Filter):
    """LOG_LEVEL of the app a record is logged in, so that apps in one process keep their own levels. Records
    logged outside any app (the request middleware's, which checks its app's level itself) pass from INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= (level(current_app.config) if has_app_context() else logging.INFO)


_app_level = AppLevel()


# Where RequestMiddleware (app.web.telemetry) keeps the request's RequestRecord in the WSGI environ, so records
# logged while serving can say which request they belong to.
RECORD_KEY = "turbine_status.record"


def lambda_request_id(environ: dict[str, Any]) -> str | None:
    """Lambda's own request id: Zappa puts the invocation's context in the WSGI environ."""
    context = environ.get("lambda.context")
    request_id = getattr(context, "aws_request_id", None)
    return str(request_id) if request_id else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line, starting with its time (ISO 8601, UTC, milliseconds) and level: then a record's
    `fields` as they are, or for any other record its logger, message, the request it was logged in, and its
    traceback. orjson escapes control characters, so a value cannot break the line."""

    # The last second written and its text: most lines fall in the same second as the one before.
    _second: tuple[int, str] = (-1, "")

    def utc_time(self, created: float) -> str:
        """ISO 8601 in UTC with milliseconds, as 2026-12-03T09:25:43.183Z."""
        second = int(created)
        last, text = self._second
        if second != last:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        given = getattr(record, FIELDS, None)
        fields: dict[str, Any] = {"time": self.utc_time(record.created), "level": record.levelname}
        if given is not None:
            fields.update(given)
        else:
            fields.update(logger=record.name, message=record.getMessage())
            if has_request_context():
                served = request.environ.get(RECORD_KEY)
                fields["request_id"] = served and served.request_id
                aws_request_id = lambda_request_id(request.environ)
                if aws_request_id:
                    fields["aws_request_id"] = aws_request_id
            if record.exc_info:
                fields["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(fields).decode()


class StderrHandler(logging.Handler):
    """Writes to sys.stderr as it is when a record arrives (as logging's last-resort handler does), so a stream
    swapped in later, by a test or a server, gets the lines. Python line-buffers stderr: one write, one line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def init_logging(app: Flask) -> None:
    """A JSON handler on stderr for the turbine_status loggers, unless one was configured; each app's LOG_LEVEL
    applies through AppLevel, so the logger itself lets every level through.

    A handler the user put on the turbine_status logger (dictConfig, say) is left as it is, with its level. Ours
    does not propagate: the root logger's handlers (Zappa's, Lambda's) would print each line a second time."""
    filter_service_loggers(_app_level)
    logger = logging.getLogger(ROOT_LOGGER)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.DEBUG)
    if not logger.handlers:
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
