"""SageMaker's container contract: the artifact found where SageMaker unpacks it, the gunicorn command, and the
image's `serve` entry point run as a process (no Docker engine runs here), answering /ping and /invocations."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app import config as settings
from app.config import ConfigError
from app.container import model_file, serving
from tests.conftest import SAMPLE
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "app" / "model" / "model.json"


def unpacked(base: Path, *names: str) -> Path:
    """A SAGEMAKER_BASE_DIR whose model/ holds the bundled artifact under each name."""
    (base / "model").mkdir(parents=True)
    for name in names:
        shutil.copy(BUNDLED, base / "model" / name)
    return base


def test_the_artifact_is_model_json_or_the_only_json_file(tmp_path: Path) -> None:
    assert model_file(str(unpacked(tmp_path / "a", "model.json", "other.json"))).name == "model.json"
    assert model_file(str(unpacked(tmp_path / "b", "turbines.json"))).name == "turbines.json"


@pytest.mark.parametrize(("names", "why"), [((), "holds no JSON file"), (("x.json", "y.json"), "holds x.json, y.json")])
def test_no_artifact_or_several_is_refused_naming_the_setting(tmp_path: Path, names: tuple[str, ...], why: str) -> None:
    with pytest.raises(ConfigError, match=why) as refused:
        model_file(str(unpacked(tmp_path, *names)))
    assert refused.value.name == "SAGEMAKER_BASE_DIR"


def test_gunicorn_follows_sagemakers_variables(tmp_path: Path) -> None:
    environ = {
        "SAGEMAKER_BASE_DIR": str(unpacked(tmp_path, "model.json")),
        "SAGEMAKER_BIND_TO_PORT": "9090",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "20",
    }
    command, environment = serving(settings.resolve(environ, None), environ)
    assert command[1:3] == ["-m", "gunicorn"]
    assert command[command.index("--bind") + 1] == "0.0.0.0:9090"
    assert command[command.index("--workers") + 1] == "3"
    assert command[command.index("--timeout") + 1] == "20"
    assert environment["MODEL_PATH"] == str(tmp_path / "model" / "model.json")


def test_defaults_are_sagemakers_and_a_set_model_path_is_kept() -> None:
    environ = {"MODEL_PATH": str(BUNDLED)}
    command, environment = serving(settings.resolve(environ, None), environ)
    assert command[command.index("--bind") + 1] == "0.0.0.0:8080"
    assert command[command.index("--workers") + 1] == str(os.cpu_count())
    assert command[command.index("--timeout") + 1] == "60"
    assert environment["MODEL_PATH"] == str(BUNDLED)


def test_batch_transforms_payload_is_the_limit() -> None:
    batch = settings.resolve({"SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20"}, None)
    assert batch["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024
    assert batch["MAX_ROWS"] == batch["MAX_CONTENT_LENGTH"]
    chosen = settings.resolve({"SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20", "MAX_ROWS": "50"}, None)
    assert (chosen["MAX_CONTENT_LENGTH"], chosen["MAX_ROWS"]) == (20 * 1024 * 1024, 50)
    assert settings.resolve({}, {"SAGEMAKER_BATCH": True, "MAX_CONTENT_LENGTH": 1000})["MAX_ROWS"] == 1000


def get(port: int, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
        return answer.status, answer.read()


def test_the_images_serve_command_answers_ping_and_invocations(tmp_path: Path) -> None:
    port = free_port()
    environ = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SAGEMAKER_BASE_DIR": str(unpacked(tmp_path, "model.json")),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
    }
    serve = subprocess.Popen(
        ["sh", str(ROOT / "deploy" / "sagemaker" / "serve")], cwd=ROOT, env=environ, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(port, "/ping")
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert status == 200 and b'"status":"ok"' in body
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=f"{SAMPLE}\n{SAMPLE}".encode(),
            headers={"Content-Type": "text/csv", "Accept": "text/csv"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.read() == b"0.9877870058627136,1\n0.9877870058627136,1"
    finally:
        serve.send_signal(signal.SIGTERM)  # as SageMaker stops a container
        _, errors = serve.communicate(timeout=30)
    assert serve.returncode == 0, errors.decode()
    assert b"Handling signal: term" in errors


def test_serve_stops_with_the_reason_when_the_model_is_missing(tmp_path: Path) -> None:
    environ = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SAGEMAKER_BASE_DIR": str(tmp_path)}
    done = subprocess.run(
        ["sh", str(ROOT / "deploy" / "sagemaker" / "serve")], cwd=ROOT, env=environ, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert f"SAGEMAKER_BASE_DIR: {tmp_path}/model holds no JSON file" in done.stderr.decode()
