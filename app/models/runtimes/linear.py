"""The linear runtime: the logistic regression `flask train` fits, and imported linear models, scored in pure
Python."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from app.core.fields import Schema
from app.core.table import Reading, Readings
from app.models.artifact import LARGEST_SUM, ModelFileError, finite, past_largest_sum


class LinearModel:
    """The logistic regression `flask train` fits: a weight per category, a standardised slope per number."""

    link = "logistic"
    outputs = 1

    def __init__(self, artifact: dict[str, Any], schema: Schema) -> None:
        categorical, numeric = artifact.get("categorical"), artifact.get("numeric")
        if not isinstance(categorical, dict) or not isinstance(numeric, dict):
            raise ModelFileError("categorical and numeric must be objects")
        for field in schema.fields:
            if field.categories:
                weights = categorical.get(field.name)
                if not isinstance(weights, dict) or sorted(weights) != sorted(field.categories):
                    raise ModelFileError(f"categorical.{field.name} must weigh exactly {', '.join(field.categories)}")
                for category, weight in weights.items():
                    finite(weight, f"categorical.{field.name}.{category}")
            else:
                spec = numeric.get(field.name)
                if not isinstance(spec, dict):
                    raise ModelFileError(f"numeric.{field.name} is missing")
                for key in ("mean", "scale", "coef"):
                    finite(spec.get(key), f"numeric.{field.name}.{key}")
                if spec["scale"] <= 0:
                    raise ModelFileError(f"numeric.{field.name}.scale must be positive")
        self.intercept = finite(artifact.get("intercept"), "intercept")
        # A margin adds the intercept, a weight per category and a slope times each number, within its range.
        reach = [("intercept", abs(self.intercept))]
        for field in schema.fields:
            if field.categories:
                reach.append((f"categorical.{field.name}", max(map(abs, categorical[field.name].values()))))
            else:
                spec = numeric[field.name]
                farthest = max(abs(field.minimum), abs(field.maximum)) + abs(spec["mean"])
                reach.append((f"numeric.{field.name}", abs(spec["coef"] / spec["scale"]) * farthest))
        past = past_largest_sum(reach)
        if past is not None:
            raise ModelFileError(
                f"{past}: the intercept, weights and slopes times the schema's ranges add up past {LARGEST_SUM:g} "
                "here, too near the largest float for the sums made scoring and explaining"
            )
        self.names = schema.names
        # coef * (x - mean) / scale == (coef / scale) * x - coef * mean / scale: the constant parts fold into
        # the base. Explanations measure each category against its field's average weight, as numbers are
        # measured against their training mean; the baseline absorbs those averages.
        self._categories: list[tuple[int, str, dict[str, float], float]] = []
        self._numbers: list[tuple[int, str, float, float]] = []
        for position, field in enumerate(schema.fields):
            if field.categories:
                weights = categorical[field.name]
                self._categories.append((position, field.name, weights, math.fsum(weights.values()) / len(weights)))
            else:
                spec = numeric[field.name]
                slope = spec["coef"] / spec["scale"]
                self._numbers.append((position, field.name, slope, slope * spec["mean"]))
        self._base = self.intercept - math.fsum(offset for *_, offset in self._numbers)
        self.baseline = self.intercept + math.fsum(mean for *_, mean in self._categories)

    def margins(self, rows: Sequence[Reading]) -> list[float]:
        """Each row's log-odds: the base, then each category's weight and each number's term, in field order,
        added up row by row."""
        columns = rows.columns if isinstance(rows, Readings) else list(zip(*rows, strict=True))
        terms = [map(weights.__getitem__, columns[position]) for position, _, weights, _ in self._categories]
        terms += [map(operator.mul, repeat(slope), columns[position]) for position, _, slope, _ in self._numbers]
        return list(map(sum, zip(repeat(self._base), *terms)))

    def contributions(self, row: Reading) -> dict[str, float]:
        """Each field's term in the log-odds, relative to an average reading; with the baseline they sum to it."""
        terms = {name: weights[row[position]] - mean for position, name, weights, mean in self._categories}
        terms.update((name, slope * row[position] - offset) for position, name, slope, offset in self._numbers)
        return {name: terms[name] for name in self.names}

    def describe(self) -> dict[str, Any]:
        return {"kind": "linear", "link": self.link, "intercept": self.intercept}
