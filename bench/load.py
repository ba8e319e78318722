"""Load and soak on loopback under gunicorn as the README runs it (gthread): a saturation run with worker
memory sampled, then a fixed number of mixed good and bad requests. Reports errors, 5xx answers and memory;
bounded in time.

    python bench/load.py                 # 60 s at saturation, then 100,000 requests
    python bench/load.py --seconds 10 --requests 10000
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, children, free_port, gunicorn, rss_mb, server, wrk

REQUESTS = ROOT / "bench" / "requests.lua"


def answered(log: Path) -> int:
    """Requests the server has answered so far: one JSON line each in its access log."""
    return sum(1 for line in log.read_text().splitlines() if line.startswith('{"request_id"'))


def five_hundreds(statuses: dict[str, int]) -> int:
    return sum(count for status, count in statuses.items() if status.startswith("5"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker; 0: sync workers")
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "server.log"  # the access log: what the server itself answered
        with server(gunicorn("app.wsgi:app", port, args.workers, threads=args.threads), port, log=log) as master:
            workers = children(master.pid, args.workers)
            wrk(url, REQUESTS, 3, args=["mixed"])  # warm-up
            samples: list[list[float]] = []
            running = True

            def sample() -> None:
                while running:
                    samples.append([rss_mb(pid) for pid in workers])
                    time.sleep(5)

            sampler = threading.Thread(target=sample)
            sampler.start()
            soak = wrk(url, REQUESTS, args.seconds, args=["mixed"])
            running = False
            sampler.join()
            samples.append([rss_mb(pid) for pid in workers])

            statuses = soak["statuses"]
            setup = f"{args.workers} gunicorn workers" + (f" x {args.threads} threads" if args.threads else " (sync)")
            print(f"saturation, {args.seconds} s, {setup}, wrk -t2 -c16, mixed good and bad:")
            print(f"  {soak['rps']:.0f} req/s, p50 {soak.get('p50_ms', 0):.2f} ms, p99 {soak.get('p99_ms', 0):.2f} ms")
            print(f"  answers by status: {dict(sorted(statuses.items()))}")
            print(f"  5xx answers: {five_hundreds(statuses)}, socket errors: {soak['socket_errors']}")
            for index, pid in enumerate(workers):
                series = [round(s[index], 1) for s in samples]
                print(f"  worker {pid} RSS MB every 5 s: {series} (growth {series[-1] - series[0]:+.1f} MB)")

            # wrk runs for its whole duration, so give it time enough; each thread stops at its share.
            seconds = int(args.requests / max(soak["rps"], 100.0) * 1.5) + 10
            logged = answered(log)
            fixed = wrk(url, REQUESTS, seconds, args=["mixed", str(args.requests // 2)])
            time.sleep(1)  # let the last lines reach the log
            logged = answered(log) - logged
            statuses = fixed["statuses"]
            print(f"fixed count: {sum(statuses.values())} mixed requests answered (wrk ran {seconds} s)")
            print(f"  the server's access log counted {logged} answers in that run")
            print(f"  answers by status: {dict(sorted(statuses.items()))}")
            kinds = fixed["socket_error_kinds"]
            left = kinds.get("timeout", 0)
            print(f"  5xx answers: {five_hundreds(statuses)}, connect/read/write errors: {sum(kinds.values()) - left}")
            # A wrk thread that stops at its share leaves its other connections' requests unread and counts them
            # as timeouts; the access log's count above shows whether the server answered them.
            print(f"  requests left in flight when wrk's threads stopped (wrk's 'timeout'): {left}")


if __name__ == "__main__":
    main()
