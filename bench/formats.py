"""10,000 readings in each wire format, scored in process (Flask's test client) by the app of the checkout this
script is run from: prints each format's median seconds as JSON. bench/run.py runs it for two checkouts in turn.

    PYTHONPATH=CHECKOUT python bench/formats.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from app import create_app
from app.core.schemas import turbine_schema
from app.training.data import turbine_dataset

ROWS = 10_000


def bodies() -> dict[str, tuple[str, bytes, str]]:
    """Each format's path, body and content type, holding the same readings."""
    schema = turbine_schema()
    texts = turbine_dataset(ROWS, 1).rows
    numbers = [i for i, field in enumerate(schema.fields) if not field.categories]
    rows: list[list[Any]] = [[float(v) if i in numbers else v for i, v in enumerate(row)] for row in texts]
    columns = [list(column) for column in zip(*rows, strict=True)]
    records = [dict(zip(schema.names, row, strict=True)) for row in rows]
    tensors = [
        {
            "name": field.name,
            "datatype": "BYTES" if field.categories else "FP64",
            "shape": [ROWS, 1],
            "data": column,
        }
        for field, column in zip(schema.fields, columns, strict=True)
    ]
    name = json.loads(create_app({"TESTING": True}).test_client().get("/v1/model").data)["name"]
    as_json = "application/json"
    return {
        "csv": ("/", "\n".join(map(",".join, texts)).encode(), "text/csv"),
        "instances": ("/", json.dumps({"instances": rows}).encode(), as_json),
        "records": ("/", json.dumps(records).encode(), as_json),
        "dataframe_records": ("/", json.dumps({"dataframe_records": records}).encode(), as_json),
        "dataframe_split": (
            "/",
            json.dumps({"dataframe_split": {"columns": list(schema.names), "data": rows}}).encode(),
            as_json,
        ),
        "inputs_columns": (
            "/",
            json.dumps({"inputs": dict(zip(schema.names, columns, strict=True))}).encode(),
            as_json,
        ),
        "open_inference": (f"/v2/models/{name}/infer", json.dumps({"inputs": tensors}).encode(), as_json),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    client = create_app({"TESTING": True, "ACCESS_LOG": False}).test_client()
    made = bodies()
    times: dict[str, list[float]] = {name: [] for name in made}
    for turn in range(args.repeats):  # interleaved: a drift of the machine's speed hits every format alike
        for name in made if turn % 2 == 0 else list(made)[::-1]:
            path, body, content_type = made[name]
            start = time.perf_counter()
            answer = client.post(path, data=body, content_type=content_type)
            times[name].append(time.perf_counter() - start)
            if answer.status_code != 200:
                raise SystemExit(f"{name}: {answer.status_code} {answer.data[:300]!r}")
    print(json.dumps({name: statistics.median(values) for name, values in times.items()}))


if __name__ == "__main__":
    main()
