"""The `monitor` command: the drift and model-quality report on captured predictions and ground truth.

It imports the report and scipy when it runs: the app registers this command at every start, serving included."""

from __future__ import annotations

import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

ALERT_STATUS = 3  # a drift or metric alert fired; the report is written
INSTALL = "pip install -r requirements-monitor.txt"
URI_FORMS = "file:///DIR, a directory or s3://BUCKET/PREFIX"


def _time(context: click.Context, parameter: click.Parameter, value: str | None) -> datetime.datetime | None:
    if value is None:
        return None
    from app.monitoring.records import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, such as 2026-12-04T05:00:00Z") from None


@click.command("monitor")
@click.option("--capture", "capture_uri", metavar="URI", required=True, help=f"Capture records: {URI_FORMS}.")
@click.option("--ground-truth", "truth_uri", metavar="URI", help=f"Ground-truth records, if elsewhere: {URI_FORMS}.")
@click.option("--since", metavar="TIME", callback=_time, help="First inference time to include (ISO 8601; UTC).")
@click.option("--until", metavar="TIME", callback=_time, help="Inference time to stop before (ISO 8601; UTC).")
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The artifact that made the predictions. Default: MODEL_PATH.",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for report.json and .html."
)
@with_appcontext
def monitor_command(
    capture_uri: str,
    truth_uri: str | None,
    since: datetime.datetime | None,
    until: datetime.datetime | None,
    model_path: Path | None,
    out: Path,
) -> None:
    """Compare captured readings and scores with the model's training data and held-out scores, and, with ground
    truth, its metrics; write report.json and report.html. Exit status 3 when a drift or metric alert fires."""
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        raise click.ClickException(f"the report needs scipy, which is not installed: {INSTALL}")
    from app.models.artifact import ModelFileError
    from app.models.embedded import load_artifact
    from app.monitoring.report import build_report
    from app.monitoring.sources import ReportError
    from app.monitoring.writing import write_report

    if since and until and since >= until:
        raise click.BadParameter("--since must come before --until", param_hint="--since")
    path = model_path or Path(current_app.config["MODEL_PATH"])
    try:
        artifact = load_artifact(path)
        uris = [capture_uri, *([truth_uri] if truth_uri else [])]
        report = build_report(uris, artifact, since, until, model_path=str(path))
    except (ModelFileError, ReportError) as problem:
        raise click.ClickException(str(problem)) from None
    try:
        as_json, as_html = write_report(report, out)
    except OSError as problem:
        raise click.ClickException(f"cannot write the report to {out}: {problem.strerror}") from None
    window = report["window"]
    click.echo(
        f"{report['records']['predictions']:,} predictions from {window['first']} to {window['last']}: "
        f"wrote {as_json} and {as_html}"
    )
    for alert in report["alerts"]:
        click.echo(f"alert: {alert}")
    for note in report["alerts_withheld"]:
        click.echo(f"note: {note}")
    if report["alerts"]:
        raise SystemExit(ALERT_STATUS)
    click.echo("no alerts")
