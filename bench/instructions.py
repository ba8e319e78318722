"""Instructions per single-row POST / through the whole WSGI app, counted by valgrind's callgrind: the same
count whatever else the machine is doing, so small differences between versions show.

    apt-get install -y valgrind
    python bench/instructions.py                   # the bare route, the app, the app without its access line
    python bench/instructions.py --baseline REV    # and the app at another git revision

Each figure is (instructions of N requests - instructions of 0 requests) / N, in fresh processes.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from common import ROOT, checkout

REQUESTS = 200


def environ(body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "text/csv",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def wsgi_app(app_name: str, root: Path, access_log: bool) -> Any:
    sys.path.insert(0, str(root))
    if app_name == "bare":
        import bare

        return bare.app
    from app import create_app

    return create_app({"ACCESS_LOG": access_log})


def serve(app_name: str, root: Path, access_log: bool, count: int) -> None:
    """In this process: build the app from `root`, warm it up, then answer `count` requests."""
    wsgi = wsgi_app(app_name, root, access_log)
    body = b"TID008,VAWT,64,80,46.0,21,55,55,7,34,NE"  # the classic line, which every revision accepts

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        assert status.startswith("200"), status
        return lambda data: None

    for _ in range(3 + count):
        b"".join(wsgi(environ(body), start))


def counted(app_name: str, root: Path, access_log: bool, count: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--inner",
        app_name,
        str(root),
        "on" if access_log else "off",
        str(count),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    found = re.search(r"Collected : (\d+)", done.stderr)
    assert found, done.stderr[-2000:]
    return int(found.group(1))


def per_request(app_name: str, root: Path, access_log: bool) -> float:
    return (counted(app_name, root, access_log, REQUESTS) - counted(app_name, root, access_log, 0)) / REQUESTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REV", help="also count the app at this git revision")
    parser.add_argument("--inner", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        name, root, log, count = args.inner
        serve(name, Path(root), log == "on", int(count))
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is missing: apt-get install -y valgrind")
    rows = [
        ("a bare Flask route returning a constant", "bare", ROOT, False),
        ("the app", "app", ROOT, True),
        ("the app, ACCESS_LOG=off", "app", ROOT, False),
    ]
    with ExitStack() as cleanup:
        if args.baseline:
            rows.append((f"the app at {args.baseline}", "app", cleanup.enter_context(checkout(args.baseline)), True))
        print("| app | instructions per request |\n|---|---|")
        for label, name, root, log in rows:
            print(f"| {label} | {per_request(name, root, log) / 1000:.0f} k |", flush=True)


if __name__ == "__main__":
    main()
