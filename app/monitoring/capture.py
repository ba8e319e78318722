"""Capture, off by default: each scored request becomes one record in SageMaker Data Capture's format, and each
ground truth sent back one in Model Monitor's, written off the request path to a directory, S3, or the log.

A record holds the readings as the validator passed them (one CSV line per reading, in field order) and what the
model said of each (`score,predicted_label`), whatever format the request came in, so one reader reads them all.
Records are laid out by hour under the model's name and version:

    ROOT/capture/NAME/VERSION/YYYY/MM/DD/HH/*.jsonl       predictions
    ROOT/ground-truth/NAME/VERSION/YYYY/MM/DD/HH/*.jsonl  ground truth
"""

from __future__ import annotations

import atexit
import functools
import os
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from app.codecs.sagemaker import csv_answers
from app.config import ConfigError
from app.core.table import csv_lines
from app.logs import service_logger

if TYPE_CHECKING:
    from app.dataplane import Inference

log = service_logger("capture")
EVENT_VERSION = "0"
FLUSH_SECONDS = 1.0  # how long a record waits in the buffer at most, while the sink answers
RETRY_SECONDS = (1.0, 5.0, 30.0)  # waits after 1, 2, and 3 or more failed writes in a row
# What a sink's fate is counted as, in the metrics.
WRITTEN, FAILED, DROPPED = "written", "failed", "dropped"
SAFE_PART = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Scored:
    """What a scored request leaves for capture: cheap to make, formatted later."""

    inference_id: str
    time: float  # seconds since the epoch
    columns: Sequence[list[Any]]  # the validated readings, one list per field
    scores: list[float]
    labels: list[int] | None


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """The label a reading turned out to have: `row` of the request `inference_id` answered (1-based)."""

    inference_id: str
    row: int
    label: int
    time: float


def event_id(truth: GroundTruth) -> str:
    """Model Monitor joins ground truth to a capture record by this id: the inference id for the first (or only)
    reading, `ID:ROW` for a later one."""
    return truth.inference_id if truth.row == 1 else f"{truth.inference_id}:{truth.row}"


@functools.lru_cache(maxsize=4)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


@functools.lru_cache(maxsize=4)
def _hour(hours: int) -> str:
    return time.strftime("%Y/%m/%d/%H", time.gmtime(hours * 3600))


