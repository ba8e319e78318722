"""Synthetic machine readings shaped like the public AI4I 2020 predictive-maintenance data set, drawn from the
failure modes its documentation gives: tool wear, heat dissipation, power, overstrain and random failures.

Train on it with the schema beside this file, leaving out the ID columns and the per-mode columns, which
give the label away:

    flask --app app generate-data --example ai4i --out data/ai4i.csv --rows 10000
    flask --app app train --data data/ai4i.csv --label "Machine failure" --out data/ai4i-model.json \\
      --schema app/examples/ai4i-schema.json \\
      --features "Type,Air temperature [K],Process temperature [K],Rotational speed [rpm],Torque [Nm],Tool wear [min]"
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "ai4i-schema.json"
FEATURES = (
    "Type",
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
)
LABEL = "Machine failure"
# Share of each product quality, the tool wear each process adds, and the overstrain limit (min by Nm).
QUALITIES = {"L": (0.5, 2, 11_000), "M": (0.3, 3, 12_000), "H": (0.2, 5, 13_000)}


def generate(rows: int, seed: int) -> list[dict[str, Any]]:
    """Readings in process order, with the failure mode columns and `Machine failure`, reproducible by seed."""
    rng = random.Random(seed)
    air_drift, wear, replace_at = 0.0, 0, rng.uniform(200, 240)
    data = []
    for udi in range(1, rows + 1):
        quality = rng.choices(list(QUALITIES), weights=[q[0] for q in QUALITIES.values()])[0]
        _, wear_step, overstrain = QUALITIES[quality]
        air_drift = 0.98 * air_drift + rng.gauss(0, 0.4)  # a slow random walk with a spread of about 2 K
        air = round(300 + air_drift, 1)
        process = round(air + 10 + rng.gauss(0, 1), 1)
        torque = round(max(3.8, rng.gauss(40, 10)), 1)
        # The spindle runs at about 6.4 kW, so speed falls as torque rises; noise and the speed limits aside.
        speed = round(min(2886, max(1168, 6400 * rng.gauss(1, 0.08) / (torque * 2 * math.pi / 60))))
        wear += wear_step
        tool_wear = rng.random() < 0.57 if wear >= replace_at else False  # the tool is replaced, or fails
        if wear >= replace_at:
            wear, replace_at = 0, rng.uniform(200, 240)
        power = torque * speed * 2 * math.pi / 60
        modes = {
            "TWF": tool_wear,
            "HDF": process - air < 8.6 and speed < 1380,
            "PWF": power < 3500 or power > 9000,
            "OSF": wear * torque > overstrain,
            "RNF": rng.random() < 0.001,
        }
        data.append(
            {
                "UDI": udi,
                "Product ID": f"{quality}{rng.randrange(10_000, 100_000)}",
                "Type": quality,
                "Air temperature [K]": air,
                "Process temperature [K]": process,
                "Rotational speed [rpm]": speed,
                "Torque [Nm]": torque,
                "Tool wear [min]": wear,
                LABEL: int(any(modes.values())),
                **{mode: int(failed) for mode, failed in modes.items()},
            }
        )
    return data
