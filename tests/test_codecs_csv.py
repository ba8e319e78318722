"""The CSV codec: the forms a line of readings takes, where a line ends, headers, blocks of lines, lines counted
before they are read, and the comma split agreeing with the csv module."""

from __future__ import annotations

import csv as csvmodule
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.codecs.csv import _BLOCK
from app.core.errors import ReadingsError, TooManyReadings
from tests.conftest import HEALTHY, SAMPLE, read_body, read_csv
from tests.readings import FIELD_NAMES, NOT_LINE_ENDS, SAMPLE_ROW, TOKENS, csv, details


@pytest.mark.parametrize(
    "body",
    [
        SAMPLE,
        SAMPLE + "\n",
        SAMPLE + "\r\n",
        "\ufeff" + SAMPLE,
        ",".join(FIELD_NAMES) + "\n" + SAMPLE,
        "TID008, VAWT, 64, 80, 46.0, 21, 55, 55, 7, 34, NE",
        '"TID008","VAWT","64","80","46.0","21","55","55","7","34","NE"',
        "TID008,VAWT,064.0,+80,46.,21,55,55,7,34,NE",
        'TID008, "VAWT" , 64,80,46.0,21,55,55,7,34, "NE"',
    ],
)
def test_csv_forms_of_the_classic_sample(body: str) -> None:
    assert csv(body) == [SAMPLE_ROW]


def test_csv_batch_keeps_input_order() -> None:
    rows = csv(f"{SAMPLE}\n{HEALTHY}\n{SAMPLE}")
    assert [r[0] for r in rows] == ["TID008", "TID002", "TID008"]


# Where the validator's blocks of whole lines end, in a body of lines as long as SAMPLE's: the first block's last
# line and the next, the second block's last line and the next.
FIRST_BLOCK_LINES = _BLOCK // (len(SAMPLE) + 1) + 1


BLOCK_ENDS = [FIRST_BLOCK_LINES, FIRST_BLOCK_LINES + 1, 2 * FIRST_BLOCK_LINES, 2 * FIRST_BLOCK_LINES + 1]


@pytest.mark.parametrize("bad_line", [None, 1, *BLOCK_ENDS, 3001])
def test_long_bodies_are_read_whole_in_order(bad_line: int | None) -> None:
    lines = [SAMPLE if n % 2 else HEALTHY for n in range(1, 3002)]
    if bad_line is None:
        assert [row[0] for row in csv("\n".join(lines))] == ["TID008" if n % 2 else "TID002" for n in range(1, 3002)]
        return
    lines[bad_line - 1] = lines[bad_line - 1].replace("VAWT", "XAWT").replace("HAWT", "XAWT")
    with pytest.raises(ReadingsError) as error:
        csv("\n".join(lines))
    assert details(error) == [(bad_line, "turbine_type")]


def test_a_short_line_and_a_long_line_do_not_make_two_readings() -> None:
    values = SAMPLE.split(",")
    short, long = ",".join(values[:-1]), ",".join([*values, "NE"])
    with pytest.raises(ReadingsError) as error:
        csv(f"{short}\n{long}")
    assert details(error) == [(1, None), (2, None)]


@pytest.mark.parametrize("character", NOT_LINE_ENDS)
def test_a_line_ends_only_at_a_newline(character: str) -> None:
    """Two readings joined by any other line break are one line of 21 values, refused by its row; inside a value
    the character fails that value's field."""
    with pytest.raises(ReadingsError) as error:
        csv(f"{SAMPLE}{character}{HEALTHY}\n{HEALTHY}")
    assert details(error) == [(1, None)]
    assert error.value.details[0]["message"].endswith(", got 21")
    values = SAMPLE.split(",")
    values[1], values[2] = f"VA{character}WT", f"6{character}4"
    with pytest.raises(ReadingsError) as error:
        csv(",".join(values))
    assert details(error) == [(1, "turbine_type"), (1, "wind_speed")]
    assert error.value.details[0]["message"] == f"{f'VA{character}WT'!r} is not one of HAWT, VAWT"


def test_crlf_ends_a_line_and_blank_lines_are_skipped() -> None:
    expected = csv(f"{SAMPLE}\n{HEALTHY}")
    assert csv(f"{SAMPLE}\r\n\r\n{HEALTHY}\r\n") == expected
    assert csv(f"\n\r\n{','.join(FIELD_NAMES)}\r\n\n{SAMPLE}\n\n\n{HEALTHY}\n\r\n") == expected


@pytest.mark.parametrize("line", [SAMPLE + ",yes", "TID008,VAWT,64", SAMPLE.replace(",NE", "")])
def test_csv_rejects_wrong_field_count(line: str) -> None:
    with pytest.raises(ReadingsError) as error:
        csv(line)
    assert details(error) == [(1, None)]
    assert "expected 11 values" in error.value.details[0]["message"]


def test_csv_the_csv_module_cannot_read_is_a_row_error() -> None:
    with pytest.raises(ReadingsError) as error:
        csv(f"{SAMPLE}\n{'x' * 200_000}\n{SAMPLE}")
    assert details(error) == [(2, None)]
    assert "not readable as CSV: field larger than field limit" in error.value.details[0]["message"]
    with pytest.raises(ReadingsError) as error:
        csv("turbine_id," + "x" * 200_000 + f"\n{SAMPLE}")
    assert details(error) == [(1, None)]


