"""What a body of the worst shape costs in memory before it is refused, route by route, and what a valid
10,000-row request costs in time: each case in a fresh process through the Flask test client, no network.

    python bench/body_memory.py                         # this checkout: peak growth / body size per case
    python bench/body_memory.py --baseline DIR          # also the app in DIR (say `git archive REV | tar -x -C DIR`)
    python bench/body_memory.py --only csv-1 --rounds 5
    python bench/body_memory.py --baseline DIR --only none --instructions   # valid requests' cost by callgrind

Peak growth is tracemalloc's peak during the request less what was traced before it, over the body's bytes (the
body itself is built before); RSS growth, measured in a process of its own without tracemalloc, is the peak RSS
during the request (VmHWM, reset before it) less the RSS before it. The body's own copy in the request and its
decoded text make about 2x of either. Each CSV and JSON case is measured again at /invocations under
SAGEMAKER_BATCH, where MAX_ROWS is the byte limit. Times are medians of the requests in one process, the two
checkouts alternating process by process; with --instructions, valgrind's callgrind counts the instructions of a
valid request as (3 requests - 1 request) / 2 in fresh processes, the same however busy the machine is."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZE = 6 * 1024 * 1024 - 64  # just under the default MAX_CONTENT_LENGTH
OIP = "/v2/models/turbine-breakdown-logistic/infer"
# The bundled model's fields, and its sample reading: a CSV line, and its values as JSON gives them.
SCHEMA = json.loads((ROOT / "app" / "model" / "turbine-schema.json").read_text())
NAMES = [field["name"] for field in SCHEMA["fields"]]
CATEGORIES = {field["name"] for field in SCHEMA["fields"] if field["type"] == "category"}
SAMPLE: str = SCHEMA["sample"]
READING = [v if n in CATEGORIES else json.loads(v) for n, v in zip(NAMES, SAMPLE.split(","), strict=True)]


def repeated(head: str, item: str, tail: str) -> bytes:
    """head, then item repeated with commas between as often as fits in SIZE, then tail."""
    count = (SIZE - len(head) - len(tail)) // (len(item) + 1)
    return head.encode() + (item + ",").encode() * (count - 1) + (item + tail).encode()


def lines_of(line: str, count: int) -> bytes:
    """count lines together about SIZE bytes: line repeated (as values) to fill each."""
    values = (line + ",") * ((SIZE // count - 1) // (len(line) + 1))
    return (values[:-1] + "\n").encode() * count


def long_objects(count: int) -> bytes:
    """count reading objects, each value a string as long as makes the list about SIZE bytes."""
    length = (SIZE // count - 200) // len(NAMES)
    item = json.dumps({name: "x" * length for name in NAMES}, separators=(",", ":"))
    return ("[" + ",".join([item] * count) + "]").encode()


CSV, JSON = "text/csv", "application/json"
BODY_ROUTES = ("/", "/v1/predictions", "/invocations")
# name: (content type, routes, body)
CASES: dict[str, tuple[str, tuple[str, ...], Callable[[], bytes]]] = {
    "csv-1": (CSV, BODY_ROUTES, lambda: b"1\n" * (SIZE // 2)),
    "csv-blank": (CSV, BODY_ROUTES, lambda: b"\n" * SIZE),
    "csv-blank-crlf": (CSV, BODY_ROUTES, lambda: b"\r\n" * (SIZE // 2)),
    "csv-a,b": (CSV, BODY_ROUTES, lambda: b"a,b\n" * (SIZE // 4)),
    "csv-1,1-line": (CSV, BODY_ROUTES, lambda: repeated("", "1", "")),
    "csv-12,12-line": (CSV, BODY_ROUTES, lambda: repeated("", "12", "")),
    "csv-12,12-10000-lines": (CSV, BODY_ROUTES, lambda: lines_of("12", 10_000)),
    "csv-quoted-line": (CSV, BODY_ROUTES, lambda: repeated("", '"12"', "")),
    # As many values as MAX_ROWS readings hold, each long: what passes the count and is refused value by value.
    "csv-10000-long-values": (CSV, BODY_ROUTES, lambda: lines_of("1" * 52, 10_000)),
    "json-[{}]": (JSON, (*BODY_ROUTES, "/v1/feedback"), lambda: repeated("[", "{}", "]")),
    "json-[[]]": (JSON, BODY_ROUTES, lambda: repeated("[", "[]", "]")),
    "json-[1]": (JSON, (*BODY_ROUTES, "/v1/feedback"), lambda: repeated("[", "1", "]")),
    'json-["a"]': (JSON, BODY_ROUTES, lambda: repeated("[", '"a"', "]")),
    "json-instances": (JSON, BODY_ROUTES, lambda: repeated('{"instances":[', "{}", "]}")),
    "json-10000-long-values": (JSON, BODY_ROUTES, lambda: long_objects(10_000)),
    "json-columnar": (JSON, BODY_ROUTES, lambda: repeated('{"inputs":{"wind_speed":[', "1", "]}}")),
    "json-split-data": (
        JSON,
        BODY_ROUTES,
        lambda: repeated('{"dataframe_split":{"columns":["wind_speed"],"data":[', "[]", "]}}"),
    ),
    "json-split-index": (
        JSON,
        BODY_ROUTES,
        lambda: repeated('{"dataframe_split":{"columns":["wind_speed"],"data":[[1]],"index":[', "1", "]}}"),
    ),
    "feedback-{}": (JSON, ("/v1/feedback",), lambda: repeated('{"feedback":[', "{}", "]}")),
    "oip-data": (
        JSON,
        (OIP,),
        lambda: repeated('{"inputs":[{"name":"wind_speed","datatype":"FP64","shape":[1],"data":[', "1", "]}]}"),
    ),
    "oip-nested": (
        JSON,
        (OIP,),
        lambda: repeated('{"inputs":[{"name":"wind_speed","datatype":"FP64","shape":[1],"data":[', "[1]", "]}]}"),
    ),
    "oip-bytes": (
        JSON,
        (OIP,),
        lambda: repeated('{"inputs":[{"name":"turbine_id","datatype":"BYTES","shape":[1],"data":[', '"a"', "]}]}"),
    ),
    "oip-parameters": (JSON, (OIP,), lambda: repeated('{"parameters":{"x":[', "1", ']},"inputs":[]}')),
}


def oip_binary() -> tuple[bytes, dict[str, str]]:
    """Every field as a binary tensor, equally long, together about SIZE bytes (BYTES elements empty)."""
    count = (SIZE - 4096) // (8 * 8 + 3 * 4)  # eight FP64 inputs and three empty BYTES elements per reading
    inputs, tail = [], b""
    for name in NAMES:
        category = name in CATEGORIES
        data = struct.pack("<I", 0) * count if category else struct.pack("<d", 1.0) * count
        datatype = "BYTES" if category else "FP64"
        inputs.append(
            {"name": name, "datatype": datatype, "shape": [count], "parameters": {"binary_data_size": len(data)}}
        )
        tail += data
    header = json.dumps({"inputs": inputs}).encode()
    return header + tail, {"Inference-Header-Content-Length": str(len(header))}


def status_kib(name: str) -> int:
    """A figure of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise LookupError(name)


