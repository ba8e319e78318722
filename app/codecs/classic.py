"""The classic answer, SageMaker linear-learner's shape, which POST /, /invocations (as JSON or JSON Lines) and
MLflow's clients read: {"predictions": [{"score": ..., "predicted_label": ...}, ...]}, with each field's
contributions when asked. A multi-class score lists each class's probability; a regression has no label."""

from __future__ import annotations

from typing import Any

from app.core.prediction import Predictions


def items(predictions: Predictions) -> list[dict[str, Any]]:
    """Each reading's score and label, and its contributions if they were asked for."""
    scores, labels, contributions = predictions
    if labels is None:
        found: list[dict[str, Any]] = [{"score": s} for s in scores]
    elif contributions is None:
        return [{"score": s, "predicted_label": k} for s, k in zip(scores, labels, strict=True)]
    else:
        found = [{"score": s, "predicted_label": k} for s, k in zip(scores, labels, strict=True)]
    if contributions is not None:
        for item, contribution in zip(found, contributions, strict=True):
            item["contributions"] = contribution
    return found


def body(predictions: Predictions) -> dict[str, Any]:
    """The linear-learner answer: {"predictions": [{"score": ..., "predicted_label": ...}, ...]}."""
    return {"predictions": items(predictions)}
