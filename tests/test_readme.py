"""The README's shell blocks, in order, in a copy of the checkout: each is run as written, a server in the
background, every answer compared with the line the README prints under its command; or it names the test
that checks it. Ports are the one change: 5000, 5001 and 8000 become free ports on 127.0.0.1."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
RUN = "run"
# Each block by its first line (after TRAINING_SETUP), and how it is checked.
BLOCKS = {
    "pip install -r requirements.txt && flask --app app run": RUN,
    'pip install gunicorn==27.0.1 && gunicorn -w "$(nproc)" -b 0.0.0.0:8000 app.wsgi:app': RUN,
    "curl -s http://127.0.0.1:5000/ -H 'Content-Type: text/csv' \\": RUN,
    "curl -s http://127.0.0.1:5000/v1/predictions -H 'Content-Type: application/json' \\": RUN,
    "mkdir -p data && printf 'TID008,VAWT,64,80,46.0,21,55,55,7,34,NE\\nTID002,HAWT,20,25,38.0,40,20,50,2,40,SW\\n'"
    " > data/readings.csv": RUN,
    "curl -s http://127.0.0.1:5000/ -H 'Content-Type: text/csv' --data 'TID011,VAWT,64,80,hot,21,55,55,7,34,NE'": RUN,
    "bash tests/run.sh": "the CI job, .ci/run, runs this command in a fresh virtualenv",
    "export MODEL_BACKEND=sagemaker SAGEMAKER_ENDPOINT_NAME=my-turbine-endpoint AWS_REGION=eu-west-1": (
        "tests/test_models_sagemaker.py: test_check_endpoint_command (moto), test_the_region_is_taken_from_settings"
    ),
    "python3.11 -m venv .venv-deploy && . .venv-deploy/bin/activate": (
        "tests/test_deploy.py: zappa deploy, update and undeploy on moto_server; tests/test_check.py: check-url"
    ),
    "flask --app app generate-data --out data/turbines.csv --rows 20000 --seed 20261124": RUN,
    "flask --app app generate-data --example ai4i --out data/ai4i.csv --rows 10000": RUN,
    "docker build -f deploy/container/Dockerfile -t turbine-status .": (
        "tests/test_container.py: the image's serve command, run as a process (no Docker engine runs here), "
        "answers /ping and /invocations"
    ),
    "python deploy/sagemaker.py create turbine-status "
    "--image ACCOUNT.dkr.ecr.REGION.amazonaws.com/turbine-status:1 \\": (
        "tests/test_deploy_sagemaker.py: create, transform and delete on moto_server, update with botocore's Stubber"
    ),
    "export CAPTURE_URI=file://$PWD/data/capture        # 1. capture on (or s3://BUCKET/PREFIX; log: on Lambda)": (
        "tests/test_monitoring_capture.py: capture and feedback through the app; tests/test_monitoring_report.py: "
        "the monitor command on captured requests"
    ),
    "pip install -r requirements-import.txt": (
        "tests/test_importing.py: import-model on XGBoost, LightGBM and scikit-learn models the test trains, then "
        "served with MODEL_PATH"
    ),
}
TRAINING_SETUP = "pip install -r requirements-train.txt"  # the line both training blocks start with
SERVER = re.compile(r"\b(flask --app app run|gunicorn )")


def key(block: list[str]) -> str:
    return block[1] if block[0] == TRAINING_SETUP else block[0]


def readme_blocks() -> list[list[str]]:
    return [
        block.strip("\n").splitlines()
        for block in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    ]


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)


def commands(lines: list[str]) -> list[Command]:
    """A block's commands, with continuation lines joined; a line starting with { is the answer printed by the
    command above it."""
    found: list[Command] = []
    continued = False
    for line in lines:
        if continued:
            found[-1].text += "\n" + line
        elif line.startswith("{"):
            found[-1].expected.append(line)
        else:
            found.append(Command(line))
        continued = line.endswith("\\")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_block_is_run_or_names_its_test() -> None:
    assert sorted(map(key, readme_blocks())) == sorted(BLOCKS)


def same_answer(printed: str, expected: str) -> bool:
    """The line the README prints: as written, or for JSON the same document with each number within 1e-9. A
    model trained by an earlier block can differ in its last digits from machine to machine (the C library picks
    its exp and log for the processor)."""
    if printed == expected:
        return True
    try:
        return close(json.loads(printed), json.loads(expected))
    except ValueError:
        return False


def close(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(close, a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return type(a) is type(b) and a == b


class Shell:
    """Runs commands in a copy of the checkout, with servers kept in the background, one per port."""

    def __init__(self, checkout: Path) -> None:
        self.checkout = checkout
        self.ports = {"5000": free_port(), "5001": free_port(), "8000": free_port()}
        bin_dir = str(Path(sys.executable).parent)
        self.env = {k: v for k, v in os.environ.items() if k not in SETTINGS and k != "FLASK_RUN_PORT"}
        self.env.update(PATH=f"{bin_dir}:{self.env['PATH']}", FLASK_RUN_PORT=str(self.ports["5000"]))
        self.servers: dict[int, subprocess.Popen[bytes]] = {}

    def local(self, text: str) -> str:
        text = text.replace("0.0.0.0:8000", f"127.0.0.1:{self.ports['8000']}")
        text = text.replace("--port 5001", f"--port {self.ports['5001']}")
        return re.sub(r"127\.0\.0\.1:(5000|5001)", lambda m: f"127.0.0.1:{self.ports[m.group(1)]}", text)

    def run(self, command: Command) -> None:
        text = self.local(command.text)
        if SERVER.search(text):
            self.serve(text)
            return
        done = subprocess.run(["bash", "-c", text], cwd=self.checkout, env=self.env, capture_output=True, timeout=300)
        assert done.returncode == 0, (command.text, done.stderr.decode()[-2000:])
        if command.expected:
            printed = done.stdout.decode().splitlines()
            assert len(printed) == len(command.expected), command.text
            for line, expected in zip(printed, command.expected, strict=True):
                assert same_answer(line, expected), (command.text, line, expected)

    def serve(self, text: str) -> None:
        match = re.search(r"--port (\d+)|-b 127\.0\.0\.1:(\d+)", text)
        port = int(next(filter(None, match.groups()))) if match else self.ports["5000"]
        self.stop(port)
        log = self.checkout.parent / f"server-{port}.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                ["bash", "-c", text], cwd=self.checkout, env=self.env, stdout=sink, stderr=sink, start_new_session=True
            )
        self.servers[port] = server
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, (text, log.read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"{text} did not answer /ping on port {port}: {log.read_text()[-2000:]}")

    def stop(self, port: int) -> None:
        server = self.servers.pop(port, None)
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("app", "static"):
        shutil.copytree(ROOT / name, checkout / name, ignore=ignore)
    for path in ROOT.glob("requirements*.txt"):
        shutil.copy(path, checkout / path.name)
    shell = Shell(checkout)
    yield shell
    for port in list(shell.servers):
        shell.stop(port)


def test_the_blocks_run_as_written_in_order(shell: Shell) -> None:
    ran = 0
    for block in readme_blocks():
        if BLOCKS[key(block)] != RUN:
            continue
        for command in commands(block):
            shell.run(command)
            ran += 1
    assert ran >= 14
    assert (shell.checkout / "data" / "readings.csv").exists()
    assert not (ROOT / "readings.csv").exists()
