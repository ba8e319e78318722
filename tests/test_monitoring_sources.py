"""Where records are read from: *.jsonl files under a folder in name order, the record objects under an S3 prefix
(Firehose's, gzipped CloudWatch Logs batches, unpacked), and lines numbered for messages; a URI that cannot be read
is a clear error."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from flask import Flask
from moto import mock_aws

from app.monitoring.sources import ReportError, Source, numbered, sources, unpacked
from tests.test_monitoring_report import readings, run, write_captures

RECORD = b'{"captureData": {}, "eventVersion": "0"}'


def names(uri: str) -> list[str]:
    return [source.name for source in sources(uri)]


def test_a_folder_gives_its_jsonl_files_in_name_order_at_any_depth(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a/2026/c.jsonl", "a/notes.txt", "a.jsonl.gz"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(RECORD)
    (tmp_path / "folder.jsonl").mkdir()
    found = [str(tmp_path / "a/2026/c.jsonl"), str(tmp_path / "b.jsonl")]
    assert names(str(tmp_path)) == names(f"file://{tmp_path}") == found
    assert names(str(tmp_path / "a/notes.txt")) == [str(tmp_path / "a/notes.txt")]  # a file named is read
    assert [list(numbered(source)) for source in sources(str(tmp_path / "b.jsonl"))] == [[(1, RECORD)]]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file://data/capture", "file://data/capture: a file URI takes an absolute path, file:///DIR"),
        ("/no/such/folder", "/no/such/folder: no such file or directory"),
        ("s3:///capture", "s3:///capture: an S3 URI names a bucket: s3://BUCKET/PREFIX"),
    ],
)
def test_a_uri_that_names_no_records_is_refused(uri: str, message: str) -> None:
    with pytest.raises(ReportError) as refused:
        sources(uri)
    assert str(refused.value) == message


def test_lines_are_numbered_from_1_and_a_read_that_fails_names_the_source() -> None:
    def lines() -> Iterator[bytes]:
        yield b"first\n"
        raise OSError("gone")

    read = numbered(Source("s3://b/k", lines, (OSError,)))
    assert next(read) == (1, b"first\n")
    with pytest.raises(ReportError) as refused:
        next(read)
    assert str(refused.value) == "cannot read s3://b/k: gone"


def test_s3_objects_are_jsonl_gz_or_named_as_firehose_names_them() -> None:
    batch = {"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "timestamp": 0, "message": RECORD.decode()}]}
    bodies = {
        "p/2026/a.jsonl": RECORD + b"\n" + RECORD,
        "p/2026/b.gz": gzip.compress(json.dumps(batch).encode()),
        "p/turbine-1-2026-12-04-05-00-00-abcd": gzip.compress(RECORD + b"\n"),
        "p/notes.txt": b"not a record",
        "q/c.jsonl": b"not under the prefix",
    }
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="cap", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for key, body in bodies.items():
            s3.put_object(Bucket="cap", Key=key, Body=body)
        found = sources("s3://cap/p", s3)
        read = {source.name: [line for _, line in numbered(source)] for source in found}
    assert read == {
        "s3://cap/p/2026/a.jsonl": [RECORD, RECORD],
        "s3://cap/p/2026/b.gz": [RECORD],
        "s3://cap/p/turbine-1-2026-12-04-05-00-00-abcd": [RECORD],
    }
    assert [source.name for source in found] == list(read)  # in name order


def test_s3_captures_are_every_jsonl_object_under_the_prefix(app: Flask, tmp_path: Path) -> None:
    rows, _ = readings(300, seed=21)
    write_captures(tmp_path / "a.jsonl", app.extensions["dataplane"].models.default, rows[:100], per_record=5)
    write_captures(tmp_path / "b.jsonl", app.extensions["dataplane"].models.default, rows[100:], per_record=1)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="captures", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(
            Bucket="captures", Key="live/capture/m/1/2026/12/04/04/a.jsonl", Body=(tmp_path / "a.jsonl").read_bytes()
        )
        s3.put_object(
            Bucket="captures", Key="live/capture/m/1/2026/12/04/05/b.jsonl", Body=(tmp_path / "b.jsonl").read_bytes()
        )
        s3.put_object(Bucket="captures", Key="live/capture/notes.txt", Body=b"not a record")
        s3.put_object(Bucket="captures", Key="other/c.jsonl", Body=b"not a record either")

        result = run(app, "--capture", "s3://captures/live/", "--out", str(tmp_path / "out"))
        missing = run(app, "--capture", "s3://no-such-bucket/live", "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["records"]["files"], report["records"]["captures"], report["records"]["predictions"]) == (
        2,
        220,
        300,
    )
    assert missing.exit_code == 1 and "cannot list s3://no-such-bucket/live" in missing.output
    assert "Traceback" not in missing.output


def test_firehose_objects_are_read_with_or_without_its_processors() -> None:
    """Unprocessed, Firehose stores CloudWatch Logs' gzipped batches back to back; processed, the records alone."""
    record = b'{"captureData": {}, "eventVersion": "0"}'
    batch = {
        "messageType": "DATA_MESSAGE",
        "logGroup": "/aws/lambda/turbine-status-dev",
        "logEvents": [
            {"id": "1", "timestamp": 0, "message": record.decode()},
            {"id": "2", "timestamp": 0, "message": '{"level": "INFO", "route": "/"}'},
        ],
    }
    control = {"messageType": "CONTROL_MESSAGE", "logEvents": [{"id": "0", "message": record.decode()}]}
    envelopes = b"".join(json.dumps(b).encode() for b in (batch, control, batch))
    assert list(unpacked(gzip.compress(envelopes))) == [record, record]
    assert list(unpacked(record + b"\n" + record + b"\n")) == [record, record]
    assert list(unpacked(gzip.compress(record + b"\n"))) == [record]
