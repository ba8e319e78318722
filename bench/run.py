"""All benchmarks in one run, on 127.0.0.1, bounded in time; prints a Markdown table for bench/README.md.

    apt-get install -y wrk && pip install -r requirements-dev.txt -r bench/requirements.txt
    python bench/run.py                     # about 20 minutes; --quick for a short smoke run, --only N for sections

Figures are ratios and medians measured side by side in this one run: timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import functools
import http.client
import importlib.util
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from common import ROOT, checkout, children, cpu_seconds, free_port, gunicorn, rss_mb, server, wrk

from app.core.schemas import turbine_schema
from app.core.validation import validate_rows
from deploy.package import add_bytecode, build, ensure_venv
from tests.conftest import read_body, read_csv
from tests.lambda_harness import run_events, runtime_dir

REQUESTS = ROOT / "bench" / "requests.lua"
MLFLOW_VENV = ROOT / ".venv-mlflow"
# gthread keeps each connection on the worker that accepted it, and now and then one worker accepts all
# 16: such a round measures one worker, not the server, so it is measured again on a fresh server.
UNBALANCED = 0.5  # the idler worker used less than half the busier one's CPU
BALANCE_ATTEMPTS = 4
rows_out: list[tuple[str, str, str, str]] = []


def record(what: str, measured: str, target: str, verdict: str) -> None:
    rows_out.append((what, measured, target, verdict))
    print(f"  {what}: {measured} (target {target}: {verdict})", flush=True)


class Served(NamedTuple):
    """A WSGI app to measure: its name in the report, its import path, the checkout it is imported from, and its
    settings."""

    label: str
    app: str
    root: Path = ROOT
    settings: tuple[tuple[str, str], ...] = ()  # environment variables


def served_env(served: Served) -> dict[str, str]:
    # The app's checkout, and the bench's own apps.
    return {"PYTHONPATH": f"{served.root}:{ROOT / 'bench'}", **dict(served.settings)}


def server_command(name: str, served: Served, port: int) -> list[str]:
    """The same settings for every app: 2 worker processes on loopback, importing from the app's checkout."""
    places = ["--chdir", str(served.root), "--pythonpath", str(ROOT / "bench")]
    app = served.app
    if name == "gunicorn":
        return gunicorn(app, port, 2, places)
    if name == "gunicorn-gthread":
        return gunicorn(app, port, 2, places, threads=4)
    if name == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--working-dir",
            str(served.root),
            app,
        ]
    raise ValueError(name)


def one_round(name: str, served: Served, seconds: int) -> tuple[dict[str, Any], list[float], list[float]]:
    """wrk against a fresh server after a 2 s warm-up: its report, each worker's CPU seconds during the run,
    and each worker's resident MB after it."""
    port = free_port()
    with server(server_command(name, served, port), port, served_env(served)) as master:
        url = f"http://127.0.0.1:{port}"
        wrk(url, REQUESTS, 2)
        workers = children(master.pid, 2)
        before = list(map(cpu_seconds, workers))
        result = wrk(url, REQUESTS, seconds)
        used = [cpu_seconds(pid) - start for pid, start in zip(workers, before, strict=True)]
        return result, used, [rss_mb(pid) for pid in workers]


BARE, APP = Served("bare", "bare:app"), Served("app", "app.wsgi:app")


