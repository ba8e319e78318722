"""Zappa's handler run as Lambda runs it: in a fresh process whose path holds only the unzipped package and the
runtime's own boto3. Used by the Lambda tests and the cold-start benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from deploy.package import DEPLOY_VENV

RUNNER = Path(__file__).with_name("lambda_runner.py")
# What the Lambda Python runtime already provides, so the zip leaves it out.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")


def runtime_dir(target: Path, venv: Path = DEPLOY_VENV) -> Path:
    """A folder that stands for the Lambda runtime's own packages: boto3 and what it needs."""
    site = next((venv / "lib").glob("python3.*/site-packages"))
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        (target / name).symlink_to(site / name)
    return target


class LambdaRun(NamedTuple):
    responses: list[dict[str, Any]]
    cold_start: float  # seconds from process start to the first response
    durations: list[float]  # seconds in the handler, per event
    stderr: str


def run_events(python_path: str, events: list[dict[str, Any]], env: Mapping[str, str] | None = None) -> LambdaRun:
    """Feed events to Zappa's handler in a fresh process whose sys.path is only `python_path`; `env` adds to its
    environment (the function's environment variables)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": python_path,
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        **(env or {}),
    }
    start = time.perf_counter()
    # stderr goes to a file: as a pipe, a chatty handler would fill it and block while stdout is read.
    with (
        tempfile.TemporaryFile("w+") as errors,
        subprocess.Popen(
            [sys.executable, "-S", str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
            text=True,
        ) as process,
    ):
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(events))
        process.stdin.close()
        first = process.stdout.readline()
        while first and not first.startswith("RESPONSE "):
            first = process.stdout.readline()
        cold_start = time.perf_counter() - start
        lines = [first, *process.stdout.read().splitlines()]
        process.wait()
        errors.seek(0)
        stderr = errors.read()
    if process.returncode != 0:
        raise RuntimeError(f"the handler process failed: {stderr}")
    answers = [line.split(" ", 2) for line in lines if line.startswith("RESPONSE ")]
    return LambdaRun([json.loads(a[2]) for a in answers], cold_start, [float(a[1]) for a in answers], stderr)
