"""Fitting and export: a stratified held-out split, its metrics, and an artifact the embedded backend loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.models.embedded import EmbeddedModel
from app.training.data import turbine_dataset
from app.training.fit import BINS, histogram, metrics, train
from app.training.reading import infer_schema


def test_train_holds_out_a_stratified_fifth_and_exports_a_loadable_artifact() -> None:
    data = turbine_dataset(1000, seed=3)
    schema = infer_schema(data, None)
    artifact, _ = train(data, schema, "breakdown", 3, "synthetic", "fit-test", "1")
    positives = sum(data.labels)
    assert artifact["training"] == {
        "source": "synthetic",
        "rows": 800,
        "held_out_rows": 200,
        "used_rows_per_class": {"positive": positives, "negative": 1000 - positives},
        "seed": 3,
    }
    assert artifact["metrics"]["rows"] == 200
    assert artifact["metrics"]["positive_rate"] == pytest.approx(positives / 1000, abs=0.01)
    assert (artifact["name"], artifact["version"], artifact["threshold"]) == ("fit-test", "1", 0.5)
    assert artifact["label"] == {"column": "breakdown", "positive": "yes", "negative": "no"}
    # No sample in the schema: the first row becomes it.
    assert artifact["schema"]["sample"] == ",".join(data.rows[0])
    assert set(artifact["distribution"]) == set(schema.names)
    backend = EmbeddedModel(artifact)
    assert backend.schema.names == schema.names


def test_metrics_count_the_confusion_matrix_at_the_threshold() -> None:
    measured = metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 1.0], 0.5)
    assert measured == {
        "rows": 4,
        "positive_rate": 0.5,
        "predicted_positive_rate": 0.5,
        "score_counts": [0, 1, 0, 0, 1, 0, 1, 0, 0, 1],  # 1.0 falls in the last bin
        "roc_auc": 0.75,
        "accuracy": 0.5,
        "precision": 0.5,
        "recall": 0.5,
        "confusion_matrix": {"true_negative": 1, "false_positive": 1, "false_negative": 1, "true_positive": 1},
    }


def test_importing_training_does_not_import_scikit_learn() -> None:
    code = (
        "import sys, app.training.commands\n"
        "assert not {'sklearn', 'numpy'} & {name.split('.')[0] for name in sys.modules}, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_histogram_has_bins_of_about_equal_count_with_their_means() -> None:
    values = [float(v % 97) for v in range(2000)]
    found = histogram(values)
    assert found["edges"][0] == 0 and found["edges"][-1] == 96
    assert sum(found["counts"]) == 2000 and len(found["counts"]) == BINS
    assert max(found["counts"]) - min(found["counts"]) <= 2 * 2000 / 97
    assert all(a <= m <= b for a, m, b in zip(found["edges"], found["means"], found["edges"][1:], strict=False))


def test_a_histogram_of_repeated_values_keeps_only_bins_that_hold_some() -> None:
    assert histogram([0.0, 0.0, 0.0, 0.0, 1.0, 2.0]) == {
        "edges": [0.0, 0.25, 1.25, 2.0],
        "counts": [4, 1, 1],
        "means": [0.0, 1.0, 2.0],
    }
    assert histogram([5.0]) == {"edges": [5.0, 5.0], "counts": [1], "means": [5.0]}
