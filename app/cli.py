"""The `flask` commands: data generation, training, and a check of the configured backend."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from app.errors import ApiError
from app.schema import SAMPLE_CSV, parse_text_values
from app.training import generate_data_command, train_command

if TYPE_CHECKING:
    from flask import Flask


@click.command("check-endpoint")
@with_appcontext
def check_endpoint_command() -> None:
    """Score the classic sample reading with the configured backend; print the answer and latency."""
    backend = current_app.extensions["backend"]
    row = parse_text_values(SAMPLE_CSV.split(","), 1)
    start = time.perf_counter()
    try:
        [prediction] = backend.predict([row])
    except ApiError as error:
        raise click.ClickException(f"{error.code} ({error.status}): {error.message}") from None
    latency_ms = (time.perf_counter() - start) * 1000
    info = backend.describe()
    answer = {"score": prediction.score, "predicted_label": prediction.predicted_label}
    click.echo(f"backend: {info['backend']} {info.get('endpoint') or info.get('name')}")
    click.echo(f"reading: {SAMPLE_CSV}")
    click.echo(f"answer: {json.dumps(answer)}")
    click.echo(f"latency: {latency_ms:.1f} ms")


def register_commands(app: Flask) -> None:
    for command in (generate_data_command, train_command, check_endpoint_command):
        app.cli.add_command(command)
