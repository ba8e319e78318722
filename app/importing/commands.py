"""The `import-model` command: a model file from a training library, with a schema and optionally held-out data,
becomes the embedded backend's artifact. It imports the libraries when it runs."""

from __future__ import annotations

import datetime
import importlib
import json
from pathlib import Path
from typing import Any

import click

from app.core.errors import ReadingsError
from app.core.fields import Schema
from app.core.schemas import SchemaError, load_schema
from app.importing import ImportRefused
from app.training import checked_name, write_out

INSTALL = "pip install -r requirements-import.txt"
# How joblib's compressed files begin: zlib, gzip, bz2, xz and lzma.
JOBLIB_COMPRESSED = (b"x\x01", b"x^", b"x\x9c", b"x\xda", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"]\x00\x00")


def recognise(content: bytes) -> str:
    """The library that wrote a model file, from its first bytes."""
    if content.startswith(b"tree\nversion="):
        return "lightgbm"
    if content.lstrip()[:1] == b"{":
        return "xgboost"  # JSON or UBJSON: both open an object
    if content.startswith((b"PK\x03\x04", b"\x80", *JOBLIB_COMPRESSED)):
        return "sklearn"  # a skops zip, or a joblib or pickle file
    raise click.ClickException(
        "the file is not a model this command reads: an XGBoost JSON or UBJSON file, a LightGBM text model file, "
        "or a scikit-learn model saved with skops or joblib"
    )


def artifact_of(model: dict[str, Any], schema: Schema, threshold: float, described: dict[str, Any]) -> dict[str, Any]:
    """The embedded backend's artifact for an imported model: the logistic format for a linear model, else the
    trees format."""
    from app.models.artifact import FORMAT, TREES_FORMAT, checksum

    artifact: dict[str, Any] = {"schema": schema.to_dict(), "threshold": threshold}
    if model["kind"] == "linear":
        artifact.update(format=FORMAT, **{key: model[key] for key in ("intercept", "categorical", "numeric")})
    else:
        artifact.update(format=TREES_FORMAT, model=model)
    artifact.update(described)
    artifact["checksum"] = checksum(artifact)
    return artifact


def read(reader: Any, content: bytes) -> Any:
    """What a library's reader makes of a model file; raises ImportRefused for whatever else reading raises. A
    joblib file runs its code when read, and that code may exit: an exit here is a refusal, not the command's end."""
    try:
        return reader.load(content)
    except (ImportError, ImportRefused, KeyboardInterrupt):
        raise
    except BaseException as problem:  # SystemExit included: a refusal exits 1
        raise ImportRefused(f"reading the file failed: {type(problem).__name__}: {str(problem)[:200]}") from None


@click.command("import-model")
@click.argument("model_path", metavar="MODEL", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Artifact to write.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Held-out rows (CSV).")
@click.option("--label", help="The label column of --data.")
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A schema file with the fields' ranges, categories (in the model's order), units and descriptions.",
)
@click.option("--name", default=None, help="Model name. Default: the model file's name.")
@click.option("--version", "version", default=None, help="Model version. Default: today's date.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5, show_default=True)
@click.option("--positive", default=None, help="The label value of the class the model detects, when not yes/true/1.")
def import_model_command(
    model_path: Path,
    out: Path,
    data: Path | None,
    label: str | None,
    schema_path: Path | None,
    name: str | None,
    version: str | None,
    threshold: float,
    positive: str | None,
) -> None:
    """Import a two-class model trained with XGBoost (binary:logistic), LightGBM (binary) or scikit-learn
    (LogisticRegression or a tree model, alone or after a ColumnTransformer) into a JSON artifact that serves
    without the library."""
    if data is None and schema_path is None:
        raise click.UsageError(
            "give --schema FILE, --data CSV --label COLUMN, or both: the fields' rules come from them"
        )
    if data is not None and not label:
        raise click.UsageError("--data needs --label: the column that holds the two classes")
    name = checked_name(model_path.stem if name is None else name, "--name")
    version = checked_name(datetime.date.today().isoformat() if version is None else version, "--version")
    content = model_path.read_bytes()
    library = recognise(content)
    try:
        reader = importlib.import_module(f"app.importing.from_{library}")
        from app.training.reading import infer_schema, read_dataset, readings

        given = load_schema(schema_path) if schema_path else None
        dataset = read_dataset(data, str(label), None, positive) if data else None
        schema = infer_schema(dataset, given) if dataset else given
        assert schema is not None
        if dataset and not schema.sample:
            schema = Schema(schema.fields, ",".join(dataset.rows[0]))
        model = reader.ensemble(read(reader, content), schema)
        rows = readings(dataset, schema) if dataset else []
    except ImportError as missing:  # the training libraries, imported here or when the file is read
        raise click.ClickException(f"importing needs {missing.name}, which is not installed: {INSTALL}") from None
    except (ReadingsError, SchemaError, ImportRefused) as problem:
        raise click.ClickException(f"{model_path}: {getattr(problem, 'message', problem)}") from None
    classes = model.get("classes")
    wanted = dataset.positive if dataset else positive
    # Trained on 0 and 1 or False and True, the model scores the positive class, as the boosters do; trained on
    # named classes, it scores the second, which must be the one the data or --positive names.
    named = classes not in (None, ["0", "1"], ["False", "True"])
    if named and wanted is not None and wanted != classes[1]:
        raise click.ClickException(
            f"{model_path}: the model scores its class {classes[1]!r} (classes {classes}), not {wanted!r}: give "
            f"--positive {classes[1]}, or train it with {wanted!r} as its second class"
        )
    described: dict[str, Any] = {
        "name": name,
        "version": version,
        "label": {
            "column": label,
            "positive": dataset.positive if dataset else positive or (classes[1] if named else "1"),
            "negative": dataset.negative if dataset else "0",
        },
        "metrics": None,
        "training": {"source": model_path.name, "library": model["source"], "held_out_rows": len(rows)},
        "distribution": None,
    }
    from app.models.artifact import ModelFileError
    from app.models.embedded import EmbeddedModel

    try:  # what serving will check, checked before the file is written
        backend = EmbeddedModel(artifact_of(model, schema, threshold, described))
    except ModelFileError as problem:
        raise click.ClickException(f"{model_path}: the imported model cannot be served: {problem}") from None
    if dataset:
        from app.training.fit import distribution, metrics

        scores = backend.predict(rows).scores
        described.update(metrics=metrics(dataset.labels, scores, threshold), distribution=distribution(schema, rows))
    artifact = artifact_of(model, schema, threshold, described)
    write_out(out, json.dumps(artifact, ensure_ascii=False) + "\n")
    count = len(model["trees"]) if model["kind"] != "linear" else 0
    what = f"{count} tree{'s' * (count != 1)}" if count else "a logistic regression"
    measured = f": ROC AUC {described['metrics']['roc_auc']:.4f} on {len(rows)} rows" if dataset else ""
    click.echo(f"wrote {out}: {what} from {model['source']}{measured}")