def throughput(servers: list[str], rounds: int, seconds: int, baseline: Served | None) -> None:
    print("1. single-row POST / against a bare Flask route, interleaved rounds", flush=True)
    apps = [BARE, APP, *([baseline] if baseline else [])]
    for name in servers:
        results: dict[str, list[dict[str, Any]]] = {served.label: [] for served in apps}
        memory: list[float] = []
        cpu: dict[str, list[float]] = {served.label: [] for served in apps}  # worker CPU µs per answer
        balance: list[float] = []  # the idler worker's CPU over the busier one's, per kept round
        lopsided = 0  # rounds measured again because one worker took (nearly) every connection
        for _ in range(rounds):
            for served in apps:
                for attempt in range(BALANCE_ATTEMPTS):
                    lopsided += attempt > 0
                    result, used, workers_rss = one_round(name, served, seconds)
                    if min(used) >= UNBALANCED * max(used):
                        break
                answered = sum(dict(result["statuses"]).values())
                cpu[served.label].append(sum(used) / max(answered, 1) * 1e6)
                balance.append(min(used) / max(max(used), 1e-9))
                results[served.label].append(result)
                if name == "gunicorn" and served is APP:
                    memory += workers_rss
        rps = {label: statistics.median(float(r["rps"]) for r in rs) for label, rs in results.items()}
        ours = results["app"]
        p50 = statistics.median(float(r.get("p50_ms", 0)) for r in ours)
        p99 = statistics.median(float(r.get("p99_ms", 0)) for r in ours)
        errors = sum(int(r["socket_errors"]) for r in ours)
        non_200 = sum(c for r in ours for s, c in dict(r["statuses"]).items() if s != "200")
        ratio = rps["app"] / rps["bare"]
        record(
            f"single row, {name}: app vs bare route",
            f"{rps['app']:.0f} vs {rps['bare']:.0f} req/s = {ratio:.2f}; p50 {p50:.2f} ms, "
            f"p99 {p99:.2f} ms; {errors} socket errors, {non_200} non-200",
            ">= 0.75" if name == "gunicorn" else "-",
            ("met" if ratio >= 0.75 else "missed") if name == "gunicorn" else "-",
        )
        if baseline:
            kept = rps["app"] / rps[baseline.label]
            record(
                f"single row, {name}: app vs {baseline.label}",
                f"{rps['app']:.0f} vs {rps[baseline.label]:.0f} req/s = {kept:.2f}",
                ">= 0.90",
                "met" if kept >= 0.9 else "missed",
            )
        record(
            f"worker CPU per answer, {name}: " + " / ".join(cpu),
            " / ".join(f"{statistics.median(values):.0f} µs" for values in cpu.values())
            + f"; idler worker's share of the busier one's CPU: {min(balance):.2f} to {max(balance):.2f}"
            + f"; rounds measured again as one worker took the connections: {lopsided}",
            "-",
            "-",
        )
        if memory:
            record(
                "worker RSS after load (gunicorn)",
                f"{max(memory):.1f} MB",
                "<= 40 MB",
                "met" if max(memory) <= 40 else "missed",
            )


def ten_thousand_rows(repeats: int, baseline: Served | None) -> None:
    print("2. one POST / of 10,000 CSV rows", flush=True)
    from app.training.data import turbine_dataset

    body = "\n".join(map(",".join, turbine_dataset(10_000, 1).rows)).encode()
    apps = [APP, *([baseline] if baseline else [])]
    with ExitStack() as running:
        ports = {}
        for served in apps:
            ports[served.label] = free_port()
            command = server_command("gunicorn", served, ports[served.label])
            running.enter_context(server(command, ports[served.label], served_env(served)))
        times: dict[str, list[float]] = {served.label: [] for served in apps}
        for _ in range(repeats):  # interleaved, so a slow spell of the machine hits both
            for label, port in ports.items():
                times[label].append(post_once(port, "/", body))
    median_ms = {label: statistics.median(values[2:]) * 1000 for label, values in times.items()}
    record(
        "10,000 rows in one POST / (gunicorn, over HTTP)",
        f"{median_ms['app']:.1f} ms ({10_000 / median_ms['app'] * 1000:,.0f} rows/s)",
        "<= 25 ms",
        "met" if median_ms["app"] <= 25 else "missed",
    )
    if baseline:
        ratio = median_ms["app"] / median_ms[baseline.label]
        record(
            f"10,000 rows: app vs {baseline.label}",
            f"{median_ms['app']:.1f} vs {median_ms[baseline.label]:.1f} ms = {ratio:.2f}",
            "<= 1.10",
            "met" if ratio <= 1.1 else "missed",
        )
    profile_batch(body, repeats)


