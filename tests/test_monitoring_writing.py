"""The report written to a folder: report.json as UTF-8 JSON that reads back as the report, report.html as its page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.monitoring.page import render
from app.monitoring.report import build_report
from app.monitoring.writing import write_report
from tests.test_monitoring_report import ARTIFACT, GOOD_ROW, _line


def test_the_report_is_written_as_json_and_html_into_a_folder_made_when_missing(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    turbine = GOOD_ROW.split(",")[0].replace("TID", "TÜR")
    (tmp_path / "c" / "a.jsonl").write_bytes(_line(GOOD_ROW.replace("TID", "TÜR", 1)))
    report = build_report([str(tmp_path / "c")], ARTIFACT)

    as_json, as_html = write_report(report, tmp_path / "out" / "2026")

    assert (as_json, as_html) == (tmp_path / "out/2026/report.json", tmp_path / "out/2026/report.html")
    text = as_json.read_text(encoding="utf-8")
    assert json.loads(text) == report and text.endswith("}\n") and f'"{turbine}": 1' in text  # UTF-8, not escaped
    assert as_html.read_text(encoding="utf-8") == render(report)


def test_a_folder_that_cannot_be_made_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(_line())
    with pytest.raises(OSError):
        write_report(build_report([str(tmp_path)], ARTIFACT), tmp_path / "a.jsonl")
