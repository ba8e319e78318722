"""Training on any CSV with a header, the synthetic turbine data, and export of the embedded model's artifact.

scikit-learn is imported only inside the training functions: serving never needs it.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import random
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from app.backends.embedded import FORMAT, checksum
from app.errors import ValidationError
from app.schema import NAME, Field, Reading, ReadingsError, Schema, SchemaError, load_schema, turbine_schema

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

DEFAULT_SEED = 20261124
THRESHOLD = 0.5
HELD_OUT = 0.2
# Observed ranges are widened by this share of their span on each side (or by 1 for a constant column), so
# readings just beyond what training saw are still scored.
RANGE_MARGIN = 0.1
# Each class needs this many rows, so that both the training and the held-out part hold some of it.
MIN_CLASS_ROWS = 5
LABEL_PAIRS = (("yes", "no"), ("true", "false"), ("1", "0"))
# The synthetic turbine data's label column.
BREAKDOWN = "breakdown"
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


def field_name(header: str) -> str:
    """A header as a field name valid in JSON and URLs: `Air temperature [K]` -> `air_temperature_k`."""
    name = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")
    return f"f_{name}" if name[:1].isdigit() else name


class Dataset(NamedTuple):
    """Training data read from a CSV file: the features' headers, their text values per row, 0/1 labels,
    and the file line each row came from (blank lines are skipped, so errors name the real line)."""

    headers: list[str]
    rows: list[list[str]]
    labels: list[int]
    positive: str
    negative: str
    lines: list[int]


def _label_values(values: Sequence[str], lines: Sequence[int], column: str, positive: str | None) -> tuple[str, str]:
    """The positive and the negative label as written; raises ValidationError naming the line of a bad one."""
    seen: dict[str, int] = {}
    for value, line in zip(values, lines, strict=True):
        if not value:
            raise ValidationError(f"line {line}, column {column}: the label is empty")
        seen.setdefault(value.lower(), line)
        if len(seen) > 2:
            raise ValidationError(f"line {line}, column {column}: a third label value {value!r}; two classes only")
    if positive is not None:
        if positive.lower() not in seen:
            raise ValidationError(f"column {column}: --positive {positive!r} is not among its values")
        if len(seen) < 2:
            raise ValidationError(f"column {column}: only one label value; two classes are needed")
        return positive.lower(), next(v for v in seen if v != positive.lower())
    for pair in LABEL_PAIRS:
        if set(seen) <= set(pair) and len(seen) == 2:
            return pair
    raise ValidationError(
        f"column {column}: labels {', '.join(sorted(seen))} are not yes/no, true/false or 1/0; name the positive "
        "one with --positive"
    )


def read_dataset(path: Path, label: str, features: Sequence[str] | None, positive: str | None) -> Dataset:
    """The features and labels of a CSV file with a header; raises ValidationError naming the line and the
    column of anything it cannot use. Nothing is dropped: a bad row stops training."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        records = list(csv.reader(f))
    if not records:
        raise ValidationError(f"{path} is empty")
    header = [name.strip() for name in records[0]]
    for position, name in enumerate(header, 1):
        if not name:
            raise ValidationError(f"line 1: column {position} has an empty header")
        if header.index(name) != position - 1:
            raise ValidationError(f"line 1: column {name!r} appears more than once")
    if label not in header:
        raise ValidationError(f"line 1: no label column {label!r}; the header has {', '.join(header)}")
    chosen = list(features) if features else [name for name in header if name != label]
    for name in chosen:
        if name not in header:
            raise ValidationError(f"--features: {name!r} is not a column; the header has {', '.join(header)}")
        if name == label:
            raise ValidationError(f"--features: {name!r} is the label column")
    rows, labels, lines = [], [], []
    for line, record in enumerate(records[1:], 2):
        if not record:
            continue  # a blank line holds no row
        if len(record) != len(header):
            raise ValidationError(f"line {line}: {len(record)} values for the {len(header)} columns of the header")
        values = dict(zip(header, (value.strip() for value in record), strict=True))
        rows.append([values[name] for name in chosen])
        labels.append(values[label])
        lines.append(line)
    if not rows:
        raise ValidationError(f"{path} holds no rows under its header")
    positive_value, negative_value = _label_values(labels, lines, label, positive)
    classes = [int(value.lower() == positive_value) for value in labels]
    counts = {"positive": sum(classes), "negative": len(classes) - sum(classes)}
    for (name, count), value in zip(counts.items(), (positive_value, negative_value), strict=True):
        if count < MIN_CLASS_ROWS:
            raise ValidationError(
                f"column {label}: {count} row(s) of the {name} class {value!r}; at least {MIN_CLASS_ROWS} are "
                "needed to train and hold some out"
            )
    return Dataset(chosen, rows, classes, positive_value, negative_value, lines)