def post_once(port: int, path: str, body: bytes, accept: str = "application/json") -> float:
    """Seconds for one POST of a CSV body on a new connection; the answer must be a 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    connection.request("POST", path, body, {"Content-Type": "text/csv", "Accept": accept})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    assert response.status == 200, response.status
    return elapsed


def profile_batch(body: bytes, repeats: int) -> None:
    """Where the time of a 10,000-row request goes, in process: each stage timed, then a profile."""
    from app import create_app
    from app.codecs.classic import body as classic_body
    from app.web.errors import json_response

    app = create_app({"ACCESS_LOG": False})  # keep the report readable
    client, backend = app.test_client(), app.extensions["dataplane"].models.default
    readings = read_body(body, "text/csv", None, 10_000)
    predictions = backend.predict(readings)
    stages: dict[str, Callable[[], object]] = {
        "parse and validate": lambda: read_body(body, "text/csv", None, 10_000),
        "score": lambda: backend.predict(readings),
        "format the answer": lambda: json_response(classic_body(predictions)),
        "whole request, Flask test client": lambda: client.post("/", data=body, content_type="text/csv"),
    }
    numeric = [i for i, field in enumerate(turbine_schema().fields) if not field.categories]

    def floor() -> object:
        """The fastest reading found of the same body: the csv module, then one orjson call per numeric column."""
        columns = list(zip(*csv.reader(body.decode().splitlines()), strict=True))
        return [orjson.loads("[" + ",".join(columns[i]) + "]") for i in numeric]

    stages = {"floor: csv.reader, one orjson.loads per numeric column": floor, **stages}
    print("  in process, median of", repeats, "runs, interleaved:")
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(repeats):
        for name, stage in stages.items():
            start = time.perf_counter()
            stage()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, median in medians.items():
        print(f"    {name}: {median:.1f} ms")
    ratio = medians["parse and validate"] / medians[next(iter(stages))]
    record(
        "10,000 rows in process: parse and validate vs the floor",
        f"{medians['parse and validate']:.1f} vs {medians[next(iter(stages))]:.1f} ms = {ratio:.2f}",
        "<= 1.5",
        "met" if ratio <= 1.5 else "missed",
    )
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        client.post("/", data=body, content_type="text/csv")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(8)
    print("  profile of 5 requests (top own time):")
    for line in out.getvalue().splitlines():
        if line.strip() and ("/" in line or "{" in line) and "ncalls" not in line:
            print("   ", line.strip()[:140])


def lambda_package(runs: int) -> None:
    print("3. Lambda: package size, cold start, warm latency", flush=True)
    venv = ensure_venv()
    with tempfile.TemporaryDirectory() as work:
        package = build("dev", Path(work) / "package.zip", venv)
        size = package.stat().st_size / 1e6
        record("Lambda zip (with bytecode)", f"{size:.2f} MB", "<= 10 MB", "met" if size <= 10 else "missed")
        runtime = runtime_dir(Path(work) / "runtime", venv)
        with_code, without_code = Path(work) / "with", Path(work) / "without"
        with zipfile.ZipFile(package) as z:
            z.extractall(with_code)
            z.extractall(without_code, [n for n in z.namelist() if "__pycache__/" not in f"/{n}"])
        event = {
            "httpMethod": "POST",
            "path": "/",
            "headers": {"Content-Type": "text/csv", "Host": "x"},
            "body": turbine_schema().sample,
            "requestContext": {"stage": "dev", "requestId": "r"},
            "isBase64Encoded": False,
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
        }
        one_route = Path(work) / "one-route"
        with zipfile.ZipFile(one_route_package(package, Path(work))) as z:
            z.extractall(one_route)
        colds: dict[Path, list[float]] = {with_code: [], one_route: [], without_code: []}
        for _ in range(runs):  # interleaved, so a slow spell of the machine falls on each alike
            for code in colds:
                colds[code].append(cold_start(code, runtime, [event])[0])
        app_ms, one_ms, plain_ms = (statistics.median(colds[code]) * 1000 for code in colds)
        record(
            "cold start, fresh process: the app / the one-route app, same package",
            f"{app_ms:.0f} / {one_ms:.0f} ms = {app_ms / one_ms:.2f} (medians of {runs})",
            "<= 1.15",
            "met" if app_ms / one_ms <= 1.15 else "missed",
        )
        record("cold start, fresh process, without bytecode (Zappa's own zip)", f"{plain_ms:.0f} ms", "-", "-")
        _, warm = cold_start(with_code, runtime, [event] * 300)
        record("warm per-event latency through Zappa's handler", f"{warm * 1000:.2f} ms (median of 299)", "-", "-")


def one_route_package(package: Path, work: Path) -> Path:
    """The reference: the same package with its handler pointed at a one-route Flask app (bench/bare.py), its
    bytecode compiled the same way."""
    plain, out = work / "one-route.plain.zip", work / "one-route.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(plain, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "zappa_settings.py":
                data = data.replace(b"APP_MODULE='app.wsgi'", b"APP_MODULE='one_route'")
            target.writestr(info, data)
        target.write(ROOT / "bench" / "bare.py", "one_route.py")
    add_bytecode(plain, out)
    return out


def cold_start(code: Path, runtime: Path, events: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds from process start to the first response, and the median handler time of the later events."""
    run = run_events(f"{code}:{runtime}", events)
    assert run.responses[0]["statusCode"] == 200, run.responses[0]
    return run.cold_start, statistics.median(run.durations[1:]) if len(events) > 1 else 0.0


