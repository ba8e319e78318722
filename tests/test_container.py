"""SageMaker's container contract: the artifact found where SageMaker unpacks it, the gunicorn command, and the
image's `serve` entry point run as a process (no Docker engine runs here), answering /ping and /invocations; and
the seed's whole chain, API Gateway to Lambda to the SageMaker backend to this container, on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from app import config as settings
from app import create_app
from app.config import ConfigError
from app.container import model_file, serving
from tests.conftest import SAMPLE
from tests.lambda_harness import run_events
from tests.loopback import free_port
from tests.test_lambda import rest_event

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "app" / "model" / "model.json"
SERVE = ROOT / "deploy" / "container" / "serve"  # the image's entry point


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


@contextmanager
def container(base: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The image's `serve`, run as a process with the artifact in `base`/model/ and its log in `base`/serve.log;
    yields its port once /ping answers, then stops it with SIGTERM as SageMaker does."""
    port = free_port()
    environ = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(base),
        "SAGEMAKER_BASE_DIR": str(base),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
    }
    with (base / "serve.log").open("wb") as log:
        serve = subprocess.Popen(["sh", str(SERVE)], cwd=ROOT, env=environ, stderr=log)
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
        yield port, serve
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)


def test_the_images_serve_command_answers_ping_and_invocations(tmp_path: Path) -> None:
    with container(unpacked(tmp_path, "model.json")) as (port, serve):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=f"{SAMPLE}\n{SAMPLE}".encode(),
            headers={"Content-Type": "text/csv", "Accept": "text/csv"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.read() == b"0.9877870058627136,1\n0.9877870058627136,1"
    assert serve.returncode == 0
    assert b"Handling signal: term" in (tmp_path / "serve.log").read_bytes()


class InvokeEndpointShim(BaseHTTPRequestHandler):
    """SageMaker runtime's InvokeEndpoint on loopback: POST /endpoints/NAME/invocations, forwarded to the
    container's /invocations with the body and the headers InvokeEndpoint passes on."""

    container_port = 0
    endpoints: ClassVar[list[str]] = []  # the names asked for

    def do_POST(self) -> None:
        name = self.path.removeprefix("/endpoints/").removesuffix("/invocations")
        self.endpoints.append(name)
        passed = ("Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes")
        forwarded = urllib.request.Request(
            f"http://127.0.0.1:{self.container_port}/invocations",
            data=self.rfile.read(int(self.headers["Content-Length"])),
            headers={h: self.headers[h] for h in passed if self.headers[h]},
        )
        with urllib.request.urlopen(forwarded, timeout=5) as answer:
            body = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.headers["Content-Type"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_the_seeds_chain_lambda_to_the_sagemaker_backend_to_our_container(
    tmp_path: Path, prod_lambda_path: str
) -> None:
    """API Gateway event -> the prod stage's packaged Lambda handler (MODEL_BACKEND=sagemaker in its settings) ->
    botocore's sagemaker-runtime client -> the shim -> our container's /invocations, and the answer back."""
    with container(unpacked(tmp_path, "model.json")) as (port, _):
        InvokeEndpointShim.container_port = port
        shim = ThreadingHTTPServer(("127.0.0.1", 0), InvokeEndpointShim)
        threading.Thread(target=shim.serve_forever, daemon=True).start()
        try:
            event = rest_event("POST", "/", SAMPLE, {"Content-Type": "text/csv"})
            run = run_events(
                prod_lambda_path,
                [event],
                {
                    "AWS_REGION": "eu-west-1",
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{shim.server_port}",
                },
            )
        finally:
            shim.shutdown()
            shim.server_close()
    (response,) = run.responses
    assert InvokeEndpointShim.endpoints == ["turbine-status-endpoint"], (response, run.stderr[-3000:])
    assert response["statusCode"] == 200, run.stderr
    embedded = create_app({"TESTING": True}).test_client().post("/", data=SAMPLE, content_type="text/csv")
    assert (
        json.loads(response["body"])
        == embedded.get_json()
        == {"predictions": [{"score": 0.9877870058627136, "predicted_label": 1}]}
    )


def test_serve_stops_with_the_reason_when_the_model_is_missing(tmp_path: Path) -> None:
    environ = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SAGEMAKER_BASE_DIR": str(tmp_path)}
    done = subprocess.run(["sh", str(SERVE)], cwd=ROOT, env=environ, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert f"SAGEMAKER_BASE_DIR: {tmp_path}/model holds no JSON file" in done.stderr.decode()
