"""The report written to a folder as its two files, report.json and report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.monitoring.page import render


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """report.json and report.html in `out` (made when missing); raises OSError."""
    out.mkdir(parents=True, exist_ok=True)
    as_json, as_html = out / "report.json", out / "report.html"
    as_json.write_text(json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False) + "\n", encoding="utf-8")
    as_html.write_text(render(report), encoding="utf-8")
    return as_json, as_html