def mlflow_peer(servers: list[str], rounds: int, seconds: int, repeats: int) -> None:
    print("4. the peer: MLflow's scoring server with the same scikit-learn pipeline", flush=True)
    from app.training import DEFAULT_SEED
    from app.training.data import turbine_dataset
    from app.training.fit import train

    python = mlflow_python()
    import pickle

    schema = turbine_schema()
    _, pipeline = train(turbine_dataset(20_000, DEFAULT_SEED), schema, "breakdown", DEFAULT_SEED, "bench", "bench", "1")
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "pipeline.pkl").write_bytes(pickle.dumps(pipeline))
        model = Path(work) / "model"
        subprocess.run(
            [
                str(python),
                "-c",
                "import pickle,sys,mlflow.sklearn; mlflow.sklearn.save_model("
                "pickle.load(open(sys.argv[1],'rb')), sys.argv[2])",
                str(Path(work) / "pipeline.pkl"),
                str(model),
            ],
            check=True,
            capture_output=True,
        )
        header = ",".join(schema.names)
        batch = "\n".join(map(",".join, turbine_dataset(10_000, 1).rows))
        port = free_port()
        with ExitStack() as running:
            running.enter_context(mlflow_serving(model, port))
            ports = {"mlflow": port}
            for name in servers:  # ours under each server, all started now and idle between turns
                ports[name] = free_port()
                ours = server_command(name, APP, ports[name])
                running.enter_context(server(ours, ports[name], served_env(APP)))
            mode = {"mlflow": ["mlflow"]}
            for name, at in ports.items():
                wrk(f"http://127.0.0.1:{at}", REQUESTS, 2, args=mode.get(name))
            single: dict[str, list[float]] = {name: [] for name in ports}
            for _ in range(rounds):  # interleaved, so a slow spell of the machine hits both sides
                for name, at in ports.items():
                    result = wrk(f"http://127.0.0.1:{at}", REQUESTS, seconds, args=mode.get(name))
                    failed = result["socket_errors"] + sum(c for s, c in result["statuses"].items() if s != "200")
                    if failed:
                        raise SystemExit(f"{name}: {failed} failed requests in a round:\n{result['raw']}")
                    single[name].append(float(result["rps"]))
            peer_batch = post_median(port, "/invocations", f"{header}\n{batch}".encode(), repeats)
            ours_batch = post_median(ports["gunicorn"], "/", batch.encode(), repeats)
    peer_single = statistics.median(single["mlflow"])
    for name in servers:
        ours_single = statistics.median(single[name])
        ratio = ours_single / peer_single
        record(
            f"single row, {name} vs MLflow 3.17 serve (2 workers each)",
            f"{ours_single:.0f} vs {peer_single:.0f} req/s = {ratio:.1f}x (rounds: ours {listed(single[name])}; "
            f"MLflow's {listed(single['mlflow'])})",
            ">= 20x",
            "met" if ratio >= 20 else "missed",
        )
    ratio = peer_batch / ours_batch
    record(
        "10,000 rows vs MLflow (gunicorn)",
        f"{ours_batch * 1000:.1f} vs {peer_batch * 1000:.1f} ms = {ratio:.2f}x",
        ">= 1x",
        "met" if ratio >= 1 else "missed",
    )


def mlflow_python() -> Path:
    """The MLflow virtualenv's Python, made and filled on first use."""
    python = MLFLOW_VENV / "bin" / "python"
    wanted = ["mlflow==3.17.0", "scikit-learn==1.9.1", "xgboost-cpu==3.2.0"]
    if not (MLFLOW_VENV / "bin" / "mlflow").exists():  # also after an install that failed half-way
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"installing MLflow failed:\n{done.stderr}")
    return python


def path_with(directory: Path) -> str:
    """PATH with `directory` first."""
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"


@contextmanager
def mlflow_serving(model: Path, port: int) -> Iterator[None]:
    """MLflow's scoring server for a saved model, 2 workers on loopback, ready when the block starts."""
    command = [str(MLFLOW_VENV / "bin" / "mlflow"), "models", "serve", "-m", str(model), "--env-manager", "local"]
    command += ["-h", "127.0.0.1", "-p", str(port), "-w", "2"]
    with server(command, port, {"PATH": path_with(MLFLOW_VENV / "bin")}):
        wait_ready(port)
        yield


def listed(rates: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in rates)


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the MLflow server did not become ready")


def post_median(port: int, path: str, body: bytes, repeats: int, accept: str = "application/json") -> float:
    return statistics.median(post_once(port, path, body, accept) for _ in range(repeats))


def container_start() -> float:
    """Seconds from starting the image's serve command (as a process: no Docker engine here) with the bundled
    model in SAGEMAKER_BASE_DIR until /ping answers 200."""
    with tempfile.TemporaryDirectory() as base:
        (Path(base) / "model").mkdir()
        (Path(base) / "model" / "model.json").write_bytes((ROOT / "app" / "model" / "model.json").read_bytes())
        port = free_port()
        settings = {
            "SAGEMAKER_BASE_DIR": base,
            "SAGEMAKER_BIND_TO_PORT": str(port),
            "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
            # the image's `python`: this one, though the bench was started without its virtualenv on PATH
            "PATH": path_with(Path(sys.executable).parent),
        }
        start = time.perf_counter()
        with server(["sh", str(ROOT / "deploy" / "container" / "serve")], port, settings):
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", "/ping")
                    if connection.getresponse().status == 200:
                        return time.perf_counter() - start
                except OSError:
                    time.sleep(0.02)
                finally:
                    connection.close()


