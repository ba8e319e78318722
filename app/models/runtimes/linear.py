"""The linear runtime: the models `flask train` fits and the linear models import-model reads, scored in pure
Python. A margin per output is an intercept, a weight per category and a slope times each number; a gap in a
field takes the value the model's imputer put there.

Two forms are read. turbine-status-logistic/2, the binary logistic regression of earlier versions, keeps its
parts at the artifact's top: "intercept", "categorical" {field: {category: weight}} and "numeric" {field: {"mean",
"scale", "coef"}} (a slope of coef / scale, measured against mean). turbine-status-linear/1 keeps them in its
"model": {"kind": "linear", "link", "outputs": k, "intercept": [k], "categorical": {field: {category: [k]}},
"numeric": {field: {"slope": [k], "center": c}}, "impute": {field: value}}: one number per output, a margin
intercept + weights + slope * x (explanations measure a number against its center), and for each nullable field
the value a gap is scored as."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from app.core.fields import Field, Schema
from app.core.table import Reading, Readings
from app.models.artifact import LARGEST_SUM, ModelFileError, finite, past_largest_sum

LINKS = ("logistic", "softmax", "identity")
# One output's parts: a field's position and name, then each category's weight and their mean (a category), or the
# slope and its offset, slope * center (a number).
Category = tuple[int, str, dict[str, float], float]
Number = tuple[int, str, float, float]


def _numbers(values: Any, count: int, where: str) -> list[float]:
    if not isinstance(values, list) or len(values) != count:
        raise ModelFileError(f"{where} must list {count} number(s), one per output")
    return [finite(value, f"{where}[{k}]") for k, value in enumerate(values)]


class LinearModel:
    """A weight per category and a slope per number, for each output; with the link, the logistic regression of
    two classes, the multinomial one of k, or a linear regression."""

    def __init__(self, artifact: dict[str, Any], schema: Schema) -> None:
        centred = artifact["format"] == "turbine-status-logistic/2"
        if centred:
            self.link, self.outputs = "logistic", 1
            intercepts, categorical, numeric, impute = self._of_logistic(artifact, schema)
        else:
            intercepts, categorical, numeric, impute = self._of_linear(artifact.get("model"), schema)
        self.intercept: float | list[float] = intercepts[0] if self.outputs == 1 else intercepts
        self.names, self._fields = schema.names, schema.by_name
        self._impute = self._gaps(impute, schema)
        # coef * (x - mean) / scale == (coef / scale) * x - coef * mean / scale: the constant parts fold into
        # the base. Explanations measure each category against its field's average weight, as numbers are
        # measured against their center; the baseline absorbs those averages.
        self._parts: list[tuple[float, list[Category], list[Number]]] = []
        baselines = []
        for k, intercept in enumerate(intercepts):
            weighed = {name: {c: w[k] for c, w in given.items()} for name, given in categorical.items()}
            self._check_sum(intercept, weighed, numeric, k)
            categories: list[Category] = []
            numbers: list[Number] = []
            for position, field in enumerate(schema.fields):
                if field.categories:
                    weights = weighed[field.name]
                    categories.append((position, field.name, weights, math.fsum(weights.values()) / len(weights)))
                else:
                    slope, center = numeric[field.name]
                    numbers.append((position, field.name, slope[k], slope[k] * center))
            offsets, means = math.fsum(offset for *_, offset in numbers), math.fsum(mean for *_, mean in categories)
            if centred:  # the intercept is the margin at the numbers' centers
                self._parts.append((intercept - offsets, categories, numbers))
                baselines.append(intercept + means)
            else:
                self._parts.append((intercept, categories, numbers))
                baselines.append(intercept + means + offsets)
        self.baseline: float | list[float] = baselines[0] if self.outputs == 1 else baselines

    def _of_logistic(
        self, artifact: dict[str, Any], schema: Schema
    ) -> tuple[list[float], dict[str, dict[str, list[float]]], dict[str, tuple[list[float], float]], dict[str, Any]]:
        categorical, numeric = artifact.get("categorical"), artifact.get("numeric")
        if not isinstance(categorical, dict) or not isinstance(numeric, dict):
            raise ModelFileError("categorical and numeric must be objects")
        weights: dict[str, dict[str, list[float]]] = {}
        slopes: dict[str, tuple[list[float], float]] = {}
        for field in schema.fields:
            if field.categories:
                given = categorical.get(field.name)
                if not isinstance(given, dict) or sorted(given) != sorted(field.categories):
                    raise ModelFileError(f"categorical.{field.name} must weigh exactly {', '.join(field.categories)}")
                weights[field.name] = {c: [finite(w, f"categorical.{field.name}.{c}")] for c, w in given.items()}
            else:
                spec = numeric.get(field.name)
                if not isinstance(spec, dict):
                    raise ModelFileError(f"numeric.{field.name} is missing")
                for key in ("mean", "scale", "coef"):
                    finite(spec.get(key), f"numeric.{field.name}.{key}")
                if spec["scale"] <= 0:
                    raise ModelFileError(f"numeric.{field.name}.scale must be positive")
                slopes[field.name] = ([spec["coef"] / spec["scale"]], float(spec["mean"]))
        return [finite(artifact.get("intercept"), "intercept")], weights, slopes, {}

    def _of_linear(
        self, model: Any, schema: Schema
    ) -> tuple[list[float], dict[str, dict[str, list[float]]], dict[str, tuple[list[float], float]], dict[str, Any]]:
        if not isinstance(model, dict) or model.get("kind") != "linear":
            raise ModelFileError('model.kind must be "linear"')
        if model.get("link") not in LINKS:
            raise ModelFileError(f"model.link must be one of {', '.join(LINKS)}")
        self.link = model["link"]
        outputs = model.get("outputs", 1)
        if type(outputs) is not int or outputs < 1:
            raise ModelFileError("model.outputs must be a positive whole number")
        self.outputs = outputs
        categorical, numeric = model.get("categorical"), model.get("numeric")
        impute = model.get("impute", {})
        if not isinstance(categorical, dict) or not isinstance(numeric, dict) or not isinstance(impute, dict):
            raise ModelFileError("model.categorical, model.numeric and model.impute must be objects")
        weights: dict[str, dict[str, list[float]]] = {}
        slopes: dict[str, tuple[list[float], float]] = {}
        for field in schema.fields:
            where = f"model.{'categorical' if field.categories else 'numeric'}.{field.name}"
            if field.categories:
                given = categorical.get(field.name)
                if not isinstance(given, dict) or sorted(given) != sorted(field.categories):
                    raise ModelFileError(f"{where} must weigh exactly {', '.join(field.categories)}")
                weights[field.name] = {c: _numbers(w, outputs, f"{where}.{c}") for c, w in given.items()}
            else:
                spec = numeric.get(field.name)
                if not isinstance(spec, dict) or set(spec) != {"slope", "center"}:
                    raise ModelFileError(f'{where} must be {{"slope": [...], "center": ...}}')
                slopes[field.name] = (
                    _numbers(spec["slope"], outputs, f"{where}.slope"),
                    finite(spec["center"], f"{where}.center"),
                )
        unknown = sorted(set(categorical) - set(weights)) + sorted(set(numeric) - set(slopes))
        if unknown:
            raise ModelFileError(f"the model weighs {unknown[0]}, which is not one of the schema's fields")
        return _numbers(model.get("intercept"), outputs, "model.intercept"), weights, slopes, impute

    @staticmethod
    def _gaps(impute: dict[str, Any], schema: Schema) -> dict[int, Any]:
        """Where a gap may be, and the value it is scored as: every nullable field has one, no other field."""
        found: dict[int, Any] = {}
        for position, field in enumerate(schema.fields):
            if field.nullable and field.name not in impute:
                raise ModelFileError(f"model.impute: {field.name} is nullable; the model gives no value for a gap")
            if field.nullable:
                found[position] = _impute_value(field, impute[field.name])
        unknown = sorted(set(impute) - {schema.names[p] for p in found})
        if unknown:
            raise ModelFileError(f"model.impute names {unknown[0]}, which is not a nullable field")
        return found

    def _check_sum(
        self,
        intercept: float,
        weighed: dict[str, dict[str, float]],
        numeric: dict[str, tuple[list[float], float]],
        k: int,
    ) -> None:
        """A margin adds the intercept, a weight per category and a slope times each number, within its range:
        refused when those could add up past LARGEST_SUM."""
        reach = [("intercept" if self.outputs == 1 else f"intercept[{k}]", abs(intercept))]
        for name, field in self._fields.items():
            if field.categories:
                reach.append((f"categorical.{name}", max(map(abs, weighed[name].values()))))
            else:
                slope, center = numeric[name]
                farthest = max(abs(field.minimum), abs(field.maximum)) + abs(center)
                reach.append((f"numeric.{name}", abs(slope[k]) * farthest))
        past = past_largest_sum(reach)
        if past is not None:
            raise ModelFileError(
                f"{past}: the intercept, weights and slopes times the schema's ranges add up past {LARGEST_SUM:g} "
                "here, too near the largest float for the sums made scoring and explaining"
            )

    def _columns(self, rows: Sequence[Reading]) -> Sequence[Sequence[Any]]:
        columns: Sequence[Sequence[Any]] = rows.columns if isinstance(rows, Readings) else list(zip(*rows, strict=True))
        if not self._impute:
            return columns
        filled = list(columns)
        for position, value in self._impute.items():
            if None in filled[position]:
                filled[position] = [value if x is None else x for x in filled[position]]
        return filled

    def margins(self, rows: Sequence[Reading]) -> list[Any]:
        """Each row's margin (the log-odds of a binary model): the base, then each category's weight and each
        number's term, in field order, added up row by row; a list of them per row with several outputs."""
        columns = self._columns(rows)
        found = []
        for base, categories, numbers in self._parts:
            terms = [map(weights.__getitem__, columns[position]) for position, _, weights, _ in categories]
            terms += [map(operator.mul, repeat(slope), columns[position]) for position, _, slope, _ in numbers]
            found.append(list(map(sum, zip(repeat(base), *terms))))
        return found[0] if self.outputs == 1 else [list(row) for row in zip(*found, strict=True)]

    def contributions(self, row: Reading) -> dict[str, Any]:
        """Each field's term in the margin, relative to an average reading (a gap: to the value it is scored as);
        with the baseline they sum to it. A list of one per output with several."""
        row = tuple(self._impute[p] if x is None and p in self._impute else x for p, x in enumerate(row))
        shares = []
        for _, categories, numbers in self._parts:
            terms = {name: weights[row[position]] - mean for position, name, weights, mean in categories}
            terms.update((name, slope * row[position] - offset) for position, name, slope, offset in numbers)
            shares.append(terms)
        if self.outputs == 1:
            return {name: shares[0][name] for name in self.names}
        return {name: [terms[name] for terms in shares] for name in self.names}

    def describe(self) -> dict[str, Any]:
        return {"kind": "linear", "link": self.link, "intercept": self.intercept}


def _impute_value(field: Field, value: Any) -> Any:
    """A gap's value for this field: one of its categories, or a finite number."""
    where = f"model.impute.{field.name}"
    if field.categories:
        if value not in field.categories:
            raise ModelFileError(f"{where} must be one of {', '.join(field.categories)}")
        return value
    return finite(value, where)
