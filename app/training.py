"""Synthetic data, training and export of the embedded model, as `flask` CLI commands.

scikit-learn is imported only here, inside the training function: serving never needs it.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.backends.embedded import FORMAT, checksum
from app.errors import ValidationError
from app.schema import (
    CATEGORICAL_FIELDS,
    CATEGORICAL_POSITIONS,
    FIELD_NAMES,
    NUMERIC_FIELDS,
    NUMERIC_POSITIONS,
    SCHEMA_VERSION,
    TURBINE,
    Reading,
)

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

DATA_COLUMNS = (*FIELD_NAMES, "breakdown")
DEFAULT_SEED = 20261124
THRESHOLD = 0.5
# The original data set's documented fill-ins for its gaps.
FILL_INS = {"turbine_type": "HAWT", "oil_temperature": "37.0"}

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
    """Readings with a `breakdown` of "yes"/"no" drawn from breakdown_log_odds, reproducible by seed."""
    rng = random.Random(seed)
    ids = CATEGORICAL_FIELDS[0].categories
    directions = CATEGORICAL_FIELDS[2].categories
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
        row["breakdown"] = "yes" if rng.random() < p else "no"
        data.append(row)
    return data


def write_dataset(data: Iterable[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=DATA_COLUMNS)
        writer.writeheader()
        writer.writerows(data)


def labelled_rows(records: Iterable[dict[str, Any]], where: str) -> tuple[list[Reading], list[int]]:
    """Readings and 0/1 labels from records of the 11 fields plus `breakdown` yes/no.

    Empty turbine_type and oil_temperature take the original data set's fill-ins; any other bad value
    raises ValidationError naming the record's line (the header is line 1)."""
    rows, labels = [], []
    for line, record in enumerate(records, 2):
        values = {name: "" if record.get(name) is None else str(record[name]).strip() for name in DATA_COLUMNS}
        for name, fill in FILL_INS.items():
            values[name] = values[name] or fill
        if values["breakdown"].lower() not in ("yes", "no"):
            raise ValidationError(f"{where} line {line}: breakdown must be yes or no, got {values['breakdown']!r}")
        try:
            rows.append(TURBINE.parse_text_values([values[n] for n in FIELD_NAMES], line))
        except ValidationError as problem:
            detail = problem.details[0]
            raise ValidationError(f"{where} line {line}: {detail['field']}: {detail['message']}") from None
        labels.append(int(values["breakdown"].lower() == "yes"))
    if not rows:
        raise ValidationError(f"{where} holds no rows")
    return rows, labels


def read_dataset(path: Path) -> tuple[list[Reading], list[int]]:
    """labelled_rows from a CSV file with a header row."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in DATA_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationError(f"{path}: missing column(s) {', '.join(missing)}")
        return labelled_rows(reader, str(path))


def build_pipeline(seed: int) -> Pipeline:
    """One-hot categorical fields, standardised numeric fields, logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encoder = OneHotEncoder(categories=[list(f.categories) for f in CATEGORICAL_FIELDS], handle_unknown="error")
    columns = ColumnTransformer(
        [
            ("categorical", encoder, list(CATEGORICAL_POSITIONS)),
            ("numeric", StandardScaler(), list(NUMERIC_POSITIONS)),
        ]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=1000, random_state=seed))])


def to_frame(rows: Sequence[Reading]) -> Any:
    """Rows as the object array the pipeline takes (column positions follow the schema)."""
    import numpy as np

    return np.array(rows, dtype=object)


