"""The report on a schedule, as Zappa's `events` call it on Lambda: the capture of the last MONITOR_HOURS from S3,
the report written back to S3, and each field's drift as an EMF metric in the log, so a CloudWatch alarm can fire.

It runs in its own function (the `monitor` stage of zappa_settings.json), packaged with requirements-monitor.txt:
the serving function never holds scipy."""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from typing import Any

from app.config import resolve

NAMESPACE = "turbine-status"
DRIFT = "turbine_status_drift"  # a field's drift statistic, against its threshold
ALERTS = "turbine_status_monitor_alerts"  # alerts the report raised


def _emf(dimensions: list[str], metrics: list[str], values: dict[str, Any]) -> None:
    """One Embedded Metric Format line on standard output, which Lambda sends to the function's log."""
    directive = {"Namespace": NAMESPACE, "Dimensions": [dimensions], "Metrics": [{"Name": m} for m in metrics]}
    document = {"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]}, **values}
    sys.stdout.write(json.dumps(document) + "\n")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def run(event: dict[str, Any] | None = None, context: Any = None, s3: Any = None) -> dict[str, Any]:
    """Report on the last MONITOR_HOURS of MONITOR_CAPTURE_URI into MONITOR_REPORT_URI/YYYY/MM/DD/HH/ (and
    latest/); returns the status and where the report went."""
    from app.models.embedded import load_artifact
    from app.monitoring.page import render
    from app.monitoring.report import build_report
    from app.monitoring.sources import ReportError

    config = resolve(os.environ, None)
    capture, target = config["MONITOR_CAPTURE_URI"], config["MONITOR_REPORT_URI"]
    if not capture or not target:
        raise RuntimeError("set MONITOR_CAPTURE_URI and MONITOR_REPORT_URI for the scheduled report")
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    until = datetime.datetime.now(datetime.UTC)
    since = until - datetime.timedelta(hours=config["MONITOR_HOURS"])
    try:
        report = build_report([capture], load_artifact(config["MODEL_PATH"]), since, until, s3=s3)
    except ReportError as problem:  # no traffic in the window, say: nothing to alarm on, but said
        print(f"no report for {since.isoformat()} to {until.isoformat()}: {problem}")
        return {"status": "no report", "reason": str(problem)}
    bucket, prefix = split_s3(target)
    keys = []
    for folder in (until.strftime("%Y/%m/%d/%H"), "latest"):
        for name, body, kind in (
            ("report.json", json.dumps(report, indent=2, allow_nan=False), "application/json"),
            ("report.html", render(report), "text/html; charset=utf-8"),
        ):
            key = "/".join(part for part in (prefix, folder, name) if part)
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType=kind)
            keys.append(key)
    model = f"{report['model']['name']}/{report['model']['version']}"
    drift_alerts = report["drift_alerts"]
    if drift_alerts["alerts_possible"]:  # an alarm on the drift figures fires only where the report's alerts could
        for name, field in report["fields"].items():
            if field["computed"]:
                _emf(["model", "field"], [DRIFT], {"model": model, "field": name, DRIFT: field["value"]})
    else:
        print(f"no drift figures for CloudWatch: {drift_alerts['reason']}")
    _emf(["model"], [ALERTS], {"model": model, ALERTS: len(report["alerts"])})
    return {
        "status": report["status"],
        "alerts": report["alerts"],
        "alerts_withheld": report["alerts_withheld"],
        "report": f"s3://{bucket}/{keys[0]}",
    }