def test_a_header_may_name_the_fields_in_any_order() -> None:
    names = FIELD_NAMES[::-1]
    values = SAMPLE.split(",")[::-1]
    body = ",".join(name.upper() for name in names) + "\n" + ",".join(values) + "\n" + " ,".join(values)
    assert csv(body) == [SAMPLE_ROW, SAMPLE_ROW]
    with pytest.raises(ReadingsError) as error:
        csv(",".join(names) + "\n" + ",".join([*values[:2], "999", *values[3:]]))
    assert details(error) == [(1, names[2])]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (FIELD_NAMES[:-1], [("wind_direction", "missing from the header")]),
        (
            [*FIELD_NAMES[:-1], "wind_dir"],
            [("wind_direction", "missing from the header"), (None, "header value 11, 'wind_dir', names no field")],
        ),
        ([*FIELD_NAMES, "turbine_id"], [("turbine_id", "named twice in the header")]),
        (
            [*FIELD_NAMES[:-1], "x" * 5000],
            [
                ("wind_direction", "missing from the header"),
                (None, f"header value 11, '{'x' * 31}… (5002 characters), names no field"),
            ],
        ),
    ],
)
def test_a_header_must_name_every_field_once(header: list[str], expected: list[tuple[Any, str]]) -> None:
    with pytest.raises(ReadingsError) as error:
        csv(",".join(header) + "\n" + SAMPLE)
    assert error.value.message.startswith("The header line must name each of the 11 fields once, in any order:")
    assert [(d["row"], d["field"], d["message"]) for d in error.value.details] == [(None, *e) for e in expected]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (",".join(FIELD_NAMES).encode(), "no readings"),
        (b"turbine_id,turbine_type\n" + SAMPLE.encode(), "header"),
        (SAMPLE.encode() + b"\n\xff\xfe", "not valid UTF-8 (byte 40, line 2)"),
    ],
)
def test_csv_rejects_malformed_bodies(body: bytes, fragment: str) -> None:
    with pytest.raises(ReadingsError) as error:
        read_body(body, "text/csv", None, 10)
    assert fragment in error.value.message


def test_lines_are_counted_before_they_are_read() -> None:
    """MAX_ROWS counts the lines that hold something, however they end and whatever they hold, a header aside."""
    lines = "\r\n\n".join(["x"] * 11)
    with pytest.raises(TooManyReadings, match=r"^11 readings sent; at most 10 are accepted per request\.$"):
        csv(f"\n\n{lines}\r\n\n", max_rows=10)
    with pytest.raises(ReadingsError) as error:
        csv(f"{','.join(FIELD_NAMES)}\r\n{lines}", max_rows=11)
    assert not isinstance(error.value, TooManyReadings) and len(error.value.details) == 11


def test_a_line_of_more_commas_than_a_line_of_readings_holds_is_refused_unread() -> None:
    """Its width is said from its commas: the csv module would make a value of each."""
    expected = f"expected 11 values ({','.join(FIELD_NAMES)}), got"
    with pytest.raises(ReadingsError) as error:
        csv(f"{SAMPLE}\n{'1,' * 100_000}1\n" + ",".join(['"1"'] * 12) + f"\n{SAMPLE} ")
    assert details(error) == [(2, None), (3, None)]
    assert [d["message"] for d in error.value.details] == [
        f"{expected} 100001",
        f"{expected} 11 commas, more than a line of them holds",
    ]


def test_a_first_line_of_more_values_than_a_header_holds_is_read_as_readings() -> None:
    with pytest.raises(ReadingsError) as error:
        csv(",".join([*FIELD_NAMES, *["extra"] * 200]) + f"\n{SAMPLE}")
    assert details(error) == [(1, None)]
    assert error.value.details[0]["message"].endswith(", got 211")


HEADER_PARTS = [",".join(FIELD_NAMES), ",".join(FIELD_NAMES[::-1]), "turbine_id", "Wind_Speed", '"pressure"']


BODY_PARTS = [
    *TOKENS,
    *HEADER_PARTS,
    "9" * 131_073,
    ",",
    ",",
    ",",
    "\n",
    "\r\n",
    "\r",
    "\x0b",
    "\x85",
    "\u2028",
    '"',
    " ",
    "\t",
    "\x1f",
    "\u00a0",
    SAMPLE,
    HEALTHY,
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(BODY_PARTS), min_size=1, max_size=40))
def test_splitting_at_commas_reads_lines_as_the_csv_module_does(parts: list[str]) -> None:
    """Both ways: a body read by splitting plain lines at commas gives exactly the readings, or exactly the
    error details, of the same body read line by line with the csv module."""
    text = "".join(parts)
    outcomes = []
    for split in (True, False):
        try:
            outcomes.append(list(read_csv(text, 50, split=split)))
        except ReadingsError as error:
            outcomes.append([error.message, error.details])
    assert outcomes[0] == outcomes[1]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*TOKENS, *HEADER_PARTS, ",", ",", '"', " ", "\t", "\u00a0"]), max_size=30))
def test_a_first_line_is_a_header_exactly_when_a_value_names_a_field(parts: list[str]) -> None:
    """Both ways: the quick look for a field name in a first line agrees with the csv module's reading of it."""
    first = "".join(parts)
    try:
        read = [value.strip().lower() for value in next(csvmodule.reader([first], skipinitialspace=True), [])]
    except csvmodule.Error:
        read = []
    names_a_field = bool({name.lower() for name in FIELD_NAMES} & set(read))
    # A last line of one value is always refused: it is row 2 under a header, row 3 under a first line of data.
    with pytest.raises(ReadingsError) as error:
        read_csv(first + "\n" + SAMPLE + "\nx", 10)
    rows = [detail["row"] for detail in error.value.details]
    taken_as_header = error.value.message.startswith("The header line") or (first != "" and max(rows) == 2)
    assert taken_as_header == names_a_field
