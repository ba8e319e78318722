"""The synthetic turbine data: readings with breakdowns drawn from a known failure mechanism, reproducible by seed."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.schemas import turbine_schema
from app.training import BREAKDOWN
from app.training.reading import Dataset

# Per-turbine offsets in the failure mechanism: TID004 is an older unit, TID009 a newer one.
TURBINE_RISK = {"TID004": 0.5, "TID009": -0.4}


def breakdown_log_odds(row: dict[str, Any]) -> float:
    """The synthetic failure mechanism: breakdowns rise with high wind speed together with high
    blade RPM, hot oil, low oil level and strong vibration; vertical-axis turbines fail a little more."""
    wind, rpm = row["wind_speed"] - 40, row["rpm_blade"] - 45
    z: float = (
        -3.2
        + 0.05 * wind
        + 0.035 * rpm
        + 0.001 * max(wind, 0) * max(rpm, 0)
        + 0.3 * (row["oil_temperature"] - 40)
        - 0.1 * (row["oil_level"] - 32)
        + 0.55 * (row["vibrations_frequency"] - 4)
        + (0.3 if row["turbine_type"] == "VAWT" else 0.0)
        + TURBINE_RISK.get(row["turbine_id"], 0.0)
    )
    return z


def _clip(value: float, low: float, high: float) -> float:
    return round(min(max(value, low), high), 1)


def generate_dataset(rows: int, seed: int) -> list[dict[str, Any]]:
    """Turbine readings with a `breakdown` of "yes"/"no" drawn from breakdown_log_odds, reproducible by seed."""
    rng = random.Random(seed)
    fields = {field.name: field for field in turbine_schema().fields}
    ids, directions = fields["turbine_id"].categories, fields["wind_direction"].categories
    data = []
    for _ in range(rows):
        wind = _clip(rng.gauss(40, 15), 0, 120)
        row: dict[str, Any] = {
            "turbine_id": rng.choice(ids),
            "turbine_type": "VAWT" if rng.random() < 0.3 else "HAWT",
            "wind_speed": wind,
            "rpm_blade": _clip(1.1 * wind + rng.gauss(0, 10), 0, 200),
            "oil_temperature": _clip(rng.gauss(40, 4), 10, 90),
            "oil_level": _clip(rng.gauss(32, 8), 0, 100),
            "temperature": _clip(rng.gauss(30, 12), -20, 70),
            "humidity": _clip(rng.uniform(20, 95), 0, 100),
            "vibrations_frequency": _clip(rng.gauss(4, 2), 0, 30),
            "pressure": _clip(rng.gauss(40, 10), 0, 150),
            "wind_direction": rng.choice(directions),
        }
        p = 1 / (1 + math.exp(-breakdown_log_odds(row)))
        row[BREAKDOWN] = "yes" if rng.random() < p else "no"
        data.append(row)
    return data


def write_dataset(data: Sequence[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)


def turbine_dataset(rows: int, seed: int) -> Dataset:
    """The synthetic turbine readings as training data (header: the turbine fields)."""
    schema = turbine_schema()
    records = generate_dataset(rows, seed)
    texts = [[str(record[n]) for n in schema.names] for record in records]
    labels = [int(record[BREAKDOWN] == "yes") for record in records]
    return Dataset(list(schema.names), texts, labels, "yes", "no", list(range(2, rows + 2)))
