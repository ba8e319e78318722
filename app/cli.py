"""The `flask` commands: data generation, training, checks of the backend and of a running service, key hashing."""

from __future__ import annotations

import json
import os
import secrets
import time
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from app.core.errors import ModelFailure
from app.core.schemas import read_sample
from app.importing.commands import import_model_command
from app.monitoring.commands import monitor_command
from app.training.commands import generate_data_command, train_command
from app.web.errors import FAILURE_STATUS
from app.web.security import hash_key
from app.web.serving import DATAPLANE

if TYPE_CHECKING:
    from flask import Flask

# Commands import what they use when they run: serving builds this module's commands, and never runs them.
DEFAULT_ORIGIN = "https://check-url.example"


@click.command("check-endpoint")
@with_appcontext
def check_endpoint_command() -> None:
    """Score the model's sample reading with the configured backend; print the answer and latency."""
    backend = current_app.extensions[DATAPLANE].models.default
    sample = backend.schema.sample
    row = read_sample(backend.schema)[0]
    start = time.perf_counter()
    try:
        predictions = backend.predict([row])
    except ModelFailure as error:
        status = FAILURE_STATUS[error.kind]
        raise click.ClickException(f"{error.code} ({status}): {error.message}") from None
    latency_ms = (time.perf_counter() - start) * 1000
    info = backend.describe()
    answer = {"score": predictions.scores[0], "predicted_label": predictions.labels[0]}
    click.echo(f"backend: {info['backend']} {info.get('endpoint') or info.get('name')}")
    click.echo(f"reading: {sample}")
    click.echo(f"answer: {json.dumps(answer)}")
    click.echo(f"latency: {latency_ms:.1f} ms")


@click.command("check-url")
@click.argument("url")
@click.option("--api-key", help="Sent as X-API-Key (API Gateway's key, or one of API_KEYS).")
@click.option("--requests", "count", default=20, show_default=True, type=click.IntRange(1, 200), help="Timed POSTs.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 60), help="Seconds per request.")
@click.option("--origin", default=DEFAULT_ORIGIN, show_default=True, help="Origin of the preflight: your page's.")
def check_url_command(url: str, api_key: str | None, count: int, timeout: float, origin: str) -> None:
    """Smoke-check a deployed service at URL: /ping, POST /, a CORS preflight, the page; p50/p99 latency."""
    from app.check import check_url, describe

    try:
        report = check_url(url, api_key, count, timeout, origin)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="URL") from None
    for line in describe(report):
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


@click.command("hash-key")
@click.option("--generate", is_flag=True, help="Make a new random key and print it with its hash.")
def hash_key_command(generate: bool) -> None:
    """Print the SHA-256 hash of an API key, for API_KEYS (the key is read without echo)."""
    if generate:
        key = secrets.token_urlsafe(32)
        click.echo(f"key:  {key}")
    else:
        key = click.prompt("API key", hide_input=True)
    click.echo(f"hash: {hash_key(key)}")


@click.command("serve-sagemaker")
def serve_sagemaker_command() -> None:
    """Serve as a SageMaker model container: gunicorn on 0.0.0.0:$SAGEMAKER_BIND_TO_PORT, the model being the
    artifact in $SAGEMAKER_BASE_DIR/model/ (the image's `serve` runs this)."""
    import importlib.util

    from app import config as settings
    from app.container import serving
    from app.models import load_model

    if importlib.util.find_spec("gunicorn") is None:
        raise click.ClickException("gunicorn is not installed: pip install -r deploy/container/requirements.txt")

    command, environment = serving(settings.resolve(os.environ, None), os.environ)
    # Built once here, so a model that cannot serve stops the container with its reason before any worker starts.
    load_model(settings.resolve(environment, None))
    click.echo(f"serving {environment.get('MODEL_PATH', 'the configured backend')}: {' '.join(command[2:])}")
    os.execve(command[0], command, environment)  # noqa: S606 - gunicorn replaces this process, to get SIGTERM


def register_commands(app: Flask) -> None:
    for command in (
        generate_data_command,
        train_command,
        import_model_command,
        check_endpoint_command,
        check_url_command,
        hash_key_command,
        serve_sagemaker_command,
        monitor_command,
    ):
        app.cli.add_command(command)
