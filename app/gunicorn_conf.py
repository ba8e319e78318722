"""gunicorn's settings file for METRICS=prometheus with several workers (prometheus_client's multiprocess mode):

    METRICS=prometheus PROMETHEUS_MULTIPROC_DIR=/run/turbine-metrics gunicorn -c app/gunicorn_conf.py app.wsgi:app

Each worker writes its counts to files in PROMETHEUS_MULTIPROC_DIR, and /metrics sums them. gunicorn reads this
file before it starts a worker; the directory must be set before any worker imports prometheus_client, emptied
at every start (counts of an earlier run would be added in), and told when a worker exits."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from app.config import from_env

_settings = from_env(os.environ)
if _settings.get("METRICS") == "prometheus" and not _settings.get("PROMETHEUS_MULTIPROC_DIR"):
    # Without a shared directory each worker would count alone and /metrics would show one worker's share.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="turbine-status-metrics-")
elif _settings.get("METRICS") == "prometheus":
    # The folder the command names, made if missing: every worker writes its files there.
    Path(_settings["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)


def _shared_dir() -> str:
    return str(from_env(os.environ).get("PROMETHEUS_MULTIPROC_DIR", ""))


def on_starting(server: Any) -> None:
    """Before the first worker: clear what an earlier run left."""
    if _shared_dir():
        for stale in Path(_shared_dir()).glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: its counts stay, its live gauges (if any are added) go."""
    if _shared_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, _shared_dir())  # type: ignore[no-untyped-call]
