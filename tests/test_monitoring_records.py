"""One record read from its line: JSON objects only, the ground truth's (id, row) key and label, CSV or base64
content (other encodings skipped with a reason), line ends of any kind, and times in UTC."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest

from app.monitoring.records import LineError, content_text, iso, parse_record, parse_time, parse_truth, split_lines

FIVE = datetime.datetime(2026, 12, 4, 5, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    "text", ["2026-12-04T05:00:00Z", "2026-12-04T05:00:00.000Z", " 2026-12-04T05:00:00 ", "2026-12-04T06:00:00+01:00"]
)
def test_times_are_read_in_utc_naive_ones_as_utc(text: str) -> None:
    moment = parse_time(text)
    assert moment == FIVE and moment.tzinfo is datetime.UTC


def test_a_time_that_is_not_iso_8601_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_time("soon")


def test_times_are_written_in_utc_with_milliseconds_and_z() -> None:
    assert iso(FIVE.timestamp()) == "2026-12-04T05:00:00.000Z"
    assert iso(FIVE.timestamp() + 0.25) == "2026-12-04T05:00:00.250Z"


@pytest.mark.parametrize(
    ("line", "message"), [(b"{not json", "not valid JSON"), (b"[1, 2]", "a record is a JSON object")]
)
def test_a_line_that_is_no_json_object_is_refused(line: bytes, message: str) -> None:
    with pytest.raises(LineError, match=message):
        parse_record(line)


def truth(event: str, data: Any = "1", encoding: str = "CSV") -> dict[str, Any]:
    return {"groundTruthData": {"data": data, "encoding": encoding}, "eventMetadata": {"eventId": event}}


@pytest.mark.parametrize(
    ("event", "key"),
    [("abc", ("abc", 1)), ("abc:3", ("abc", 3)), ("abc:0", ("abc:0", 1)), ("a:b", ("a:b", 1)), (":2", (":2", 1))],
)
def test_ground_truth_labels_row_1_by_the_id_and_row_n_by_id_colon_n(event: str, key: tuple[str, int]) -> None:
    assert parse_truth(truth(event)) == (key, 1)


@pytest.mark.parametrize(
    ("data", "encoding", "label"), [("0", "CSV", 0), (" 1\n", "CSV", 1), (1, "CSV", 1), ("MA==", "BASE64", 0)]
)
def test_a_label_is_0_or_1_as_text_a_number_or_base64(data: Any, encoding: str, label: int) -> None:
    assert parse_truth(truth("abc", data, encoding)) == (("abc", 1), label)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (truth("abc", "2"), "the ground truth '2' is not 0 or 1"),
        (truth("abc", True), "the ground truth True is not 0 or 1"),
        (truth("abc", "!!", "BASE64"), "groundTruthData.data is not base64 of UTF-8 text"),
        (truth(""), "needs groundTruthData and eventMetadata.eventId"),
        ({"groundTruthData": {"data": "1"}}, "needs groundTruthData and eventMetadata.eventId"),
        ({"groundTruthData": "1", "eventMetadata": {"eventId": "abc"}}, "needs groundTruthData"),
    ],
)
def test_a_bad_ground_truth_record_is_refused_naming_what_is_wrong(record: dict[str, Any], message: str) -> None:
    with pytest.raises(LineError, match=message):
        parse_truth(record)


@pytest.mark.parametrize(
    ("part", "found"),
    [
        ({"observedContentType": "text/csv", "encoding": "CSV", "data": "1,2"}, ("1,2", None)),
        ({"encoding": "CSV", "data": "1,2"}, ("1,2", None)),
        (
            {"observedContentType": "text/plain", "encoding": "BASE64", "data": base64.b64encode(b"1,2").decode()},
            ("1,2", None),
        ),
        ({"observedContentType": "application/json", "encoding": "JSON", "data": "[]"}, (None, "JSON encoding")),
        (
            {"observedContentType": "application/json", "encoding": "CSV", "data": "[]"},
            (None, "application/json content"),
        ),
    ],
)
def test_csv_content_is_read_and_other_content_skipped_with_a_reason(
    part: dict[str, Any], found: tuple[str | None, str | None]
) -> None:
    assert content_text(part, "endpointInput") == found


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("1,2", "captureData.endpointInput must be an object"),
        ({"encoding": "CSV", "data": 12}, "endpointInput.data is not text"),
        ({"encoding": "BASE64", "data": "not base64!"}, "endpointInput.data is not base64 of UTF-8 text"),
        ({"encoding": "BASE64", "data": base64.b64encode(b"\xff").decode()}, "is not base64 of UTF-8 text"),
    ],
)
def test_unreadable_content_is_refused(part: Any, message: str) -> None:
    with pytest.raises(LineError, match=message):
        content_text(part, "endpointInput")


@pytest.mark.parametrize(
    ("text", "lines"),
    [("a\r\nb\rc\n", ["a", "b", "c"]), ("a\n\nb", ["a", "", "b"]), ("\na\n", ["a"]), ("", []), ("\n\n", [])],
)
def test_lines_end_with_any_line_end_and_empty_text_has_none(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines
