"""The report's HTML page: self-contained (no script, nothing loaded from anywhere), a chart per field, and every
text that comes from the records or the artifact escaped."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from app.monitoring.page import render
from app.monitoring.report import build_report
from app.monitoring.writing import write_report
from tests.test_monitoring_report import (
    ARTIFACT,
    GOOD_ROW,
    SCHEMA,
    _line,
    drifted,
    older,
    readings,
    truth_line,
    write_captures,
)


def test_the_page_is_self_contained_with_a_chart_per_field(app: Flask, tmp_path: Path) -> None:
    rows, truth = readings(1000, seed=12)
    captured = write_captures(
        tmp_path / "c" / "a.jsonl", app.extensions["dataplane"].models.default, drifted(rows), per_record=2
    )
    with (tmp_path / "c" / "truth.jsonl").open("wb") as out:
        out.writelines(truth_line(*key, label) + b"\n" for key, label in zip(captured.keys, truth, strict=True))
    write_report(build_report([str(tmp_path / "c")], ARTIFACT), tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()

    assert "http://" not in page and "https://" not in page and "<script" not in page and "@import" not in page
    assert re.findall(r"(?:src|href)=\"([^\"]*)\"", page) == [f"#field-{name}" for name in SCHEMA.names]
    assert page.count("<svg") >= len(SCHEMA.names) + 1 + 3  # each field, the scores, three hourly lines
    for name in SCHEMA.names:
        section = page.split(f'<section id="field-{name}">')[1].split("</section>")[0]
        assert "<svg" in section and "training" in section and "live" in section
    assert '<div class="summary alert">' in page and "drift: oil_temperature" in page


def test_every_text_from_the_records_or_the_artifact_is_escaped(tmp_path: Path) -> None:
    artifact = older(ARTIFACT, name='<script>alert("name")</script>', version="1 & 2")
    hostile = GOOD_ROW.replace("TID", "<img src=x onerror=alert(1)>", 1)
    skipped = _line().replace(b'"observedContentType":"text/csv"', b'"observedContentType":"<b>bold</b>"', 1)
    (tmp_path / "a.jsonl").write_bytes(b"\n".join([_line(), _line(hostile), skipped]))

    page = render(build_report([str(tmp_path)], artifact))

    assert "<script" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; 1 &amp; 2" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "1 for &lt;b&gt;bold&lt;/b&gt; content" in page
