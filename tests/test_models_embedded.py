"""The embedded model: parity with scikit-learn, the classic sample, explanations that add up, and MODEL_PATH."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.core.schemas import read_sample, turbine_schema
from app.core.table import Readings
from app.core.validation import validate_rows
from app.models.artifact import DEFAULT_MODEL_PATH
from app.models.embedded import EmbeddedModel, load_artifact
from app.training.data import turbine_dataset
from app.training.fit import to_frame
from tests.conftest import write

TURBINE = turbine_schema()


def test_scores_equal_scikit_learn_within_1e_9(trained: tuple[dict[str, Any], Any]) -> None:
    artifact, pipeline = trained
    rows = list(validate_rows(TURBINE, turbine_dataset(5000, seed=99).rows, range(5000)))
    expected = pipeline.predict_proba(to_frame(rows))[:, 1]
    scores, labels, contributions = EmbeddedModel(artifact).predict(rows)
    assert len(scores) == 5000 and contributions is None
    assert max(abs(s - e) for s, e in zip(scores, expected, strict=True)) < 1e-9
    assert labels == [int(e >= 0.5) for e in expected]


def test_rows_and_columns_score_alike(trained: tuple[dict[str, Any], Any]) -> None:
    backend = EmbeddedModel(trained[0])
    rows = list(validate_rows(TURBINE, turbine_dataset(50, seed=5).rows, range(50)))
    columns = Readings([list(column) for column in zip(*rows, strict=True)])
    assert backend.predict(columns, explain=True) == backend.predict(rows, explain=True)


def test_committed_model_says_the_classic_sample_needs_maintenance() -> None:
    backend = EmbeddedModel.from_file(DEFAULT_MODEL_PATH)
    [score], [label], _ = backend.predict([read_sample(TURBINE)[0]])
    assert score > 0.9 and label == 1


def test_committed_model_carries_held_out_metrics() -> None:
    artifact = load_artifact(DEFAULT_MODEL_PATH)
    assert artifact["metrics"]["roc_auc"] > 0.85
    assert artifact["training"]["held_out_rows"] == artifact["metrics"]["rows"]


def test_contributions_sum_to_the_log_odds(trained: tuple[dict[str, Any], Any]) -> None:
    backend = EmbeddedModel(trained[0])
    row = read_sample(TURBINE)[0]
    _, _, contributions = backend.predict([row], explain=True)
    assert contributions is not None
    model = backend.model
    assert model.baseline + sum(contributions[0].values()) == pytest.approx(model.margins([row])[0], abs=1e-12)


def test_model_path_selects_another_artifact(
    trained: tuple[dict[str, Any], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_PATH", str(write(tmp_path, trained[0])))
    body = create_app().test_client().get("/v1/model").get_json()
    assert body["version"] == "test"
    assert body["checksum"] == trained[0]["checksum"]