def metrics(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_score, recall_score, roc_auc_score

    predicted = [int(s >= threshold) for s in scores]
    (tn, fp), (fn, tp) = confusion_matrix(labels, predicted, labels=[0, 1]).tolist()
    return {
        "rows": len(labels),
        "positive_rate": sum(labels) / len(labels),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "confusion_matrix": {"true_negative": tn, "false_positive": fp, "false_negative": fn, "true_positive": tp},
    }


def export(pipeline: Pipeline, threshold: float, extra: dict[str, Any]) -> dict[str, Any]:
    """The artifact the embedded backend loads, from a fitted pipeline."""
    columns, model = pipeline.named_steps["columns"], pipeline.named_steps["model"]
    coefs = [float(c) for c in model.coef_[0]]
    categorical, position = {}, 0
    for field in CATEGORICAL_FIELDS:
        categorical[field.name] = dict(zip(field.categories, coefs[position:], strict=False))
        position += len(field.categories)
    scaler = columns.named_transformers_["numeric"]
    numeric = {
        field.name: {"mean": float(mean), "scale": float(scale), "coef": coefs[position + i]}
        for i, (field, mean, scale) in enumerate(zip(NUMERIC_FIELDS, scaler.mean_, scaler.scale_, strict=True))
    }
    artifact = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "fields": list(FIELD_NAMES),
        "threshold": threshold,
        "intercept": float(model.intercept_[0]),
        "categorical": categorical,
        "numeric": numeric,
        **extra,
    }
    artifact["checksum"] = checksum(artifact)
    return artifact


def train(
    rows: Sequence[Reading], labels: Sequence[int], seed: int, source: str, version: str
) -> tuple[dict[str, Any], Pipeline]:
    """Fit on 80 % of the rows, measure on the held-out 20 %, and export the artifact."""
    from sklearn.model_selection import train_test_split

    train_rows, test_rows, train_labels, test_labels = train_test_split(
        list(rows), list(labels), test_size=0.2, random_state=seed, stratify=list(labels)
    )
    pipeline = build_pipeline(seed).fit(to_frame(train_rows), train_labels)
    scores = pipeline.predict_proba(to_frame(test_rows))[:, 1].tolist()
    artifact = export(
        pipeline,
        THRESHOLD,
        {
            "name": "turbine-breakdown-logistic",
            "version": version,
            "metrics": metrics(test_labels, scores, THRESHOLD),
            "training": {"source": source, "rows": len(train_rows), "held_out_rows": len(test_rows), "seed": seed},
        },
    )
    return artifact, pipeline


@click.command("generate-data")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV file to write.")
@click.option("--rows", type=click.IntRange(min=10), default=20_000, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
def generate_data_command(out: Path, rows: int, seed: int) -> None:
    """Write a synthetic training set in the original data's CSV format."""
    write_dataset(generate_dataset(rows, seed), out)
    click.echo(f"wrote {rows} rows to {out}")


@click.command("train")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training CSV (header, 11 fields, breakdown yes/no). Default: synthetic data from --seed.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Artifact to write.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--version", "version", default=None, help="Model version. Default: today's date.")
def train_command(data: Path | None, out: Path, seed: int, version: str | None) -> None:
    """Train the logistic-regression model and write its JSON artifact with held-out metrics."""
    try:
        if data is None:
            rows, labels = labelled_rows(generate_dataset(20_000, seed), "synthetic data")
            source = f"synthetic, 20000 rows, seed {seed}"
        else:
            rows, labels = read_dataset(data)
            source = data.name
    except ValidationError as problem:
        raise click.ClickException(problem.message) from None
    artifact, _ = train(rows, labels, seed, source, version or datetime.date.today().isoformat())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(artifact, indent=2) + "\n", encoding="utf-8")
    m = artifact["metrics"]
    click.echo(
        f"wrote {out}: ROC AUC {m['roc_auc']:.4f}, accuracy {m['accuracy']:.4f}, "
        f"precision {m['precision']:.4f}, recall {m['recall']:.4f} on {m['rows']} held-out rows"
    )


@click.group()
def main() -> None:
    """Training commands that run without loading the app (python -m app.training)."""


main.add_command(generate_data_command)
main.add_command(train_command)

if __name__ == "__main__":
    main()
