"""SageMaker's container contract ("use your own inference code"): the artifact SageMaker unpacked from
model.tar.gz, and the gunicorn command that `serve` runs. Free of HTTP; the flask command execs the result."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.config import ConfigError

ARTIFACT = "model.json"  # the name to give the artifact in model.tar.gz; a lone JSON file is taken too


def model_file(base_dir: str) -> Path:
    """The artifact in `base_dir`/model/; raises ConfigError naming SAGEMAKER_BASE_DIR when there is none or
    several could be meant."""
    folder = Path(base_dir) / "model"
    if (folder / ARTIFACT).is_file():
        return folder / ARTIFACT
    found = sorted(path.name for path in folder.glob("*.json")) if folder.is_dir() else []
    if len(found) == 1:
        return folder / found[0]
    held = f"holds {', '.join(found)}" if found else "holds no JSON file"
    raise ConfigError("SAGEMAKER_BASE_DIR", f"{folder} {held}: put the artifact in model.tar.gz as {ARTIFACT}")


def serving(config: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The gunicorn command line and its environment: SageMaker's port, workers (0: one per core) and timeout,
    and MODEL_PATH at the unpacked artifact unless it is set."""
    workers = config["SAGEMAKER_MODEL_SERVER_WORKERS"] or os.cpu_count() or 1
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:app.gunicorn_conf",
        "--bind",
        f"0.0.0.0:{config['SAGEMAKER_BIND_TO_PORT']}",
        "--workers",
        str(workers),
        "--timeout",
        str(config["SAGEMAKER_MODEL_SERVER_TIMEOUT"]),
        "app.wsgi:app",
    ]
    environment = dict(environ)
    if not environ.get("MODEL_PATH", "").strip() and config["MODEL_BACKEND"] == "embedded":
        environment["MODEL_PATH"] = str(model_file(config["SAGEMAKER_BASE_DIR"]))
    return command, environment
