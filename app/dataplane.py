"""The data plane, the same under every protocol: a decoded body is validated against the model's fields, bounded,
scored, noted in the request's record and handed to the hooks (capture), and what the model said goes back to the
protocol's codec to encode. Free of Flask and HTTP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from app.core.errors import TooManyToExplain
from app.core.prediction import Predictions
from app.core.table import Readings
from app.core.validation import Decoded, validate
from app.models import Model
from app.models.registry import Registry
from app.monitoring.ids import InferenceIds


@dataclass(frozen=True)
class Limits:
    """What one request may ask: readings, and readings to explain."""

    max_rows: int
    max_explain_rows: int


class Record(Protocol):
    """The request's record, which the data plane notes what it scored in (the web layer's RequestRecord)."""

    rows: int | None
    inference_id: str | None
    labels: Sequence[int]


class Inference(NamedTuple):
    """A scored request: the model that answered, the validated readings, what it said, and the answer's id."""

    model: Model
    readings: Readings
    predictions: Predictions
    inference_id: str


Hook = Callable[[Inference], None]  # told of each scored request, before it is answered


class DataPlane:
    def __init__(self, models: Registry, limits: Limits, ids: InferenceIds, hooks: Sequence[Hook] = ()) -> None:
        self.models = models
        self.limits = limits
        self.ids = ids
        self.hooks = tuple(hooks)

    def model(self, name: str | None = None, version: str | None = None) -> Model:
        """The model a request names, or the default; raises ModelNotFound."""
        return self.models.get(name, version)

    def infer(self, model: Model, decoded: Decoded, record: Record, explain: bool = False) -> Inference:
        """Validate and score a decoded body; raises ReadingsError naming every bad row and field, TooManyToExplain,
        and the model's ModelFailure or ExplainUnsupported."""
        readings = validate(model.schema, decoded)
        count = len(readings)
        if explain and count > self.limits.max_explain_rows:
            raise TooManyToExplain(count, self.limits.max_explain_rows)
        record.rows = count
        record.inference_id = inference_id = self.ids.issue(count)
        predictions = model.predict(readings, explain=explain, inference_id=inference_id)
        record.labels = predictions.labels or ()
        inference = Inference(model, readings, predictions, inference_id)
        for hook in self.hooks:
            hook(inference)
        return inference