def iso_time(seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds."""
    whole = int(seconds)
    return f"{_second(whole)}.{int((seconds - whole) * 1000):03d}Z"


def capture_record(scored: Scored) -> dict[str, Any]:
    """The Data Capture record of a scored request."""
    readings = csv_lines(scored.columns)
    answers = "\n".join(csv_answers(scored.scores, scored.labels))
    return {
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": readings, "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": answers, "encoding": "CSV"},
        },
        "eventMetadata": {
            "eventId": str(uuid.uuid4()),
            "inferenceId": scored.inference_id,
            "inferenceTime": iso_time(scored.time),
        },
        "eventVersion": EVENT_VERSION,
    }


def ground_truth_record(truth: GroundTruth) -> dict[str, Any]:
    """Model Monitor's ground-truth record."""
    return {
        "groundTruthData": {"data": str(truth.label), "encoding": "CSV"},
        "eventMetadata": {"eventId": event_id(truth)},
        "eventVersion": EVENT_VERSION,
    }


class Sink(Protocol):
    def write(self, key: str, lines: list[bytes]) -> None:
        """Store these JSON lines under `key` (KIND/NAME/VERSION/YYYY/MM/DD/HH); raises on failure."""
        ...


class FileSink:
    """Appends to one file per process and hour: workers never write into each other's files."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.name = f"{SAFE_PART.sub('-', socket.gethostname())}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"

    def write(self, key: str, lines: list[bytes]) -> None:
        folder = self.root / key
        if not folder.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"{key} leads out of {self.root}")
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / self.name, "ab") as out:
            out.write(b"".join(line + b"\n" for line in lines))


class S3Sink:
    """One object per write, named by its time and a random part, as Data Capture names its files."""

    def __init__(self, bucket: str, prefix: str, client: Any = None) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._client = client

    def write(self, key: str, lines: list[bytes]) -> None:
        if self._client is None:  # made in the writer thread, at its first write
            import boto3

            self._client = boto3.client("s3")
        name = time.strftime("%M-%S", time.gmtime()) + f"-{uuid.uuid4().hex}.jsonl"
        path = "/".join(part for part in (self.prefix, key, name) if part)
        self._client.put_object(Bucket=self.bucket, Key=path, Body=b"".join(line + b"\n" for line in lines))


class LogSink:
    """Each record as a line on standard output: on Lambda the log stream, which a subscription carries to S3.
    Written as the request ends, since Lambda freezes a function between requests and a buffer would wait."""

    def write(self, key: str, lines: list[bytes]) -> None:
        sys.stdout.write("".join(line.decode() + "\n" for line in lines))
        sys.stdout.flush()


def make_sink(uri: str) -> tuple[Sink, bool]:
    """The sink a CAPTURE_URI names, and whether its writes are buffered off the request path."""
    if uri == "log:":
        return LogSink(), False
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        return S3Sink(bucket, prefix), True
    return FileSink(uri[len("file://") :]), True


def folder_names(model: tuple[str, str]) -> tuple[str, str]:
    """The model's name and version as they name its folders; raises ValueError for a part that would name no
    folder of its own (empty, or only dots once cleaned)."""
    name, version = (SAFE_PART.sub("-", part) for part in model)
    for part, cleaned in zip(model, (name, version), strict=True):
        if not cleaned.strip("."):
            raise ValueError(f"{part!r} cannot name a folder of the capture")
    return name, version


Counted = Callable[[str, int], None]  # told how many records were written, failed to be written, or dropped


class Capture:
    """Records of one model, buffered up to `limit` and written by a thread of their own, so a slow or failing sink
    never holds up or fails a request. A failed write is logged, counted, and retried later with the same records;
    when the buffer is full, a new record is dropped and counted. `close` writes what is left."""

    def __init__(
        self,
        sink: Sink,
        model: tuple[str, str],
        *,
        sample: int = 100,
        limit: int = 10_000,
        buffered: bool = True,
        counted: Counted | None = None,
    ) -> None:
        self.sink = sink
        self.model = folder_names(model)
        self.sample = sample
        self.limit = limit
        self.buffered = buffered
        self.counted = counted
        self.counts = {WRITTEN: 0, FAILED: 0, DROPPED: 0}
        self._pending: deque[Scored | GroundTruth] = deque()
        self._lock = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def wanted(self) -> bool:
        """Whether to capture this request: CAPTURE_SAMPLE percent of them."""
        return self.sample >= 100 or random.random() * 100 < self.sample  # noqa: S311 - a sample, not a secret

    def scored(self, inference: Inference) -> None:
        """The data plane's hook: capture CAPTURE_SAMPLE percent of the scored requests."""
        if self.wanted():
            predictions = inference.predictions
            self.predicted(inference.inference_id, inference.readings.columns, predictions.scores, predictions.labels)

    def predicted(
        self, inference_id: str, columns: Sequence[list[Any]], scores: list[Any], labels: list[int] | None
    ) -> None:
        """Capture a scored request: its validated readings, by column, and what the model said of each."""
        self.add([Scored(inference_id, time.time(), columns, scores, labels)])

    def add(self, items: Sequence[Scored | GroundTruth]) -> None:
        """Queue records, or on an unbuffered sink write them now; never raises."""
        if not self.buffered:
            self._write(list(items))
            return
        with self._lock:
            if self._closed:
                self._count(DROPPED, len(items))
                return
            was_empty = not self._pending
            room = max(self.limit - len(self._pending), 0)
            self._pending.extend(items[:room])
            if room < len(items):
                self._count(DROPPED, len(items) - room)
            self._start()
            if was_empty:  # the thread waits for a first record, then lets more gather
                self._lock.notify()

    def _start(self) -> None:
        # The thread starts with the first record, and again in a forked worker, which inherits no threads.
        if self._thread is None or not self._thread.is_alive():
            if self._thread is None:
                atexit.register(self.close)
            self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._lock.wait()
                if not self._closed:  # let a batch gather: one write for many requests
                    self._lock.wait(FLUSH_SECONDS if not failures else RETRY_SECONDS[min(failures, 3) - 1])
                if self._closed:
                    return
                batch = list(self._pending)
            if self._write(batch):
                with self._lock:
                    for _ in batch:
                        self._pending.popleft()
                failures = 0
            else:
                failures += 1

    def _write(self, items: list[Scored | GroundTruth]) -> bool:
        """Write items grouped by where they go; False (logged, counted) when the sink refuses."""
        groups: dict[str, list[bytes]] = {}
        for item in items:
            if isinstance(item, Scored):
                kind, record = "capture", capture_record(item)
            else:
                kind, record = "ground-truth", ground_truth_record(item)
            hour = _hour(int(item.time // 3600))
            groups.setdefault(f"{kind}/{self.model[0]}/{self.model[1]}/{hour}", []).append(orjson.dumps(record))
        try:
            for key, lines in groups.items():
                self.sink.write(key, lines)
        except Exception as problem:  # any sink's failure: the request has its answer already
            log.warning("capture write failed, %d records kept to retry: %s", len(items), problem)
            self._count(FAILED, len(items))
            return False
        self._count(WRITTEN, len(items))
        return True

    def _count(self, outcome: str, count: int) -> None:
        self.counts[outcome] += count
        if outcome == DROPPED:
            log.warning("capture buffer full (%d records): %d records dropped", self.limit, count)
        if self.counted:
            self.counted(outcome, count)

    def close(self) -> None:
        """Stop the thread and write what is left, trying twice; what cannot be written then is counted as
        dropped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._lock.notify()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join()
        with self._lock:
            left = list(self._pending)
            self._pending.clear()
        if left and not self._write(left):
            time.sleep(RETRY_SECONDS[0])
            if not self._write(left):
                self._count(DROPPED, len(left))


def capture_from_config(config: Mapping[str, Any], model: tuple[str, str], counted: Counted | None) -> Capture:
    """The app's capture, to CAPTURE_URI."""
    sink, buffered = make_sink(config["CAPTURE_URI"])
    try:
        return Capture(
            sink,
            model,
            sample=config["CAPTURE_SAMPLE"],
            limit=config["CAPTURE_BUFFER"],
            buffered=buffered,
            counted=counted,
        )
    except ValueError as problem:
        raise ConfigError("CAPTURE_URI", f"the served model's name or version: {problem}") from None
