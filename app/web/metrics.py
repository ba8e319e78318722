"""Metrics, off by default: requests, latency, rows, predicted labels and backend errors, read from each request's
RequestRecord (app.web.telemetry), as Prometheus text at /metrics (METRICS=prometheus) or as CloudWatch Embedded Metric
Format lines in the log (METRICS=emf)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, Response, request

from app.logs import FIELDS, ROOT_LOGGER
from app.web.telemetry import current_record

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from app.web.telemetry import RequestRecord

# The same names under Prometheus and CloudWatch.
REQUESTS = "turbine_status_requests_total"
LATENCY = "turbine_status_request_duration_seconds"
ROWS = "turbine_status_rows_per_request"
PREDICTIONS = "turbine_status_predictions_total"
BACKEND_ERRORS = "turbine_status_backend_errors_total"
CAPTURED = "turbine_status_capture_records_total"
NAMESPACE = "turbine-status"  # CloudWatch's
ROW_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10_000)
UNMATCHED = "unmatched"  # the route of a request no rule matched: any path would make a label value otherwise
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
metrics_log = logging.getLogger(f"{ROOT_LOGGER}.metrics")


def _note_route() -> None:
    """Keep the matched rule for the middleware, which runs after Flask has let go of the request."""
    rule = request.url_rule
    if rule:
        current_record().route = rule.rule


def _labels(environ: WSGIEnvironment, record: RequestRecord) -> tuple[str, str, str]:
    """Method, route and status, each from a small set of values."""
    method = environ.get("REQUEST_METHOD", "")
    return method if method in METHODS else "other", record.route or UNMATCHED, str(record.status or "none")


def _label_counts(record: RequestRecord) -> Counter[str]:
    return Counter(map(str, record.labels))


class PrometheusMetrics:
    """Counts in prometheus_client's metrics; with a multiprocess directory, in files every worker shares."""

    def __init__(self, multiproc_dir: str) -> None:
        # Imported only here: a service without metrics, and a Lambda cold start, need not load it.
        from prometheus_client import CollectorRegistry, Histogram
        from prometheus_client import Counter as PromCounter

        self.registry = CollectorRegistry()
        own: CollectorRegistry | None = self.registry
        if multiproc_dir:
            from prometheus_client import multiprocess

            # Each worker writes its own files; the collector sums them all when scraped.
            multiprocess.MultiProcessCollector(self.registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
            own = None
        self.requests = PromCounter(REQUESTS, "Requests answered", ["method", "route", "status"], registry=own)
        self.latency = Histogram(LATENCY, "Seconds to answer", ["method", "route"], registry=own)
        self.rows = Histogram(ROWS, "Readings in a scoring request", ["route"], buckets=ROW_BUCKETS, registry=own)
        self.predictions = PromCounter(PREDICTIONS, "Readings scored, by label", ["predicted_label"], registry=own)
        self.backend_errors = PromCounter(BACKEND_ERRORS, "Backend failures answered, by code", ["code"], registry=own)
        self.capture = PromCounter(
            CAPTURED, "Capture records written, failed (kept to retry) and dropped", ["outcome"], registry=own
        )

    def captured(self, outcome: str, count: int) -> None:
        self.capture.labels(outcome).inc(count)

    def observe(self, environ: WSGIEnvironment, record: RequestRecord) -> None:
        method, route, status_text = _labels(environ, record)
        self.requests.labels(method, route, status_text).inc()
        self.latency.labels(method, route).observe(record.latency)
        rows = record.rows
        if rows is not None:
            self.rows.labels(route).observe(rows)
        for label, count in _label_counts(record).items():
            self.predictions.labels(label).inc(count)
        code = record.backend_error
        if code:
            self.backend_errors.labels(code).inc()

    def view(self) -> Response:
        """The metrics in Prometheus's text format."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _directive(dimensions: list[str], *metrics: tuple[str, str]) -> dict[str, Any]:
    """An EMF MetricDirective: metrics (name, unit) under one set of dimensions, each named at the top level."""
    return {
        "Namespace": NAMESPACE,
        "Dimensions": [dimensions],
        "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics],
    }


SERVED = _directive(["method", "route", "status"], (REQUESTS, "Count"), (LATENCY, "Seconds"))
SERVED_WITH_ROWS = _directive(["method", "route", "status"], (REQUESTS, "Count"), (LATENCY, "Seconds"), (ROWS, "Count"))
PREDICTED = _directive(["predicted_label"], (PREDICTIONS, "Count"))
FAILED = _directive(["code"], (BACKEND_ERRORS, "Count"))
CAPTURE_TROUBLE = _directive(["outcome"], (CAPTURED, "Count"))


class EmfMetrics:
    """CloudWatch Embedded Metric Format: CloudWatch Logs turns these log lines into metrics, with no AWS call.

    One document per request; a dimension holds one value per document, so each further predicted label of a
    batch takes a document of its own."""

    def observe(self, environ: WSGIEnvironment, record: RequestRecord) -> None:
        method, route, status_text = _labels(environ, record)
        request_id, rows = record.request_id, record.rows
        directives = [SERVED if rows is None else SERVED_WITH_ROWS]
        # request_id is a property, not a dimension: it finds the access line.
        document: dict[str, Any] = {"method": method, "route": route, "status": status_text, "request_id": request_id}
        document.update({REQUESTS: 1, LATENCY: record.latency, **({} if rows is None else {ROWS: rows})})
        code = record.backend_error
        if code:
            directives.append(FAILED)
            document.update({"code": code, BACKEND_ERRORS: 1})
        labels = list(_label_counts(record).items())
        if labels:
            directives.append(PREDICTED)
            document.update({"predicted_label": labels[0][0], PREDICTIONS: labels[0][1]})
        metadata = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": directives}
        metrics_log.info("metrics", extra={FIELDS: {"_aws": metadata, **document}})
        for label, count in labels[1:]:
            more = {"_aws": {**metadata, "CloudWatchMetrics": [PREDICTED]}, "request_id": request_id}
            metrics_log.info("metrics", extra={FIELDS: {**more, "predicted_label": label, PREDICTIONS: count}})

    def captured(self, outcome: str, count: int) -> None:
        """Capture's failed and dropped records; written ones are not worth a log line each."""
        if outcome != "written":
            metadata = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [CAPTURE_TROUBLE]}
            metrics_log.info("metrics", extra={FIELDS: {"_aws": metadata, "outcome": outcome, CAPTURED: count}})


class Metrics(Protocol):
    def observe(self, environ: WSGIEnvironment, record: RequestRecord) -> None:
        """Count a request that has been answered."""
        ...

    def captured(self, outcome: str, count: int) -> None:
        """Count capture records by outcome: written, failed or dropped."""
        ...


def init_metrics(app: Flask) -> Metrics | None:
    """What counts each request and capture's outcomes, when METRICS is on; adds GET /metrics for Prometheus.

    /metrics is not an open endpoint: with API keys on it needs one, like the API."""
    kind = app.config["METRICS"]
    if kind == "off":
        return None
    # Registered before the security hooks, so a request they refuse still has its route.
    app.before_request(_note_route)
    if kind == "emf":
        # The metrics are not log chatter: LOG_LEVEL does not silence them (their own logger does).
        metrics_log.setLevel(logging.INFO)
        return EmfMetrics()
    prometheus = PrometheusMetrics(app.config["PROMETHEUS_MULTIPROC_DIR"])
    app.add_url_rule("/metrics", "metrics", prometheus.view, methods=["GET"])
    return prometheus