def protocols(rounds: int, seconds: int, repeats: int) -> None:
    print("6. the same app as a SageMaker container and an Open Inference Protocol server (gunicorn)", flush=True)
    from app.training.data import turbine_dataset

    port = free_port()
    modes = ("classic", "invocations", "oip")  # requests.lua: the sample to /, /invocations, /v2/.../infer
    rps: dict[str, list[float]] = {mode: [] for mode in modes}
    batch = "\n".join(map(",".join, turbine_dataset(10_000, 1).rows)).encode()
    with server(server_command("gunicorn", APP, port), port, served_env(APP)):
        url = f"http://127.0.0.1:{port}"
        for mode in modes:
            wrk(url, REQUESTS, 2, args=[mode])
        for turn in range(rounds):  # interleaved, in turn forwards and backwards: a drift hits every route alike
            for mode in modes if turn % 2 == 0 else modes[::-1]:
                result = wrk(url, REQUESTS, seconds, args=[mode])
                failed = result["socket_errors"] + sum(c for s, c in result["statuses"].items() if s != "200")
                if failed:
                    raise SystemExit(f"{mode}: {failed} failed requests in a round:\n{result['raw']}")
                rps[mode].append(float(result["rps"]))
        classic = post_median(port, "/", batch, repeats)
        lines = post_median(port, "/invocations", batch, repeats, accept="text/csv")
    single = {mode: statistics.median(rates) for mode, rates in rps.items()}
    for mode, what, goal in (("oip", "/v2/models/NAME/infer", 0.8), ("invocations", "/invocations", 0.95)):
        ratio = single[mode] / single["classic"]
        record(
            f"single row, {what} vs POST /",
            f"{single[mode]:.0f} vs {single['classic']:.0f} req/s = {ratio:.2f} (rounds: {listed(rps[mode])}; "
            f"POST /: {listed(rps['classic'])})",
            f">= {goal}",
            "met" if ratio >= goal else "missed",
        )
    starts = [container_start() for _ in range(3)]
    record(
        "the container's serve: process start to the first 200 from /ping (2 workers)",
        f"{statistics.median(starts):.2f} s (median of 3: {', '.join(f'{start:.2f}' for start in starts)})",
        "<= 2 s",
        "met" if statistics.median(starts) <= 2 else "missed",
    )
    record(
        "Batch Transform's request: 10,000 lines to /invocations, answered as CSV lines",
        f"{lines * 1000:.0f} ms (POST / with the JSON answer: {classic * 1000:.0f} ms)",
        "-",
        "-",
    )