def reset_peak_rss() -> int:
    """Start the process's peak RSS (VmHWM) again from its current RSS, in bytes (Linux 4.0 and later)."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_kib("VmRSS") * 1024


def make_app(root: str, batch: bool = False, capture: bool = False) -> Any:
    """The app in `root`, as under Batch Transform if `batch`, with capture (which /v1/feedback needs) if `capture`."""
    sys.path.insert(0, root)
    if capture:
        folder = tempfile.mkdtemp(prefix="body-memory-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["CAPTURE_URI"] = f"file://{folder}"
    if batch:
        os.environ["SAGEMAKER_BATCH"] = "true"
    from app import create_app

    return create_app({"TESTING": True, "ACCESS_LOG": False})


def warm_up(client: Any, route: str) -> None:
    """One small request to the route, so imports and caches are in place before the measured one."""
    if route == "/v1/feedback":
        client.post(route, json={"feedback": [{"inference_id": "0" * 32, "label": 1}]})
    elif route == OIP:
        client.post(route, json={"inputs": [{"name": "wind_speed", "datatype": "FP64", "shape": [1], "data": [1]}]})
    client.post(route, data=b"1\n", content_type=CSV)
    client.post(route, data=b"[{}]", content_type=JSON)


def measure_one(root: str, case: str, route: str, batch: bool, traced: bool) -> dict[str, Any]:
    """In this process: the status and the memory growth of one worst-shape request."""
    app = make_app(root, batch, capture=route == "/v1/feedback")
    client = app.test_client()
    warm_up(client, route)
    if case == "oip-binary":
        body, headers = oip_binary()
        content_type = "application/octet-stream"
    else:
        content_type, _, build = CASES[case]
        body, headers = build(), {}
    before_rss = reset_peak_rss()
    if traced:
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
    response = client.post(route, data=body, content_type=content_type, headers=headers)
    result: dict[str, Any] = {"status": response.status_code, "bytes": len(body)}
    if traced:
        result["peak"] = tracemalloc.get_traced_memory()[1] - start
        tracemalloc.stop()
    else:
        result["rss"] = status_kib("VmHWM") * 1024 - before_rss
    result["message"] = (response.get_json(silent=True) or {}).get("message", "")[:100]
    return result


def valid_bodies() -> dict[str, tuple[str, bytes]]:
    """10,000 valid readings as CSV (lines ended by "\n", and by "\r\n") and as a JSON list of objects."""
    lines = [SAMPLE] * 10_000
    objects = json.dumps([dict(zip(NAMES, READING, strict=True))] * 10_000).encode()
    return {
        "csv": (CSV, "\n".join(lines).encode()),
        "crlf": (CSV, "\r\n".join(lines).encode()),
        "json": (JSON, objects),
    }


def post_valid(root: str, kind: str, count: int) -> None:
    """In this process: `count` valid 10,000-row requests of one kind to POST /."""
    client = make_app(root).test_client()
    content_type, body = valid_bodies()[kind]
    for _ in range(count):
        assert client.post("/", data=body, content_type=content_type).status_code == 200


def instructions(root: str, kind: str) -> int:
    """The instructions one valid request of this kind takes, by callgrind: 3 requests less 1, halved."""
    counts = []
    for requests in (1, 3):
        valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
        run = subprocess.run(
            [*valgrind, "--child", "post", root, kind, str(requests)],
            check=True,
            capture_output=True,
            text=True,
        )
        counts.append(int(re.findall(r"Collected : (\d+)", run.stderr)[-1]))
    return (counts[1] - counts[0]) // 2


def time_valid(root: str, runs: int) -> dict[str, float]:
    """In this process: the median milliseconds of a valid 10,000-row request to POST /, per body type."""
    app = make_app(root)
    client = app.test_client()
    medians = {}
    for kind, (content_type, body) in valid_bodies().items():
        times = []
        for _ in range(runs + 1):
            start = time.perf_counter()
            response = client.post("/", data=body, content_type=content_type)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.get_json()
        medians[kind] = statistics.median(times[1:])
    return medians


def child(*arguments: str) -> Any:
    """Run this script's --child mode in a fresh process; its JSON answer."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", *arguments],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    ).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="another checkout of the app, measured the same way")
    parser.add_argument("--only", nargs="*", help="case names to measure (default: all)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing processes per checkout")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per process")
    parser.add_argument("--no-rss", action="store_true", help="tracemalloc only")
    parser.add_argument("--instructions", action="store_true", help="count valid requests' instructions (valgrind)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        kind, root, *rest = arguments.child
        if kind == "time":
            print(json.dumps(time_valid(root, int(rest[0]))))
        elif kind == "post":
            post_valid(root, rest[0], int(rest[1]))
        else:
            case, route, batch = rest
            print(json.dumps(measure_one(root, case, route, batch == "batch", kind == "traced")))
        return
    roots = {"new": str(ROOT)}
    if arguments.baseline:
        roots = {"old": str(Path(arguments.baseline).resolve()), **roots}
    cases = [*CASES, "oip-binary"]
    selected = [case for case in cases if not arguments.only or case in arguments.only]
    print("case | route | body MiB | " + " | ".join(f"{name}: status, peak/body, rss/body" for name in roots))
    for case in selected:
        routes = (OIP,) if case == "oip-binary" else CASES[case][1]
        variants = [(route, "default") for route in routes]
        if "/invocations" in routes:
            variants.append(("/invocations", "batch"))
        for route, mode in variants:
            cells = []
            for root in roots.values():
                traced = child("traced", root, case, route, mode)
                size = traced["bytes"]
                rss = "-" if arguments.no_rss else f"{child('rss', root, case, route, mode)['rss'] / size:.1f}x"
                cells.append(f"{traced['status']}, {traced['peak'] / size:.1f}x, {rss}")
            where = route + (" (SAGEMAKER_BATCH)" if mode == "batch" else "")
            print(f"{case} | {where} | {size / 2**20:.2f} | " + " | ".join(cells), flush=True)
    if arguments.rounds:
        timings: dict[str, list[dict[str, float]]] = {name: [] for name in roots}
        for _ in range(arguments.rounds):
            for name, root in roots.items():
                timings[name].append(child("time", root, str(arguments.runs)))
        for kind in valid_bodies():
            cells = [
                f"{name} {statistics.median(t[kind] for t in runs):.1f} ms "
                f"({', '.join(f'{t[kind]:.1f}' for t in runs)})"
                for name, runs in timings.items()
            ]
            print(f"valid 10,000 rows, {kind}, POST /: " + "; ".join(cells))
    if arguments.instructions:
        for kind in valid_bodies():
            counts = {name: instructions(root, kind) for name, root in roots.items()}
            cells = [f"{name} {count / 1e6:.1f} M" for name, count in counts.items()]
            print(f"instructions, valid 10,000 rows, {kind}, POST /: " + "; ".join(cells))


if __name__ == "__main__":
    main()
