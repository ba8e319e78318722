"""A smoke check of a running service over HTTP: /ping, the classic POST /, a CORS preflight, the page, latency."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int  # 0 when no answer came (refused, timed out, not HTTP)
    headers: dict[str, str]  # names in lower case
    body: bytes
    error: str = ""


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was measured, never one interpolated between two."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def send(url: str, method: str, headers: dict[str, str], body: bytes | None, timeout: float) -> Answer:
    """One request; an HTTP error status is an answer, a failure to get any answer is status 0."""
    # S310: check_url lets only http:// and https:// URLs through.
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Answer(0, {}, b"", f"no answer: {reason}")


def _said(answer: Answer) -> str:
    """What went wrong, in a few words: the error, or the status and the start of the body."""
    if answer.status == 0:
        return answer.error
    return f"{answer.status}: {answer.body[:120].decode('utf-8', 'replace')}"


def _json(answer: Answer) -> object:
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def _check_ping(answer: Answer) -> Result:
    data = _json(answer)
    if answer.status == 200 and isinstance(data, dict) and data.get("status") == "ok":
        return Result("GET /ping", True, f"200, backend {data.get('backend')}")
    return Result("GET /ping", False, _said(answer))


def _check_classic(answer: Answer) -> Result:
    data = _json(answer)
    predictions = data.get("predictions") if isinstance(data, dict) else None
    if answer.status == 200 and isinstance(predictions, list) and len(predictions) == 1:
        [p] = predictions
        return Result("POST / (classic)", True, f"200, score {p.get('score')}, label {p.get('predicted_label')}")
    return Result("POST / (classic)", False, _said(answer))


def _check_preflight(answer: Answer, origin: str, headers: list[str]) -> Result:
    """A browser sends the POST only if the answer allows the origin, the method and every header it names."""
    allowed_origin = answer.headers.get("access-control-allow-origin", "")
    allowed_methods = answer.headers.get("access-control-allow-methods", "").upper()
    allowed_headers = {h.strip().lower() for h in answer.headers.get("access-control-allow-headers", "").split(",")}
    missing = [h for h in headers if h not in allowed_headers and "*" not in allowed_headers]
    if answer.status in (200, 204) and allowed_origin in ("*", origin) and "POST" in allowed_methods and not missing:
        return Result("OPTIONS / (CORS preflight)", True, f"{answer.status}, origin {allowed_origin} may POST")
    if answer.status in (200, 204):
        refused = f"{origin} may not POST" + (f" with {', '.join(missing)}" if missing else "")
        return Result("OPTIONS / (CORS preflight)", False, f"{answer.status}, but {refused}")
    return Result("OPTIONS / (CORS preflight)", False, _said(answer))


def _check_page(answer: Answer) -> Result:
    if answer.status == 200 and answer.headers.get("content-type", "").startswith("text/html"):
        return Result("GET / (page)", True, f"200, {len(answer.body)} bytes of HTML")
    return Result("GET / (page)", False, _said(answer))


def check_url(base: str, api_key: str | None, requests: int, timeout: float, origin: str) -> Report:
    """Check a service at `base` (a stage URL, or a server's address); then time `requests` classic POSTs.

    The key, when given, goes in X-API-Key on every request but the preflight: browsers never send one there."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{base!r} is not an http:// or https:// URL")
    root = base.rstrip("/")
    keyed = {"X-API-Key": api_key} if api_key else {}
    csv = {"Content-Type": "text/csv", **keyed}
    report = Report()
    report.results.append(_check_ping(send(f"{root}/ping", "GET", keyed, None, timeout)))
    # The served model's own sample: the service may serve other fields than the turbine's.
    model = send(f"{root}/v1/model", "GET", keyed, None, timeout)
    described = _json(model)
    sample = described.get("sample") if model.status == 200 and isinstance(described, dict) else None
    body = sample.encode() if isinstance(sample, str) and sample else None
    if body is not None:
        classic = _check_classic(send(f"{root}/", "POST", csv, body, timeout))
    else:
        classic = Result("POST / (classic)", False, f"no sample reading from GET /v1/model: {_said(model)}")
    report.results.append(classic)
    asked = ["content-type", "x-api-key"] if api_key else ["content-type"]
    preflight = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": ",".join(asked),
    }
    report.results.append(_check_preflight(send(f"{root}/", "OPTIONS", preflight, None, timeout), origin, asked))
    report.results.append(_check_page(send(f"{root}/", "GET", keyed, None, timeout)))
    if not classic.ok or body is None:
        return report  # nothing to time, and a dead server would cost `requests` timeouts
    for number in range(1, requests + 1):
        start = time.perf_counter()
        answer = send(f"{root}/", "POST", csv, body, timeout)
        elapsed_ms = (time.perf_counter() - start) * 1000
        if answer.status != 200:
            report.results.append(Result("latency", False, f"request {number} of {requests}: {_said(answer)}"))
            return report
        report.latencies_ms.append(elapsed_ms)
    return report


def describe(report: Report) -> list[str]:
    """The report as lines to print, ending with the verdict."""
    lines = [f"{'ok  ' if r.ok else 'FAIL'} {r.name}: {r.detail}" for r in report.results]
    if report.latencies_ms:
        p50, p99 = percentile(report.latencies_ms, 0.5), percentile(report.latencies_ms, 0.99)
        lines.append(f"latency over {len(report.latencies_ms)} classic POSTs: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    failed = [r.name for r in report.results if not r.ok]
    if failed:
        lines.append(f"verdict: FAIL ({len(failed)} of {len(report.results)} checks failed: {', '.join(failed)})")
    else:
        lines.append(f"verdict: PASS (all {len(report.results)} checks passed)")
    return lines
