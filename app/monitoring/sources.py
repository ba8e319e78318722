"""Where records are: every *.jsonl file under a folder, or every record object under an S3 prefix (Firehose's
included), read line by line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"


class ReportError(Exception):
    """The records cannot make a report: an unreadable URI, a malformed line, no records; the message says where."""


@dataclass(frozen=True)
class Source:
    """One file or S3 object of records: its name for messages, and how to read its lines."""

    name: str
    lines: Callable[[], Iterator[bytes]]
    failures: tuple[type[BaseException], ...]  # what reading it raises when it cannot be read


def sources(uri: str, s3: Any = None) -> list[Source]:
    """The record files a URI names, in name order: file:///DIR, a plain path, or s3://BUCKET/PREFIX; `s3` is a
    boto3 S3 client (made here when not given). Raises ReportError when the URI cannot be listed."""
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if not bucket:
            raise ReportError(f"{uri}: an S3 URI names a bucket: s3://BUCKET/PREFIX")
        return _s3_sources(bucket, prefix, s3)
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
        if not uri.startswith("/"):
            raise ReportError(f"file://{uri}: a file URI takes an absolute path, file:///DIR")
    path = Path(uri)
    if path.is_file():
        found = [path]
    elif path.is_dir():
        found = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
    else:
        raise ReportError(f"{uri}: no such file or directory")
    return [Source(str(p), _file_lines(p), (OSError,)) for p in found]


def _file_lines(path: Path) -> Callable[[], Iterator[bytes]]:
    def lines() -> Iterator[bytes]:
        with path.open("rb") as stream:
            yield from stream

    return lines


def unpacked(data: bytes) -> Iterator[bytes]:
    """The record lines of an object Kinesis Data Firehose wrote from a log subscription without its processors
    (gzip, holding CloudWatch Logs' batches of log events): each event's message that is a record, as the
    subscription's filter would keep it. Anything else, gzipped or not, is read line by line."""
    text = gzip.decompress(data) if data[:2] == GZIP_MAGIC else data
    decoder, body, position = json.JSONDecoder(), text.decode(errors="replace"), 0
    try:
        first = decoder.raw_decode(body.lstrip())[0]
    except ValueError:
        first = None
    if not (isinstance(first, dict) and "logEvents" in first and "messageType" in first):
        yield from text.splitlines()
        return
    while position < len(body):
        while position < len(body) and body[position].isspace():
            position += 1
        if position == len(body):
            return
        batch, position = decoder.raw_decode(body, position)
        if batch.get("messageType") == "DATA_MESSAGE":
            for event in batch.get("logEvents", ()):
                if '"eventVersion"' in event.get("message", ""):
                    yield event["message"].encode()


def _firehose_key(key: str) -> bool:
    """A name Firehose gives an object with no file extension set: STREAM-VERSION-YYYY-MM-DD-HH-MM-SS-ID."""
    return "." not in key.rsplit("/", 1)[-1]


def _s3_sources(bucket: str, prefix: str, s3: Any) -> list[Source]:
    from botocore.exceptions import BotoCoreError, ClientError

    failures = (BotoCoreError, ClientError)
    try:
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = sorted(item["Key"] for page in pages for item in page.get("Contents", ()))
    except failures as problem:
        raise ReportError(f"cannot list s3://{bucket}/{prefix}: {problem}") from None

    def reader(key: str) -> Callable[[], Iterator[bytes]]:
        def lines() -> Iterator[bytes]:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                if key.endswith(".jsonl"):
                    yield from body.iter_lines(chunk_size=1 << 16)
                else:  # one Firehose buffer (5 MB by default) at a time
                    yield from unpacked(body.read())
            finally:
                body.close()

        return lines

    wanted = (key for key in keys if key.endswith((".jsonl", ".gz")) or _firehose_key(key))
    return [Source(f"s3://{bucket}/{key}", reader(key), failures) for key in wanted]


def numbered(source: Source) -> Iterator[tuple[int, bytes]]:
    """A source's lines, numbered from 1; raises ReportError when it cannot be read."""
    try:
        yield from enumerate(source.lines(), 1)
    except source.failures as problem:
        raise ReportError(f"cannot read {source.name}: {problem}") from None