_ANY_NUMBER = Field("number", "number", "", "", minimum=-math.inf, maximum=math.inf)


def _is_number(text: str) -> bool:
    try:
        _ANY_NUMBER.from_texts([text])
    except ValueError:
        return False
    return True


def infer_schema(data: Dataset, given: Schema | None) -> Schema:
    """Each feature's field: from `given` where it names it, else a number when every value is a plain
    decimal (range: the observed one widened by RANGE_MARGIN) and a category of the values seen otherwise.
    Raises ValidationError for a column of numbers with a stray word in it, naming its line."""
    declared = {field.name: field for field in given.fields} if given else {}
    fields = []
    for position, header in enumerate(data.headers):
        name = field_name(header)
        if not NAME.fullmatch(name):
            raise ValidationError(f"line 1, column {header!r}: no field name can be made from this header")
        column = [row[position] for row in data.rows]
        for line, value in zip(data.lines, column, strict=True):
            if not value:
                raise ValidationError(f"line {line}, column {header}: empty value")
        if name in declared:
            fields.append(declared[name])
            continue
        numbers = [value for value in column if _is_number(value)]
        unit = match.group(1) if (match := re.search(r"\[([^\]]+)\]\s*$", header)) else ""
        if len(numbers) == len(column):
            values = list(map(float, numbers))
            low, high = min(values), max(values)
            margin = (high - low) * RANGE_MARGIN or 1.0
            fields.append(Field(name, header, unit, "", minimum=low - margin, maximum=high + margin))
        elif len(numbers) > len(column) / 2:
            line, word = next((n, v) for n, v in zip(data.lines, column, strict=True) if not _is_number(v))
            raise ValidationError(
                f"line {line}, column {header}: {word!r} is not a number, while {len(numbers)} of the column's "
                f"{len(column)} values are; fix it, or declare the column a category with --schema"
            )
        else:
            fields.append(Field(name, header, unit, "", tuple(sorted(set(column)))))
    names = [field.name for field in fields]
    for name in names:
        if names.count(name) > 1:
            raise ValidationError(f"two columns become the field name {name!r}; rename one or leave one out")
    return Schema(fields, given.sample if given and [f.name for f in given.fields] == names else "")


def readings(data: Dataset, schema: Schema) -> list[Reading]:
    """The rows validated against the schema; raises ValidationError naming the line and the field."""
    try:
        return list(schema.parse_rows(data.rows, data.lines))
    except ReadingsError as problem:
        first = problem.details[0]
        raise ValidationError(f"line {first['row']}, field {first['field']}: {first['message']}") from None


def build_pipeline(schema: Schema, seed: int) -> Pipeline:
    """One-hot categorical fields, standardised numeric fields, logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [i for i, f in enumerate(schema.fields) if f.categories]
    numeric = [i for i, f in enumerate(schema.fields) if not f.categories]
    parts: list[tuple[str, Any, list[int]]] = []
    if categorical:
        categories = [list(schema.fields[i].categories) for i in categorical]
        parts.append(("categorical", OneHotEncoder(categories=categories, handle_unknown="error"), categorical))
    if numeric:
        parts.append(("numeric", StandardScaler(), numeric))
    model = LogisticRegression(max_iter=1000, random_state=seed)
    return Pipeline([("columns", ColumnTransformer(parts)), ("model", model)])


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


def distribution(schema: Schema, rows: Sequence[Reading]) -> dict[str, Any]:
    """Each field's training distribution: quartiles of a number, shares of a category."""
    summary: dict[str, Any] = {}
    for field, column in zip(schema.fields, zip(*rows, strict=True), strict=True):
        if field.categories:
            counts = Counter(column)
            summary[field.name] = {"shares": {c: counts[c] / len(column) for c in field.categories}}
        else:
            q1, median, q3 = statistics.quantiles(column, n=4) if len(column) > 1 else [column[0]] * 3
            summary[field.name] = {
                "min": min(column),
                "q1": q1,
                "median": median,
                "q3": q3,
                "max": max(column),
                "mean": statistics.fmean(column),
            }
    return summary


def export(pipeline: Pipeline, schema: Schema, threshold: float, extra: dict[str, Any]) -> dict[str, Any]:
    """The artifact the embedded backend loads, from a fitted pipeline: plain JSON with a checksum."""
    columns, model = pipeline.named_steps["columns"], pipeline.named_steps["model"]
    coefs = [float(c) for c in model.coef_[0]]
    categorical, position = {}, 0
    for field in (f for f in schema.fields if f.categories):
        categorical[field.name] = dict(zip(field.categories, coefs[position:], strict=False))
        position += len(field.categories)
    numeric_fields = [f for f in schema.fields if not f.categories]
    scaler = columns.named_transformers_.get("numeric")
    numeric = {
        field.name: {"mean": float(scaler.mean_[i]), "scale": float(scaler.scale_[i]), "coef": coefs[position + i]}
        for i, field in enumerate(numeric_fields)
    }
    artifact = {
        "format": FORMAT,
        "schema": schema.to_dict(),
        "threshold": threshold,
        "intercept": float(model.intercept_[0]),
        "categorical": categorical,
        "numeric": numeric,
        **extra,
    }
    artifact["checksum"] = checksum(artifact)
    return artifact