def capture(rounds: int, seconds: int, repeats: int) -> None:
    print("7. capture on (file sink) against off, and what the log line costs a request on Lambda", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        on = Served("capture on", "app.wsgi:app", settings=(("CAPTURE_URI", f"file://{folder}"),))
        rps: dict[str, list[float]] = {"off": [], "on": []}
        answered = 0
        for turn in range(rounds):  # interleaved, in turn forwards and backwards
            for label, served in (("off", APP), ("on", on)) if turn % 2 == 0 else (("on", on), ("off", APP)):
                result, _, _ = one_round("gunicorn", served, seconds)
                failed = result["socket_errors"] + sum(c for s, c in result["statuses"].items() if s != "200")
                if failed:
                    raise SystemExit(f"capture {label}: {failed} failed requests in a round:\n{result['raw']}")
                rps[label].append(float(result["rps"]))
                if label == "on":
                    answered += sum(dict(result["statuses"]).values())
        captured = sum(len(p.read_bytes().splitlines()) for p in Path(folder).rglob("*.jsonl"))
    ratio = statistics.median(rps["on"]) / statistics.median(rps["off"])
    record(
        "single row, gunicorn: capture on (file sink) vs off",
        f"{statistics.median(rps['on']):.0f} vs {statistics.median(rps['off']):.0f} req/s = {ratio:.2f} (rounds on: "
        f"{listed(rps['on'])}; off: {listed(rps['off'])}); {captured} records for {answered} answers of the timed "
        "runs and their warm-ups",
        ">= 0.9",
        "met" if ratio >= 0.9 else "missed",
    )
    # Lambda's path: the record is formatted and written to standard output as the request ends.
    from app import create_app

    body = turbine_schema().sample.encode()
    posts: dict[str, Callable[[], object]] = {}
    for label, uri in (("off", ""), ("log:", "log:")):
        client = create_app({"CAPTURE_URI": uri, "ACCESS_LOG": False}).test_client()
        posts[label] = functools.partial(client.post, "/", data=body, content_type="text/csv")
    times: dict[str, list[float]] = {label: [] for label in posts}
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for turn in range(200 + repeats * 50):  # the two apps in turn, so that neither runs on a warmer machine
            for label, post in posts.items():
                took = timed(post)
                if turn >= 200:
                    times[label].append(took)
    costs = {label: statistics.median(found) for label, found in times.items()}
    record(
        "one request in process, CAPTURE_URI=log: (Lambda's) vs off",
        f"{costs['log:'] * 1e6:.0f} vs {costs['off'] * 1e6:.0f} µs: {(costs['log:'] - costs['off']) * 1e6:+.0f} µs "
        f"per request (medians of {repeats * 50}, in turn)",
        "-",
        "-",
    )


def write_capture(folder: Path, rows: int) -> None:
    """`rows` single-reading capture records over a day, as the capture code writes them, with ground truth for one
    in ten: 10,000 readings from the training distribution, scored once by the bundled model, then repeated."""
    import uuid

    from app.models.artifact import DEFAULT_MODEL_PATH
    from app.models.embedded import EmbeddedModel
    from app.monitoring.capture import GroundTruth, Scored, capture_record, ground_truth_record
    from app.training.data import turbine_dataset

    pool = read_csv("\n".join(",".join(row) for row in turbine_dataset(10_000, 99).rows), 10_000)
    answers = EmbeddedModel.from_file(DEFAULT_MODEL_PATH).predict(pool)
    assert answers.labels is not None
    start = time.time() - 86_400
    with (folder / "capture.jsonl").open("wb") as out, (folder / "truth.jsonl").open("wb") as truth:
        for k in range(rows):
            n, ident, at = k % len(pool), str(uuid.uuid4()), start + k * 86_400 / rows
            scored = Scored(ident, at, [[value] for value in pool[n]], [answers.scores[n]], [answers.labels[n]])
            out.write(orjson.dumps(capture_record(scored)) + b"\n")
            if k % 10 == 0:
                truth.write(orjson.dumps(ground_truth_record(GroundTruth(ident, 1, answers.labels[n], at))) + b"\n")


def report_scale(quick: bool) -> None:
    print("8. the drift report over captured rows: time and peak memory as the rows grow", flush=True)
    code = (
        "import sys\n"
        "from flask.cli import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"  # VmHWM, not ru_maxrss: that one keeps the forking parent's peak across exec
        "    peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM:')][0].split()[1]\n"
        "    print('peak', peak, file=sys.stderr)\n"
    )
    found = {}
    for rows in (20_000, 200_000) if quick else (100_000, 1_000_000):
        with tempfile.TemporaryDirectory() as folder:
            write_capture(Path(folder), rows)
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", code, "--app", "app", "monitor", "--capture", folder, "--out", f"{folder}/out"],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            took = time.perf_counter() - started
            if done.returncode not in (0, 3):
                raise SystemExit(f"monitor over {rows} rows failed:\n{done.stdout}{done.stderr}")
            peak = int(done.stderr.rsplit("peak ", 1)[1]) / 1024
            found[rows] = (took, peak)
            print(f"   {rows:,} rows: {took:.1f} s, peak RSS {peak:.0f} MB", flush=True)
    (small, (small_s, small_mb)), (large, (large_s, large_mb)) = sorted(found.items())
    record(
        f"report over {large:,} captured rows (one per record, a tenth with ground truth)",
        f"{large_s:.1f} s ({small:,} rows: {small_s:.1f} s)",
        "<= 60 s",
        "met" if large_s <= 60 else "missed",
    )
    record(
        f"report's peak memory, {small:,} against {large:,} rows",
        f"{small_mb:.0f} vs {large_mb:.0f} MB = {large_mb / small_mb:.2f}",
        "flat",
        "-",
    )


def xgboost_model(out: Path) -> Path:
    """A 300-tree, depth-6 XGBoost model on the synthetic turbine data, imported into an artifact at `out`."""
    import numpy as np
    import xgboost
    from click.testing import CliRunner

    from app.importing.commands import import_model_command
    from app.training import DEFAULT_SEED
    from app.training.data import turbine_dataset

    schema = turbine_schema()
    data = turbine_dataset(20_000, DEFAULT_SEED)
    fields = schema.fields
    codes = [
        [f.categories.index(v) if f.categories else float(v) for f, v in zip(fields, row, strict=True)]
        for row in data.rows
    ]
    matrix = xgboost.DMatrix(
        np.array(codes),
        data.labels,
        feature_names=list(schema.names),
        feature_types=["c" if f.categories else "q" for f in schema.fields],
        enable_categorical=True,
    )
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist", "seed": 1}
    booster = xgboost.train({**params, "max_cat_to_onehot": 1}, matrix, num_boost_round=300)
    model, schema_file = out.with_suffix(".xgb.json"), out.with_suffix(".schema.json")
    booster.save_model(str(model))
    schema_file.write_text(json.dumps(schema.to_dict()))
    args = [str(model), "--schema", str(schema_file), "--out", str(out), "--name", "bench-xgboost", "--version", "1"]
    result = CliRunner().invoke(import_model_command, args)
    assert result.exit_code == 0, result.output
    return out


def load_ms(artifact: Path, native: bool) -> float:
    """Median of 7 fresh processes: reading and validating the artifact (and, native, building the ONNX session).
    The tree scorer's module is imported in that time, from bytecode as the Lambda package ships it: a first,
    untimed run writes the bytecode (with PYTHONDONTWRITEBYTECODE set and none written yet, each run compiled it)."""
    code = (
        "import time; from app.models.embedded import EmbeddedModel as B; t = time.perf_counter(); "
        f"B.from_file({str(artifact)!r}, native={native}); print(time.perf_counter() - t)"
    )
    command = [sys.executable, "-c", code]
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPYCACHEPREFIX": cache}
        runs = [
            float(subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout)
            for _ in range(8)
        ]
    return statistics.median(runs[1:]) * 1000


def zipped_mb(packages: list[str]) -> float:
    """What these installed packages would add to a zip, deflated as Zappa's is."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in packages:
            spec = importlib.util.find_spec(name)
            assert spec and spec.origin, name
            top = Path(spec.origin).parent
            for path in top.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(top.parent))
    return out.tell() / 1e6


def imported_trees(rounds: int, seconds: int, repeats: int) -> None:
    print("5. an imported XGBoost model: 300 trees of depth 6 on the turbine fields, scored in pure Python", flush=True)
    from app.models.embedded import EmbeddedModel
    from app.training import DEFAULT_SEED
    from app.training.data import turbine_dataset

    with tempfile.TemporaryDirectory() as work:
        artifact = xgboost_model(Path(work) / "xgboost.json")
        record("artifact size, 300 trees", f"{artifact.stat().st_size / 1e6:.2f} MB", "-", "-")
        load = load_ms(artifact, native=False)
        verdict = "met" if load <= 50 else "missed"
        record("artifact read and validated, fresh process", f"{load:.0f} ms (median of 7)", "<= 50 ms", verdict)
        backend = EmbeddedModel.from_file(artifact)
        rows = list(validate_rows(backend.schema, turbine_dataset(10_000, DEFAULT_SEED + 1).rows, range(10_000)))
        one = statistics.median(timed(lambda: backend.predict(rows[:1])) for _ in range(200)) * 1000
        batch = statistics.median(timed(lambda: backend.predict(rows)) for _ in range(3))
        first = timed(lambda: backend.predict(rows[:1], explain=True)) * 1000  # builds the leaves' paths and tables
        explained = (
            statistics.median(timed(functools.partial(backend.predict, [row], explain=True)) for row in rows[1:6])
            * 1000
        )
        record("one row in process", f"{one:.3f} ms (median of 200)", "-", "-")
        record(
            "10,000 rows in process",
            f"{batch * 1000:.0f} ms: {batch / 300 / 10_000 * 1e9:.0f} ns per tree and row",
            "-",
            "-",
        )
        verdict = "met" if explained <= 50 else "missed"
        record(
            "one explained row (exact TreeSHAP)",
            f"{explained:.0f} ms (median of 5 rows; the first, which builds the paths and tables: {first:.0f} ms)",
            "<= 50 ms",
            verdict,
        )
        native_trees(artifact, rows, backend.predict(rows).scores, load, repeats)
        trees = Served("xgboost", "app.wsgi:app", settings=(("MODEL_PATH", str(artifact)),))
        rps: dict[str, list[float]] = {APP.label: [], trees.label: []}
        for _ in range(rounds):
            for served in (APP, trees):
                result, _, _ = one_round("gunicorn", served, seconds)
                rps[served.label].append(float(result["rps"]))
        ours, linear = statistics.median(rps[trees.label]), statistics.median(rps[APP.label])
        record(
            "single row, gunicorn: 300 trees vs the logistic model",
            f"{ours:.0f} vs {linear:.0f} req/s = {ours / linear:.2f}",
            ">= 0.70",
            "met" if ours / linear >= 0.7 else "missed",
        )


def native_trees(artifact: Path, rows: Any, walked: list[float], load: float, repeats: int) -> None:
    """The optional native scorer (TREES_NATIVE=on) against MLflow serving the same booster, over HTTP; `walked`
    and `load` are the pure-Python scores of `rows` and load time."""
    from app.models.embedded import EmbeddedModel

    backend = EmbeddedModel.from_file(artifact, native=True)
    scores = backend.predict(rows).scores
    batch = statistics.median(timed(lambda: backend.predict(rows)) for _ in range(7)) * 1000
    apart = max(abs(a - b) for a, b in zip(scores, walked, strict=True))
    record(
        "10,000 rows in process, TREES_NATIVE=on", f"{batch:.0f} ms (largest score difference {apart:.1e})", "-", "-"
    )
    added = load_ms(artifact, native=True) - load
    size = zipped_mb(["onnxruntime", "onnx", "numpy", "google.protobuf"])
    record(
        "what TREES_NATIVE=on adds",
        f"{size:.0f} MB zipped (onnxruntime, onnx, numpy, protobuf); load +{added:.0f} ms",
        "-",
        "-",
    )
    python = mlflow_python()
    names = backend.schema.names
    body = "\n".join(",".join(map(str, row)) for row in rows)
    with tempfile.TemporaryDirectory() as work:
        model = Path(work) / "mlflow-xgboost"
        saver = [str(python), str(ROOT / "bench" / "mlflow_trees.py")]
        subprocess.run(
            [*saver, str(artifact.with_suffix(".xgb.json")), str(artifact.with_suffix(".schema.json")), str(model)],
            check=True,
            capture_output=True,
        )
        ports = {"mlflow": free_port(), "ours": free_port()}
        ours = Served("native trees", "app.wsgi:app", settings=(("MODEL_PATH", str(artifact)), ("TREES_NATIVE", "on")))
        with (
            mlflow_serving(model, ports["mlflow"]),
            server(server_command("gunicorn", ours, ports["ours"]), ports["ours"], served_env(ours)),
        ):
            peers, mine_rounds = [], []
            theirs, ours_body = f"{','.join(names)}\n{body}".encode(), body.encode()
            for _ in range(5):  # interleaved: either server's time moves by a tenth from minute to minute here
                peers.append(post_median(ports["mlflow"], "/invocations", theirs, max(1, repeats // 5)))
                mine_rounds.append(post_median(ports["ours"], "/", ours_body, max(1, repeats // 5)))
            peer, mine = statistics.median(peers), statistics.median(mine_rounds)
    record(
        "10,000 rows over HTTP, TREES_NATIVE=on vs MLflow serving the same XGBoost booster (gunicorn, 2 workers each)",
        f"{mine * 1000:.0f} vs {peer * 1000:.0f} ms = {peer / mine:.2f}x (medians of 5 interleaved rounds)",
        ">= 1x",
        "met" if peer >= mine else "missed",
    )


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds: a smoke run, not figures to quote")
    parser.add_argument("--baseline", metavar="REV", help="also measure the app at this git revision, side by side")
    parser.add_argument("--only", type=int, nargs="+", metavar="N", help="run only these numbered sections")
    args = parser.parse_args()
    rounds, seconds, repeats = (1, 3, 5) if args.quick else (3, 10, 20)
    servers = ["gunicorn", "gunicorn-gthread"]
    if importlib.util.find_spec("granian"):
        servers.append("granian")
    else:
        print("granian is not installed (bench/requirements.txt): skipping that server")
    wanted = set(args.only or range(1, 9))
    with ExitStack() as cleanup:
        baseline = None
        if args.baseline:
            baseline = Served(
                f"the app at {args.baseline}", "app.wsgi:app", cleanup.enter_context(checkout(args.baseline))
            )
        if 1 in wanted:
            throughput(servers, rounds, seconds, baseline)
        if 2 in wanted:
            ten_thousand_rows(repeats, baseline)
    sections: list[tuple[int, Callable[[], None]]] = [
        (3, lambda: lambda_package(3 if args.quick else 7)),
        (4, lambda: mlflow_peer(servers, rounds, seconds, repeats)),
        (5, lambda: imported_trees(rounds, seconds, repeats)),
        (6, lambda: protocols(rounds, seconds, repeats)),
        (7, lambda: capture(rounds, seconds, repeats)),
        (8, lambda: report_scale(args.quick)),
    ]
    for number, run in sections:
        if number in wanted:
            run()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"\nMachine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{'quick run' if args.quick else f'{rounds} rounds of {seconds} s'}.\n"
    )
    print("| measurement | result | target | |\n|---|---|---|---|")
    for row in rows_out:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
