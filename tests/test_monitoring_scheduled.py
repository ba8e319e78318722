"""The scheduled report, as Zappa's events call it on Lambda: the capture read from S3, the report written back,
each field's drift as an EMF line. On moto's S3, in process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from app import create_app
from app.monitoring.scheduled import ALERTS, DRIFT, run
from app.training.data import turbine_dataset

BUCKET = "turbine-capture"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        monkeypatch.setenv("MONITOR_CAPTURE_URI", f"s3://{BUCKET}/capture")
        monkeypatch.setenv("MONITOR_REPORT_URI", f"s3://{BUCKET}/reports")
        yield client


def capture_traffic(rows: int) -> None:
    app = create_app({"CAPTURE_URI": f"s3://{BUCKET}/capture", "ACCESS_LOG": False})
    client = app.test_client()
    readings = [",".join(row) for row in turbine_dataset(rows, 7).rows]
    for start in range(0, rows, 50):
        answer = client.post("/", data="\n".join(readings[start : start + 50]), content_type="text/csv")
        assert answer.status_code == 200
    app.extensions["capture"].close()


def test_the_report_goes_to_s3_and_its_drift_figures_to_the_log(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capture_traffic(2000)
    capsys.readouterr()
    done = run({"source": "aws.events"}, None, s3=s3)
    assert done["status"] in ("ok", "alert") and done["report"].startswith(f"s3://{BUCKET}/reports/")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["Contents"]}
    hour = done["report"].split("/reports/")[1].rsplit("/", 1)[0]
    assert keys == {f"reports/{folder}/report.{kind}" for folder in (hour, "latest") for kind in ("json", "html")}
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/latest/report.json")["Body"].read())
    assert report["records"]["predictions"] == 2000  # readings, in 40 requests
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    drift = {line["field"]: line[DRIFT] for line in lines if DRIFT in line}
    assert drift == {name: field["value"] for name, field in report["fields"].items() if field["computed"]}
    assert len(drift) == 11
    [alerts] = [line for line in lines if ALERTS in line]
    assert alerts[ALERTS] == len(report["alerts"])
    assert alerts["_aws"]["CloudWatchMetrics"][0] == {
        "Namespace": "turbine-status",
        "Dimensions": [["model"]],
        "Metrics": [{"Name": ALERTS}],
    }


def test_a_window_without_traffic_writes_no_report_and_says_why(s3: Any) -> None:
    done = run({}, None, s3=s3)
    assert done["status"] == "no report" and done["reason"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["KeyCount"] == 0


def test_too_few_readings_give_the_report_but_no_drift_figure_to_alarm_on(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capture_traffic(50)
    capsys.readouterr()
    done = run({"source": "aws.events"}, None, s3=s3)
    reason = "50 live readings, fewer than 100: reported, no drift alert"
    assert (done["status"], done["alerts"], done["alerts_withheld"]) == ("ok", [], [reason])
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/latest/report.json")["Body"].read())
    assert report["drift_alerts"] == {"minimum_for_alerts": 100, "alerts_possible": False, "reason": reason}
    out = capsys.readouterr().out.splitlines()
    assert f"no drift figures for CloudWatch: {reason}" in out
    lines = [json.loads(line) for line in out if line.startswith("{")]
    assert [line for line in lines if DRIFT in line] == []
    assert [line[ALERTS] for line in lines if ALERTS in line] == [0]
