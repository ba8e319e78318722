"""Helpers for the benchmark scripts: a gunicorn server on loopback, wrk runs, and worker memory."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the benchmarks are run as scripts from bench/, and use the app and test helpers

from tests.loopback import free_port as free_port  # noqa: E402
from tests.loopback import wait_for_port  # noqa: E402

# The service as configured by default (no rate limit: API Gateway throttles on Lambda).
BENCH_ENV: dict[str, str] = {}


@contextmanager
def server(
    command: list[str], port: int, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server command on 127.0.0.1:port until the block ends; its stderr goes to `log`, else nowhere."""
    with open(log or os.devnull, "ab") as errors:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **BENCH_ENV, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    try:
        wait_for_port(port)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def gunicorn(app: str, port: int, workers: int = 2, extra: list[str] | None = None, threads: int = 0) -> list[str]:
    """gunicorn on 127.0.0.1:port; sync workers, or gthread workers with `threads` threads each."""
    kind = ["-k", "gthread", "--threads", str(threads)] if threads else []
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *kind,
        *(extra or []),
        app,
    ]


def children(pid: int, expected: int = 1, seconds: float = 15) -> list[int]:
    """The child processes of pid, waiting until `expected` of them have started."""
    deadline = time.monotonic() + seconds
    while True:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids = [int(p) for p in out.split()]
        if len(pids) >= expected or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """The user plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wrk(
    url: str, script: Path, seconds: int, connections: int = 16, threads: int = 2, args: list[str] | None = None
) -> dict[str, Any]:
    """Run wrk with a Lua script (which prints a JSON line of status counts) and parse its report."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    if not script.is_file():
        raise FileNotFoundError(f"no wrk script at {script}: wrk would quietly send GET / instead")
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    if args:
        command += ["--", *args]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=True).stdout
    result: dict[str, Any] = {"raw": output}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(match.group(1)) if match else 0.0
    for percentile in ("50", "99"):
        found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)", output, re.M)
        if found:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
            result[f"p{percentile}_ms"] = float(found.group(1)) * scale
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    kinds = dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)) if errors else {}
    result["socket_error_kinds"] = kinds
    result["socket_errors"] = sum(kinds.values())
    status_line = next((line for line in output.splitlines() if line.startswith("STATUS ")), None)
    result["statuses"] = json.loads(status_line[len("STATUS ") :]) if status_line else {}
    return result


@contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The tree at another git revision, in a temporary worktree removed afterwards."""
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "baseline"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(folder), revision], cwd=ROOT, check=True)
        try:
            yield folder
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=True)