def train(
    data: Dataset, schema: Schema, label: str, seed: int, source: str, name: str, version: str
) -> tuple[dict[str, Any], Pipeline]:
    """Fit on 80 % of the rows, stratified, measure on the held-out 20 %, and export the artifact."""
    from sklearn.model_selection import train_test_split

    rows = readings(data, schema)
    if not schema.sample:
        schema = Schema(schema.fields, ",".join(data.rows[0]))
    train_rows, test_rows, train_labels, test_labels = train_test_split(
        rows, data.labels, test_size=HELD_OUT, random_state=seed, stratify=data.labels
    )
    pipeline = build_pipeline(schema, seed).fit(to_frame(train_rows), train_labels)
    scores = pipeline.predict_proba(to_frame(test_rows))[:, 1].tolist()
    artifact = export(
        pipeline,
        schema,
        THRESHOLD,
        {
            "name": name,
            "version": version,
            "label": {"column": label, "positive": data.positive, "negative": data.negative},
            "metrics": metrics(test_labels, scores, THRESHOLD),
            "training": {
                "source": source,
                "rows": len(train_rows),
                "held_out_rows": len(test_rows),
                # All rows used, training and held out together, by class.
                "used_rows_per_class": {
                    "positive": sum(data.labels),
                    "negative": len(data.labels) - sum(data.labels),
                },
                "seed": seed,
            },
            "distribution": distribution(schema, train_rows),
        },
    )
    return artifact, pipeline


def turbine_dataset(rows: int, seed: int) -> Dataset:
    """The synthetic turbine readings as training data (header: the turbine fields)."""
    schema = turbine_schema()
    records = generate_dataset(rows, seed)
    texts = [[str(record[n]) for n in schema.names] for record in records]
    labels = [int(record[BREAKDOWN] == "yes") for record in records]
    return Dataset(list(schema.names), texts, labels, "yes", "no", list(range(2, rows + 2)))


@click.command("generate-data")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV file to write.")
@click.option("--rows", type=click.IntRange(min=10), default=20_000, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option(
    "--example", type=click.Choice(["turbine", "ai4i"]), default="turbine", show_default=True, help="Which data."
)
def generate_data_command(out: Path, rows: int, seed: int, example: str) -> None:
    """Write a synthetic training set: the turbine readings, or machine readings shaped like AI4I 2020."""
    from app.examples import ai4i

    write_dataset(ai4i.generate(rows, seed) if example == "ai4i" else generate_dataset(rows, seed), out)
    click.echo(f"wrote {rows} rows to {out}")


@click.command("train")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--label", default=BREAKDOWN, show_default=True, help="The column that holds the two classes.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Artifact to write.")
@click.option("--features", default=None, help="Comma-separated columns to use, in order. Default: all but the label.")
@click.option("--positive", default=None, help="The label value of the class to detect, when not yes/true/1.")
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A schema file with ranges, categories, labels, units and descriptions of some or all fields.",
)
@click.option("--name", default=None, help="Model name. Default: the data file's name.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--version", "version", default=None, help="Model version. Default: today's date.")
def train_command(
    data: Path,
    label: str,
    out: Path,
    features: str | None,
    positive: str | None,
    schema_path: Path | None,
    name: str | None,
    seed: int,
    version: str | None,
) -> None:
    """Train a logistic regression on a CSV file with a header and write its JSON artifact."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "training needs scikit-learn, which is not installed: pip install -r requirements-train.txt"
        ) from None
    try:
        given = load_schema(schema_path) if schema_path else None
        dataset = read_dataset(data, label, features.split(",") if features else None, positive)
        schema = infer_schema(dataset, given)
        artifact, _ = train(
            dataset, schema, label, seed, data.name, name or data.stem, version or datetime.date.today().isoformat()
        )
    except (ValidationError, SchemaError) as problem:
        raise click.ClickException(f"{data}: {getattr(problem, 'message', problem)}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(artifact, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    t, m = artifact["training"], artifact["metrics"]
    counts = t["used_rows_per_class"]
    click.echo(
        f"used {t['rows'] + t['held_out_rows']} rows ({counts['positive']} {dataset.positive}, "
        f"{counts['negative']} {dataset.negative}): {t['rows']} to train, {t['held_out_rows']} held out"
    )
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
