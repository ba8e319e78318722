"""The `import-model` command: a model file from a training library, with a schema and optionally held-out data,
becomes the embedded backend's artifact. It imports the libraries when it runs."""

from __future__ import annotations

import datetime
import importlib
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from app.core.errors import ReadingsError
from app.core.fields import Schema
from app.core.prediction import BINARY, MULTICLASS, REGRESSION, Predictions
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
    trees format. A model of another task than two classes has no threshold."""
    from app.models.artifact import FORMAT, TREES_FORMAT, checksum

    artifact: dict[str, Any] = {"schema": schema.to_dict()}
    if "task" not in described:
        artifact["threshold"] = threshold
    if model["kind"] == "linear":
        artifact.update(format=FORMAT, **{key: model[key] for key in ("intercept", "categorical", "numeric")})
    else:
        artifact.update(format=TREES_FORMAT, model=model)
    artifact.update(described)
    artifact["checksum"] = checksum(artifact)
    return artifact


def with_gaps(model: dict[str, Any], schema: Schema) -> Schema:
    """The schema with each field nullable where the model scores a gap as its library does: every tree that
    splits on the field says where a gap goes. Raises ImportRefused for a model the runtime refuses."""
    from app.models.runtimes.trees import TreeEnsemble, TreeFileError

    if model["kind"] == "linear" or all("missing_left" not in tree for tree in model["trees"]):
        return schema  # a model whose trees never meet a gap: scikit-learn's
    try:
        ensemble = TreeEnsemble(model, Schema([replace(f, nullable=False) for f in schema.fields], schema.sample))
    except TreeFileError as problem:
        raise ImportRefused(f"the imported model cannot be served: {problem}") from None
    blind = {p for tree in ensemble.trees if tree.missing_left is None for p in tree.feature}
    fields = [replace(f, nullable=f.nullable or p not in blind) for p, f in enumerate(schema.fields)]
    return Schema(fields, schema.sample)


def class_names(values: list[str], lines: list[int], column: str, count: int) -> tuple[list[str], list[int]]:
    """The model's classes named by the label column, and each row's class: the values in order (as numbers when
    all are, else as text), the way scikit-learn's LabelEncoder gives XGBoost and LightGBM their classes 0 to
    count - 1; labels that are those numbers name them alone. Raises ReadingsError."""
    for value, line in zip(values, lines, strict=True):
        if not value:
            raise ReadingsError(f"line {line}, column {column}: the label is empty")
    names = [str(k) for k in range(count)]
    if set(values) <= set(names):
        return names, [int(value) for value in values]
    try:
        seen = sorted(set(values), key=float)
    except ValueError:
        seen = sorted(set(values))
    if len(seen) != count:
        raise ReadingsError(
            f"column {column}: {len(seen)} label values ({', '.join(seen[:10])}) for the model's {count} classes; "
            f"name them 0 to {count - 1} as the model was trained"
        )
    index = {name: k for k, name in enumerate(seen)}
    return seen, [index[value] for value in values]


def target_values(values: list[str], lines: list[int], column: str) -> list[float]:
    """The label column as numbers, for a regression; raises ReadingsError naming the line of one that is not."""
    numbers = []
    for value, line in zip(values, lines, strict=True):
        try:
            numbers.append(float(value))
        except ValueError:
            raise ReadingsError(f"line {line}, column {column}: {value!r} is not a number") from None
        if not math.isfinite(numbers[-1]):
            raise ReadingsError(f"line {line}, column {column}: {value!r} is not a finite number")
    return numbers


def task_metrics(classes: list[str], truth: list[Any], predicted: Predictions) -> dict[str, Any]:
    """Held-out metrics of a multi-class model (accuracy, macro F1 and each class's recall), or of a regression
    (mean absolute error, root mean squared error and R²), whose predictions have no labels."""
    from sklearn import metrics

    if predicted.labels is not None:
        known = list(range(len(classes)))
        labels = predicted.labels
        recalls = metrics.recall_score(truth, labels, labels=known, average=None, zero_division=0)
        return {
            "rows": len(truth),
            "accuracy": float(metrics.accuracy_score(truth, labels)),
            "macro_f1": float(metrics.f1_score(truth, labels, labels=known, average="macro", zero_division=0)),
            "recall": {name: float(r) for name, r in zip(classes, recalls, strict=True)},
        }
    values = predicted.scores
    return {
        "rows": len(truth),
        "mae": float(metrics.mean_absolute_error(truth, values)),
        "rmse": math.sqrt(metrics.mean_squared_error(truth, values)),
        "r2": float(metrics.r2_score(truth, values)) if len(truth) > 1 else None,
    }


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
@click.option(
    "--task",
    type=click.Choice([BINARY, MULTICLASS, REGRESSION]),
    default=None,
    help="What the model predicts; its objective says so, and an import that disagrees is refused.",
)
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
    task: str | None,
) -> None:
    """Import a model trained with XGBoost or LightGBM (two classes, several classes or a value: binary:logistic,
    multi:softprob, reg:squarederror, binary, multiclass, regression and the like) or scikit-learn (two classes:
    LogisticRegression or a tree model, alone or after a ColumnTransformer) into a JSON artifact that serves
    without the library. XGBoost's and LightGBM's models score a reading's missing values (gaps) as those libraries
    do, and the imported schema marks each field they can score so nullable."""
    if data is None and schema_path is None:
        raise click.UsageError(
            "give --schema FILE, --data CSV --label COLUMN, or both: the fields' rules come from them"
        )
    if data is not None and not label:
        raise click.UsageError("--data needs --label: the column that holds the labels")
    name = checked_name(model_path.stem if name is None else name, "--name")
    version = checked_name(datetime.date.today().isoformat() if version is None else version, "--version")
    content = model_path.read_bytes()
    library = recognise(content)
    try:
        reader = importlib.import_module(f"app.importing.from_{library}")
        from app.training.reading import infer_schema, read_dataset, readings

        document = read(reader, content)
        kind = reader.task(document) if hasattr(reader, "task") else BINARY  # scikit-learn's: two classes
        if task is not None and task != kind:
            raise ImportRefused(f"the model predicts {kind}, not --task {task}")
        given = load_schema(schema_path) if schema_path else None
        dataset = read_dataset(data, str(label), None, positive, kind == BINARY) if data else None
        schema = infer_schema(dataset, given) if dataset else given
        assert schema is not None
        if dataset and not schema.sample:
            schema = Schema(schema.fields, ",".join(dataset.rows[0]))
        model = reader.ensemble(document, schema)
        schema = with_gaps(model, schema)
        rows = readings(dataset, schema) if dataset else []
        classes: list[str] = []
        truth: list[Any] = []  # each held-out row's class, or value
        if kind == MULTICLASS:
            count = model["outputs"]
            classes, truth = (
                class_names(list(dataset.values), dataset.lines, str(label), count)
                if dataset
                else ([str(k) for k in range(count)], [])
            )
        elif kind == REGRESSION and dataset:
            truth = target_values(list(dataset.values), dataset.lines, str(label))
    except ImportError as missing:  # the training libraries, imported here or when the file is read
        raise click.ClickException(f"importing needs {missing.name}, which is not installed: {INSTALL}") from None
    except (ReadingsError, SchemaError, ImportRefused) as problem:
        raise click.ClickException(f"{model_path}: {getattr(problem, 'message', problem)}") from None
    described: dict[str, Any] = {
        "name": name,
        "version": version,
        **labelled(kind, classes, label, model, model_path, dataset, positive),
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

        predicted = backend.predict(rows)
        measured = (
            metrics(dataset.labels, predicted.scores, threshold)
            if kind == BINARY
            else task_metrics(classes, truth, predicted)
        )
        described.update(metrics=measured, distribution=distribution(schema, rows))
    artifact = artifact_of(model, schema, threshold, described)
    write_out(out, json.dumps(artifact, ensure_ascii=False) + "\n")
    count = len(model["trees"]) if model["kind"] != "linear" else 0
    what = f"{count} tree{'s' * (count != 1)}" if count else "a logistic regression"
    said = {BINARY: "ROC AUC {roc_auc:.4f}", MULTICLASS: "accuracy {accuracy:.4f}", REGRESSION: "RMSE {rmse:.6g}"}
    measured_text = f": {said[kind].format(**described['metrics'])} on {len(rows)} rows" if dataset else ""
    click.echo(f"wrote {out}: {what} from {model['source']}{measured_text}")


def labelled(
    kind: str, classes: list[str], label: str | None, model: dict[str, Any], path: Path, data: Any, positive: str | None
) -> dict[str, Any]:
    """The artifact's label section, and for another task than two classes its task section; raises
    click.ClickException when a two-class model scores another class than the data or --positive names."""
    if kind != BINARY:
        task = {"kind": kind, **({"classes": classes} if kind == MULTICLASS else {}), "target": label or "", "unit": ""}
        return {"task": task, "label": {"column": label}}
    named_classes: Any = model.get("classes")
    wanted = data.positive if data else positive
    # Trained on 0 and 1 or False and True, the model scores the positive class, as the boosters do; trained on
    # named classes, it scores the second, which must be the one the data or --positive names.
    named = named_classes not in (None, ["0", "1"], ["False", "True"])
    if named and wanted is not None and wanted != named_classes[1]:
        raise click.ClickException(
            f"{path}: the model scores its class {named_classes[1]!r} (classes {named_classes}), not {wanted!r}: "
            f"give --positive {named_classes[1]}, or train it with {wanted!r} as its second class"
        )
    return {
        "label": {
            "column": label,
            "positive": data.positive if data else positive or (named_classes[1] if named else "1"),
            "negative": data.negative if data else "0",
        }
    }
