"""What the access log and the metrics cost per request, in process: the same loop of single-row POST / calls
through the whole WSGI app with a feature on and off, interleaved in one process, then compared.

    python bench/overhead.py            # well under a minute; --requests and --rounds to change the size

Three processes: this tree (access log off and on, METRICS=prometheus and emf with the access log off), this
tree with prometheus_client's multiprocess mode (which must be chosen before it is imported), and the tree
before the access line went through logging (it wrote the line straight to stderr), taken from git. Each
process times its own variants side by side; lines go to /dev/null, as a server's would to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "app" / "model" / "turbine-schema.json").read_text(encoding="utf-8"))["sample"]
# name: settings passed to create_app
NOW: dict[str, dict[str, Any]] = {
    "access log off": {"ACCESS_LOG": False},
    "access log on (logging, JSON formatter)": {"ACCESS_LOG": True},
    "METRICS=prometheus, access log off": {"ACCESS_LOG": False, "METRICS": "prometheus"},
    "METRICS=emf, access log off": {"ACCESS_LOG": False, "METRICS": "emf"},
}
MULTIPROCESS: dict[str, dict[str, Any]] = {
    "access log off": {"ACCESS_LOG": False},
    "METRICS=prometheus multiprocess, access log off": {"ACCESS_LOG": False, "METRICS": "prometheus"},
}
BEFORE: dict[str, dict[str, Any]] = {
    "access log off": {"ACCESS_LOG": False},
    "access log on (direct write to stderr)": {"ACCESS_LOG": True},
}
GROUPS = {"now": NOW, "multiprocess": MULTIPROCESS, "before": BEFORE}


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    assert status.startswith("200"), status


def measure(group: str, requests: int, rounds: int) -> dict[str, list[float]]:
    """CPU µs per request of each variant of `group`, one figure per round (run in a child process).

    The variants take turns in every round, in reversed order every other round, so a slow spell of a shared
    machine falls on all of them and the differences within a round stay fair."""
    from werkzeug.test import EnvironBuilder

    from app import create_app

    variants = GROUPS[group]
    apps = {name: create_app(settings) for name, settings in variants.items()}
    timings: dict[str, list[float]] = {name: [] for name in apps}
    errors = sys.stderr
    with open(os.devnull, "w") as null:
        for round_number in range(rounds + 1):
            order = list(apps.items())
            for name, app in order if round_number % 2 else reversed(order):
                environs = [
                    EnvironBuilder(method="POST", path="/", data=SAMPLE, content_type="text/csv").get_environ()
                    for _ in range(requests)
                ]
                sys.stderr = null
                start = time.process_time()  # this process's CPU time: a turn of another process's is not counted
                for environ in environs:
                    body: Iterable[bytes] = app.wsgi_app(environ, _start_response)  # type: ignore[arg-type]
                    for _ in body:
                        pass
                    getattr(body, "close", lambda: None)()
                elapsed = time.process_time() - start
                sys.stderr = errors
                if round_number:  # the first round warms up
                    timings[name].append(elapsed / requests * 1e6)
    return timings


def tree_before() -> Path | None:
    """The app as it was before the access line went through logging, checked out from git into a folder."""
    found = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%H", "-S", "sys.stderr.write(", "--", "app/security.py"],
        capture_output=True,
        text=True,
    )
    commit = found.stdout.strip()
    if found.returncode or not commit:
        return None
    folder = Path(tempfile.mkdtemp(prefix="turbine-status-before-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", f"{commit}^"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def run_group(
    group: str, tree: Path, requests: int, rounds: int, env: dict[str, str] | None = None
) -> dict[str, list[float]]:
    command = [sys.executable, __file__, "--measure", group, "--tree", str(tree)]
    command += ["--requests", str(requests), "--rounds", str(rounds)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=tree)
    if done.returncode:
        raise SystemExit(f"measuring {group} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--measure", choices=sorted(GROUPS), help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.tree))
        print(json.dumps(measure(args.measure, args.requests, args.rounds)))
        return

    results = {"now": run_group("now", ROOT, args.requests, args.rounds)}
    with tempfile.TemporaryDirectory() as shared:
        env = {"PROMETHEUS_MULTIPROC_DIR": shared}
        results["multiprocess"] = run_group("multiprocess", ROOT, args.requests, args.rounds, env)
    before = tree_before()
    if before:
        results["before"] = run_group("before", before, args.requests, args.rounds)
        shutil.rmtree(before)
    else:
        print("(no git history with the direct write: the comparison with it is left out)")

    print(f"single-row POST / through the whole WSGI app: CPU time, {args.rounds} rounds of {args.requests} a variant")
    print("(per request: the median of the rounds; cost: the median of each round's difference from the")
    print(" same process's 'access log off' variant, measured beside it)")
    for group, timings in results.items():
        baseline = timings["access log off"]
        for name, rounds in timings.items():
            line = f"  [{group}] {name}: {statistics.median(rounds):.1f} µs"
            if name != "access log off":
                cost = statistics.median(r - b for r, b in zip(rounds, baseline, strict=True))
                line += f", cost +{cost:.1f} µs ({cost / statistics.median(baseline):.1%})"
            print(line)


if __name__ == "__main__":
    main()
