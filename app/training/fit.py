"""Fitting the scikit-learn pipeline, its held-out metrics, and export to the embedded model's JSON artifact.

scikit-learn is imported only inside the functions here: serving never needs it.
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.core.fields import Schema
from app.core.table import Reading
from app.models.artifact import FORMAT, checksum
from app.training.reading import Dataset, readings

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

THRESHOLD = 0.5
HELD_OUT = 0.2
BINS = 20  # equal-frequency bins of each number's training values, for the drift report
SCORE_BINS = 10  # equal-width bins of the held-out scores


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
    score_counts = Counter(min(int(s * SCORE_BINS), SCORE_BINS - 1) for s in scores)
    return {
        "rows": len(labels),
        "positive_rate": sum(labels) / len(labels),
        "predicted_positive_rate": sum(predicted) / len(predicted),
        # Scores in [k/SCORE_BINS, (k+1)/SCORE_BINS), the last bin closed.
        "score_counts": [score_counts[k] for k in range(SCORE_BINS)],
        "roc_auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "confusion_matrix": {"true_negative": tn, "false_positive": fp, "false_negative": fn, "true_positive": tp},
    }


def distribution(schema: Schema, rows: Sequence[Reading]) -> dict[str, Any]:
    """Each field's training distribution: quartiles, standard deviation and histogram of a number, shares of a
    category."""
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
                "std": statistics.pstdev(column),
                "histogram": histogram(column),
            }
    return summary


def histogram(values: Sequence[float]) -> dict[str, list[float]]:
    """Up to BINS bins holding about as many values each: `edges` from the smallest value to the largest, and
    each bin's count and mean. Bin k holds edges[k] <= value < edges[k + 1], the last bin also its upper edge."""
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=BINS, method="inclusive") if len(ordered) > 1 else []
    edges = sorted({ordered[0], *cuts, ordered[-1]})
    if len(edges) == 1:
        edges.append(edges[0])
    members: list[list[float]] = [[] for _ in edges[1:]]
    for value in ordered:
        members[min(bisect.bisect_right(edges, value) - 1, len(members) - 1)].append(value)
    kept = [k for k, found in enumerate(members) if found]
    return {
        "edges": [edges[0], *(edges[k + 1] for k in kept)],
        "counts": [len(members[k]) for k in kept],
        "means": [statistics.fmean(members[k]) for k in kept],
    }


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
