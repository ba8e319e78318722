"""Metrics, off by default: requests, latency, rows, predicted labels and backend errors, as Prometheus text at
/metrics (METRICS=prometheus) or as CloudWatch Embedded Metric Format lines in the log (METRICS=emf)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from app.errors import BACKEND_ERROR_KEY
from app.logs import FIELDS, ROOT_LOGGER
from app.security import LABELS_KEY, ROWS_KEY

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from app.security import Observer

# The same names under Prometheus and CloudWatch.
REQUESTS = "turbine_status_requests_total"
LATENCY = "turbine_status_request_duration_seconds"
ROWS = "turbine_status_rows_per_request"
PREDICTIONS = "turbine_status_predictions_total"
BACKEND_ERRORS = "turbine_status_backend_errors_total"
NAMESPACE = "turbine-status"  # CloudWatch's
ROW_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10_000)
ROUTE_KEY = "turbine_status.route"
UNMATCHED = "unmatched"  # the route of a request no rule matched: any path would make a label value otherwise
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
metrics_log = logging.getLogger(f"{ROOT_LOGGER}.metrics")


def _note_route() -> None:
    """Keep the matched rule for the middleware, which runs after Flask has let go of the request."""
    request.environ[ROUTE_KEY] = request.url_rule.rule if request.url_rule else UNMATCHED


def _labels(environ: WSGIEnvironment, status: int | None) -> tuple[str, str, str]:
    """Method, route and status, each from a small set of values."""
    method = environ.get("REQUEST_METHOD", "")
    return method if method in METHODS else "other", environ.get(ROUTE_KEY, UNMATCHED), str(status or "none")


def _label_counts(environ: WSGIEnvironment) -> Counter[str]:
    return Counter(map(str, environ.get(LABELS_KEY) or ()))


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

    def observe(self, environ: WSGIEnvironment, request_id: str, status: int | None, seconds: float) -> None:
        method, route, status_text = _labels(environ, status)
        self.requests.labels(method, route, status_text).inc()
        self.latency.labels(method, route).observe(seconds)
        rows = environ.get(ROWS_KEY)
        if rows is not None:
            self.rows.labels(route).observe(rows)
        for label, count in _label_counts(environ).items():
            self.predictions.labels(label).inc(count)
        code = environ.get(BACKEND_ERROR_KEY)
        if code:
            self.backend_errors.labels(code).inc()

    def view(self) -> Response:
        """The metrics in Prometheus's text format."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _emf(timestamp: int, dimensions: dict[str, str], metrics: dict[str, tuple[str, float]]) -> dict[str, Any]:
    """One EMF document: metric `name: (unit, value)` under one set of dimensions, values at the top level."""
    directive = {
        "Namespace": NAMESPACE,
        "Dimensions": [list(dimensions)],
        "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()],
    }
    document: dict[str, Any] = {"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [directive]}, **dimensions}
    document.update((name, value) for name, (_, value) in metrics.items())
    return document


class EmfMetrics:
    """CloudWatch Embedded Metric Format: CloudWatch Logs turns these log lines into metrics, with no AWS call."""

    def observe(self, environ: WSGIEnvironment, request_id: str, status: int | None, seconds: float) -> None:
        method, route, status_text = _labels(environ, status)
        now = int(time.time() * 1000)
        served: dict[str, tuple[str, float]] = {REQUESTS: ("Count", 1), LATENCY: ("Seconds", seconds)}
        rows = environ.get(ROWS_KEY)
        if rows is not None:
            served[ROWS] = ("Count", rows)
        documents = [_emf(now, {"method": method, "route": route, "status": status_text}, served)]
        for label, count in _label_counts(environ).items():
            documents.append(_emf(now, {"predicted_label": label}, {PREDICTIONS: ("Count", count)}))
        code = environ.get(BACKEND_ERROR_KEY)
        if code:
            documents.append(_emf(now, {"code": code}, {BACKEND_ERRORS: ("Count", 1)}))
        for document in documents:
            document["request_id"] = request_id  # a property, not a dimension: it finds the access line
            metrics_log.info("metrics", extra={FIELDS: document})


def init_metrics(app: Flask) -> Observer | None:
    """What the request middleware tells each request to, when METRICS is on; adds GET /metrics for Prometheus.

    /metrics is not an open endpoint: with API keys on it needs one, like the API."""
    kind = app.config["METRICS"]
    if kind == "off":
        return None
    # Registered before the security hooks, so a request they refuse still has its route.
    app.before_request(_note_route)
    if kind == "emf":
        # The metrics are not log chatter: LOG_LEVEL does not silence them (their own logger does).
        metrics_log.setLevel(logging.INFO)
        return EmfMetrics().observe
    prometheus = PrometheusMetrics(app.config["PROMETHEUS_MULTIPROC_DIR"])
    app.add_url_rule("/metrics", "metrics", prometheus.view, methods=["GET"])
    return prometheus.observe
