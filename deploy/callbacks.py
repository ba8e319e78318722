"""Zappa's callbacks (zappa_settings.json: "callbacks"): API Gateway's settings (deploy/gateway.py), then capture's
(deploy/capture.py). Both import only the standard library at the top."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Zappa loads this file alone, by its path: the project folder is not on the import path until this puts it there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy import capture, gateway


def settings(zappa_cli: Any) -> None:
    gateway.settings(zappa_cli)
    capture.settings(zappa_cli)


def post(zappa_cli: Any) -> None:
    gateway.post(zappa_cli)
    capture.post(zappa_cli)
