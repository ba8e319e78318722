"""The `generate-data` and `train` commands, and the group that runs them without the app (python -m app.training).

Each imports the training modules when it runs: the app registers these commands at every start, serving included."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import click

from app.core.errors import ReadingsError
from app.core.schemas import SchemaError, load_schema
from app.training import BREAKDOWN, DEFAULT_SEED, checked_name, write_out


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
    from app.training.data import generate_dataset, write_dataset

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
    name = checked_name(data.stem if name is None else name, "--name")
    version = checked_name(datetime.date.today().isoformat() if version is None else version, "--version")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "training needs scikit-learn, which is not installed: pip install -r requirements-train.txt"
        ) from None
    from app.training.fit import train
    from app.training.reading import infer_schema, read_dataset

    try:
        given = load_schema(schema_path) if schema_path else None
        dataset = read_dataset(data, label, features.split(",") if features else None, positive)
        schema = infer_schema(dataset, given)
        artifact, _ = train(dataset, schema, label, seed, data.name, name, version)
    except (ReadingsError, SchemaError) as problem:
        raise click.ClickException(f"{data}: {getattr(problem, 'message', problem)}") from None
    write_out(out, json.dumps(artifact, indent=2, ensure_ascii=False) + "\n")
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
