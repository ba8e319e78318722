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


# Its part of the OpenAPI document, as JSON Schema.


def item_schemas() -> dict[str, dict[str, Any]]:
    """A prediction's score, label and contributions, as the classic answer and /v1's write them."""
    return {
        "score": {"type": "number", "minimum": 0, "maximum": 1, "description": "Probability of a breakdown."},
        "predicted_label": {"type": "integer", "enum": [0, 1], "description": "1: maintenance required."},
        "contributions": {
            "type": "object",
            "description": (
                "Each field's contribution to the model's margin against an average reading: the log-odds, or a "
                "forest's probability (the link in /v1/model). Only when asked for."
            ),
            "additionalProperties": {"type": "number"},
        },
    }


def answer_schema() -> dict[str, Any]:
    """The linear-learner answer."""
    item = {"type": "object", "properties": item_schemas(), "required": ["score", "predicted_label"]}
    return {
        "type": "object",
        "properties": {"predictions": {"type": "array", "items": item}},
        "required": ["predictions"],
    }
