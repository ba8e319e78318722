"""A scoring body's dispatch: content types, charsets, a byte order mark, the hint for a body under the other
content type, and any body giving readings or a typed error."""

from __future__ import annotations

import codecs
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ReadingsError, UnsupportedBody
from tests.conftest import SAMPLE, read_body
from tests.readings import FIELDS, SAMPLE_OBJECT, SAMPLE_ROW, TOKENS


@pytest.mark.parametrize("mimetype", ["text/csv", "application/json"])
def test_one_leading_byte_order_mark_is_ignored(mimetype: str) -> None:
    body = SAMPLE.encode() if mimetype == "text/csv" else json.dumps(SAMPLE_OBJECT).encode()
    assert list(read_body(codecs.BOM_UTF8 + body, mimetype, None, 10)) == [SAMPLE_ROW]
    with pytest.raises(ReadingsError):
        read_body(codecs.BOM_UTF8 * 2 + body, mimetype, None, 10)


def test_text_plain_is_csv() -> None:
    assert list(read_body(SAMPLE.encode(), "text/plain", "UTF-8", 10)) == [SAMPLE_ROW]


@pytest.mark.parametrize(
    ("body", "mimetype", "hint"),
    [
        (
            json.dumps(SAMPLE_OBJECT),
            "text/csv",
            "The body looks like JSON: send it with Content-Type: application/json.",
        ),
        (" [[1, 2]]", "text/plain", "The body looks like JSON: send it with Content-Type: application/json."),
        (SAMPLE, "application/json", "The body does not look like JSON: send CSV with Content-Type: text/csv."),
    ],
)
def test_a_body_under_the_other_content_type_gets_a_hint(body: str, mimetype: str, hint: str) -> None:
    with pytest.raises(ReadingsError) as error:
        read_body(body.encode(), mimetype, None, 10)
    assert error.value.message.endswith(hint)


def test_valid_bodies_and_unrelated_errors_get_no_hint() -> None:
    with pytest.raises(ReadingsError) as error:
        read_body(b'{"turbine_id": 1}', "application/json", None, 10)
    assert "Content-Type" not in error.value.message
    with pytest.raises(ReadingsError) as error:
        read_body(SAMPLE.replace("NE", "XX").encode(), "text/csv", None, 10)
    assert "Content-Type" not in error.value.message


@pytest.mark.parametrize(
    ("mimetype", "charset"),
    [("application/x-www-form-urlencoded", None), ("", None), ("text/html", None), ("text/csv", "latin-1")],
)
def test_other_media_types_and_charsets_are_unsupported(mimetype: str, charset: str | None) -> None:
    with pytest.raises(UnsupportedBody):
        read_body(SAMPLE.encode(), mimetype, charset, 10)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(str.encode),
        st.lists(st.sampled_from([*TOKENS, ",", "\n", "[", "]", "{", "}", '"', ":", "instances"]), max_size=80).map(
            lambda parts: "".join(parts).encode()
        ),
    ),
    st.sampled_from(["text/csv", "text/plain", "application/json"]),
)
def test_any_body_gives_readings_or_a_typed_error(body: bytes, mimetype: str) -> None:
    """Client input never escapes as anything but the validator's own error (no 500)."""
    try:
        rows = read_body(body, mimetype, None, 50)
    except ReadingsError as error:
        assert error.message
    else:
        assert rows and all(len(row) == len(FIELDS) for row in rows)
