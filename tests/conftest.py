"""Shared fixtures: a fresh app and client per test, with the embedded model and no AWS access."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.codecs import csv as csv_codec
from app.codecs.body import decode as decode_body
from app.config import FALLBACKS, SETTINGS
from app.core.errors import ModelFailure
from app.core.fields import Schema
from app.core.prediction import Predictions
from app.core.schemas import turbine_schema
from app.core.table import Reading, Readings, csv_lines
from app.core.validation import validate
from app.examples import ai4i
from app.training.commands import main
from app.training.data import turbine_dataset
from app.training.fit import train
from deploy.package import build, ensure_venv
from tests.lambda_harness import runtime_dir
from tests.loopback import free_port, wait_for_port

SAMPLE = turbine_schema().sample


def read_body(body: bytes, mimetype: str, charset: str | None, max_rows: int, schema: Schema | None = None) -> Readings:
    """A scoring body's readings, decoded by its dialect and validated, as the scoring routes read them."""
    schema = schema or turbine_schema()
    return validate(schema, decode_body(body, mimetype, charset, schema, max_rows))


def read_csv(text: str, max_rows: int, split: bool = True, schema: Schema | None = None) -> Readings:
    """CSV lines' readings, decoded and validated."""
    schema = schema or turbine_schema()
    return validate(schema, csv_codec.decode(text, schema, max_rows, split))


def to_csv(rows: Sequence[Reading]) -> str:
    """Readings as headerless CSV lines, as capture writes them."""
    return csv_lines([list(column) for column in zip(*rows, strict=True)])


HEALTHY = "TID002,HAWT,20,25,38.0,40,20,50,2,40,SW"


class FailingBackend:
    """A backend whose every prediction times out."""

    name = "failing"
    schema = turbine_schema()

    def predict(self, rows: list[Reading], explain: bool = False, inference_id: str | None = None) -> None:
        raise ModelFailure("The endpoint took too long.", "backend_timeout", "timeout")

    def describe(self) -> dict[str, object]:
        return {"backend": self.name}


INVOCATIONS_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
ORIGIN = "https://dashboard.example"


def post_csv(client: FlaskClient, body: str | bytes, path: str = "/", **kwargs: object) -> object:
    return client.post(path, data=body, content_type="text/csv", **kwargs)


class BrokenBackend:
    """A backend whose every prediction fails with an unexpected error."""

    name = "broken"
    schema = turbine_schema()

    def predict(self, rows: Sequence[Reading], explain: bool = False, inference_id: str | None = None) -> Predictions:
        raise RuntimeError("secret internal detail")

    def describe(self) -> dict[str, object]:
        return {"backend": self.name}


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and no metadata look-ups, so nothing can reach AWS; none of the service's settings
    from the environment the suite was started in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in (*SETTINGS, *FALLBACKS.values(), "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app() -> Iterator[Flask]:
    app = create_app({"TESTING": True})
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def virtualenv_with(folder: Path, packages: list[str]) -> str:
    """A new virtualenv in `folder` holding `packages` from the package registry: for a client whose pins the
    project's requirements do not share. Its Python's path."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages]
    subprocess.run(install, check=True, timeout=600)
    return python


def serve_on_loopback(command: list[str], seconds: float = 30) -> Iterator[int]:
    """Start a server command (its port added as the last word) on 127.0.0.1; yield the port once it listens."""
    port = free_port()
    program = shutil.which(command[0])
    assert program, f"{command[0]} is installed by tests/run.sh"
    server = subprocess.Popen([program, *command[1:], str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, seconds)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def small_files() -> None:
    """For a child process (preexec_fn): files may not grow past 2 KB, and a write past that fails (EFBIG) rather
    than killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


@pytest.fixture(scope="session")
def ai4i_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The AI4I-shaped example trained as its module docstring says, without ID and per-mode columns."""
    folder = tmp_path_factory.mktemp("ai4i")
    data, out = folder / "ai4i.csv", folder / "model.json"
    generated = CliRunner().invoke(main, ["generate-data", "--example", "ai4i", "--out", str(data), "--rows", "4000"])
    assert generated.exit_code == 0, generated.output
    features = ",".join(ai4i.FEATURES)
    arguments = ["--label", ai4i.LABEL, "--schema", str(ai4i.SCHEMA_PATH), "--features", features, "--out", str(out)]
    result = CliRunner().invoke(main, ["train", "--data", str(data), *arguments])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def trained() -> tuple[dict[str, Any], Any]:
    """A linear model's artifact, fitted on generated turbine readings, and the scikit-learn pipeline it came from."""
    return train(turbine_dataset(6000, seed=3), turbine_schema(), "breakdown", 3, "test", "test-model", "test")


def write(tmp_path: Path, artifact: Any) -> Path:
    """The artifact as tmp_path/model.json."""
    path = tmp_path / "model.json"
    path.write_text(json.dumps(artifact))
    return path


@pytest.fixture(scope="session")
def deploy_venv() -> Path:
    """The virtualenv Zappa packages: requirements-deploy.txt and nothing else."""
    return ensure_venv()


@pytest.fixture(scope="session")
def package(deploy_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda zip as deploy/package.py builds it, with bytecode."""
    return build("dev", tmp_path_factory.mktemp("build") / "turbine-status-dev.zip", deploy_venv)


@pytest.fixture(scope="session")
def lambda_path(package: Path, deploy_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """PYTHONPATH for a process that sees what Lambda sees: the unzipped package, then the runtime's boto3."""
    return unzipped(package, deploy_venv, tmp_path_factory)


@pytest.fixture(scope="session")
def prod_lambda_path(deploy_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same for the prod stage's package, whose settings choose the SageMaker backend."""
    package = build("prod", tmp_path_factory.mktemp("build") / "turbine-status-prod.zip", deploy_venv)
    return unzipped(package, deploy_venv, tmp_path_factory)


def unzipped(package: Path, deploy_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    code = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(package) as z:
        z.extractall(code)
    return f"{code}:{runtime_dir(tmp_path_factory.mktemp('runtime'), deploy_venv)}"
