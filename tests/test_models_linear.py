"""The linear runtime: the binary logistic regression of earlier artifacts as before, and turbine-status-linear/1's
k outputs, regression and gaps scored as the model's imputer fills them."""

from __future__ import annotations

import math
from typing import Any

import pytest

from app.core.fields import Field, Schema
from app.models.artifact import LINEAR_FORMAT, ModelFileError, checksum
from app.models.embedded import EmbeddedModel

SCHEMA = Schema(
    [
        Field("kind", "kind", "", "", ("a", "b")),
        Field("heat", "heat", "°C", "", (), -10.0, 50.0, nullable=True),
        Field("load", "load", "", "", (), 0.0, 1.0),
    ]
)


def artifact(model: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": LINEAR_FORMAT,
        "schema": SCHEMA.to_dict(),
        "name": "linear",
        "version": "1",
        "task": task,
        "label": {"column": "y"},
        "metrics": None,
        "training": {},
        "distribution": None,
        "model": model,
    }
    document["checksum"] = checksum(document)
    return document


THREE = {
    "kind": "linear",
    "link": "softmax",
    "outputs": 3,
    "intercept": [0.1, -0.2, 0.3],
    "categorical": {"kind": {"a": [0.5, 0.0, -0.5], "b": [-0.5, 1.0, 0.5]}},
    "numeric": {
        "heat": {"slope": [0.02, -0.01, 0.0], "center": 20.0},
        "load": {"slope": [1.0, 2.0, -3.0], "center": 0.5},
    },
    "impute": {"heat": 18.5},
}


def margins(row: tuple[Any, ...]) -> list[float]:
    kind, heat, load = row
    heat = 18.5 if heat is None else heat
    return [
        THREE["intercept"][k]
        + THREE["categorical"]["kind"][kind][k]
        + THREE["numeric"]["heat"]["slope"][k] * heat
        + THREE["numeric"]["load"]["slope"][k] * load
        for k in range(3)
    ]


def test_k_classes_score_as_the_softmax_of_their_margins_and_a_gap_as_its_imputed_value() -> None:
    model = EmbeddedModel(artifact(THREE, {"kind": "multiclass", "classes": ["x", "y", "z"]}))
    rows = [("a", 10.0, 0.2), ("b", None, 0.9), ("b", 18.5, 0.9)]
    scores, labels, contributions = model.predict(rows, explain=True)
    assert contributions is not None
    for row, score, label, shares in zip(rows, scores, labels or [], contributions, strict=True):
        expected = [math.exp(m) for m in margins(row)]
        assert score == pytest.approx([e / sum(expected) for e in expected], abs=1e-15)
        assert label == score.index(max(score))
        for k in range(3):  # with the baseline, each output's shares sum to its margin
            assert model.model.baseline[k] + sum(s[k] for s in shares.values()) == pytest.approx(margins(row)[k])
    assert scores[1] == scores[2]  # a gap is scored as the value its imputer put there


def test_a_regression_is_its_margin() -> None:
    one = {**THREE, "link": "identity", "outputs": 1, "intercept": [1.5]}
    one["categorical"] = {"kind": {"a": [0.25], "b": [-0.25]}}
    one["numeric"] = {"heat": {"slope": [0.5], "center": 0.0}, "load": {"slope": [2.0], "center": 0.0}}
    model = EmbeddedModel(artifact(one, {"kind": "regression", "target": "rul", "unit": "cycles"}))
    scores, labels, _ = model.predict([("a", 4.0, 0.5), ("b", None, 0.0)])
    assert scores == [1.5 + 0.25 + 2.0 + 1.0, 1.5 - 0.25 + 0.5 * 18.5] and labels is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"impute": {}}, "model.impute: heat is nullable; the model gives no value for a gap"),
        ({"impute": {"heat": 1.0, "load": 0.5}}, "model.impute names load, which is not a nullable field"),
        ({"impute": {"heat": "warm"}}, "model.impute.heat must be a finite number"),
        ({"link": "probit"}, "model.link must be one of logistic, softmax, identity"),
        ({"intercept": [0.1, 0.2]}, "model.intercept must list 3 number"),
        ({"numeric": {"heat": {"slope": [1, 2, 3]}, "load": THREE["numeric"]["load"]}}, "model.numeric.heat must be"),
        ({"categorical": {"kind": {"a": [0, 0, 0]}}}, "model.categorical.kind must weigh exactly a, b"),
        ({"intercept": [0.0, 2e300, 0.0]}, r"intercept\[1\]: the intercept, weights and slopes"),
    ],
)
def test_a_linear_model_that_cannot_score_its_fields_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        EmbeddedModel(artifact({**THREE, **change}, {"kind": "multiclass", "classes": ["x", "y", "z"]}))
