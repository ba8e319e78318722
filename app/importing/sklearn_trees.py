"""scikit-learn's tree models (a decision tree, random and extra-trees forests, gradient boosting and
histogram gradient boosting) as a tree ensemble over the schema's fields.

A library tree splits on the columns its pipeline makes from the fields. Each node's test is carried over to its
field by asking the fitted pipeline itself, so every rounding is scikit-learn's own:
- a categorical field's node lists the categories whose column value goes left;
- a numeric field's node becomes the float64 threshold below which every value goes left, found by bisection
  over float64 values through the pipeline's transform. Every transformer accepted is increasing in each value
  (scalers, imputing, passing through), and so is the float32 cast the classic trees make, so one threshold
  holds.

Boosted models add log-odds (logistic link); a forest averages its trees' probabilities, so each leaf holds its
share of the mean (identity link)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.core.fields import Field, Schema
from app.importing import ImportRefused, check_trained_on
from app.models.runtimes.trees import LEAF, NODE_ARRAYS


class Walk:
    """One fitted tree's arrays: children (-1 below a leaf), the column each node splits, leaf values, cover."""

    def __init__(self, left: Any, right: Any, column: Any, leaf: Any, cover: Any) -> None:
        self.left, self.right = [int(n) for n in left], [int(n) for n in right]
        self.column, self.leaf, self.cover = [int(c) for c in column], [float(v) for v in leaf], list(map(float, cover))

    def goes_left(self, node: int, values: Any) -> Any:
        """Which of a column's values go left at a node, as the library decides."""
        threshold, as_float32 = self.numeric(node)
        return compared(values, as_float32) <= threshold

    def numeric(self, node: int) -> tuple[float, bool]:
        """The node's threshold, and whether the library compares the value as float32 first."""
        raise NotImplementedError


def compared(values: Any, as_float32: Any) -> Any:
    """The values as the library compares them: rounded to float32 where `as_float32` says (a flag, or one per
    value), else as they are."""
    import numpy as np

    return np.where(as_float32, values.astype(np.float32).astype(np.float64), values)


class ClassicWalk(Walk):
    """A `tree_` of the classic trees, which compare float32(x) <= threshold."""

    def __init__(self, tree: Any, leaf: Any) -> None:
        super().__init__(tree.children_left, tree.children_right, tree.feature, leaf, tree.weighted_n_node_samples)
        self.threshold = [float(t) for t in tree.threshold]

    def numeric(self, node: int) -> tuple[float, bool]:
        return self.threshold[node], True


class HistWalk(Walk):
    """A HistGradientBoosting predictor: x <= threshold in float64, or a bitset of category codes going left."""

    def __init__(self, predictor: Any) -> None:
        nodes = predictor.nodes
        below = [-1 if leaf else int(n) for leaf, n in zip(nodes["is_leaf"], nodes["left"], strict=True)]
        above = [-1 if leaf else int(n) for leaf, n in zip(nodes["is_leaf"], nodes["right"], strict=True)]
        super().__init__(below, above, nodes["feature_idx"], nodes["value"], nodes["count"])
        self.nodes, self.bitsets = nodes, predictor.raw_left_cat_bitsets

    def numeric(self, node: int) -> tuple[float, bool]:
        if self.nodes["is_categorical"][node]:
            raise ImportRefused(f"column {self.column[node]} is categorical in the model but holds a number")
        return float(self.nodes["num_threshold"][node]), False

    def goes_left(self, node: int, values: Any) -> Any:
        import numpy as np

        if not self.nodes["is_categorical"][node]:
            return super().goes_left(node, values)
        codes = values.astype(np.int64)
        words = self.bitsets[self.nodes["bitset_idx"][node]]
        return (words[codes // 32] >> (codes % 32)) & 1 == 1


def walks(model: Any) -> tuple[str, float, list[Walk]]:
    """The model's link, base score and trees."""
    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

    if isinstance(model, HistGradientBoostingClassifier):
        base = float(model._baseline_prediction.ravel()[0])  # the fitted model's prior log-odds
        return "logistic", base, [HistWalk(predictor) for (predictor,) in model._predictors]
    if isinstance(model, GradientBoostingClassifier):
        if model.loss != "log_loss":
            raise ImportRefused(f"loss {model.loss}: only log_loss can be imported")
        init = model.init_
        if isinstance(init, str):  # "zero"
            base = 0.0
        elif type(init).__name__ == "DummyClassifier" and init.strategy == "prior":
            eps = float(np.finfo(np.float32).eps)  # scikit-learn clips the prior so its log-odds stay finite
            prior = min(max(float(init.class_prior_[1]), eps), 1 - eps)
            base = math.log(prior / (1 - prior))
        else:
            raise ImportRefused(f"init {type(init).__name__}: only the default prior or 'zero' can be imported")
        rate = model.learning_rate
        boosted: list[Walk] = [ClassicWalk(t.tree_, t.tree_.value[:, 0, 0] * rate) for t in model.estimators_[:, 0]]
        return "logistic", base, boosted
    forest = getattr(model, "estimators_", [model])
    share = 1 / len(forest)
    trees: list[Walk] = []
    for member in forest:
        value = member.tree_.value[:, 0, :]
        trees.append(ClassicWalk(member.tree_, value[:, 1] / value.sum(axis=1) * share))
    return "identity", 0.0, trees


def tree_ensemble(
    model: Any, pipeline: Any, names: Sequence[str], columns: Sequence[str], schema: Schema
) -> dict[str, Any]:
    """The artifact's `model` section. `names` are the fields the pipeline (or the model, without one) reads, in
    its order; `columns` name the field each of its output columns comes from."""
    import numpy as np

    link, base, trees = walks(model)
    preprocessor = getattr(model, "_preprocessor", None)  # HistGradientBoosting's own encoder of its categories
    if preprocessor is not None:  # it moves the categorical columns first
        native = np.asarray(model.is_categorical_, dtype=bool)
        columns = [columns[i] for i in [*np.flatnonzero(native), *np.flatnonzero(~native)]]
    fields = {f.name: f for f in schema.fields}

    def encoded(frame: dict[str, Any]) -> Any:
        import pandas as pd

        matrix = pd.DataFrame(
            {name: frame[name].astype(object if fields[name].categories else float) for name in names}
        )
        if pipeline is not None:
            matrix = pipeline.transform(matrix)
        if hasattr(matrix, "toarray"):  # a sparse one-hot output
            matrix = matrix.toarray()
        if preprocessor is not None:
            matrix = preprocessor.transform(matrix)
        return np.asarray(matrix, dtype=np.float64)

    start = {f.name: f.categories[0] if f.categories else float(f.minimum) for f in schema.fields}

    def readings(field: Any, values: Any) -> dict[str, Any]:
        """Readings that differ from one start only in the named field of each: a column depends on one field."""
        return {
            name: np.where(field == name, values, np.full(len(values), start[name], dtype=object)) for name in names
        }

    by_category = {}
    for field in schema.fields:
        if field.categories and field.name in columns:
            table = encoded(readings(np.full(len(field.categories), field.name), np.array(field.categories, object)))
            known = [c for c, row in zip(field.categories, table, strict=True) if not np.isnan(row).any()]
            check_trained_on(field, known)  # the encoder gives an unknown category no code
            by_category[field.name] = table
    numeric = [
        (t, n)
        for t, tree in enumerate(trees)
        for n, c in enumerate(tree.column)
        if tree.left[n] != -1 and not fields[columns[c]].categories
    ]
    limits = _thresholds(trees, numeric, columns, fields, encoded, readings)
    out = []
    for t, tree in enumerate(trees):
        spec: dict[str, Any] = {key: [] for key in (*NODE_ARRAYS, "column")}
        spec["left_categories"] = {}
        for node, column in enumerate(tree.column):
            split = tree.left[node] != -1
            split_on = fields[columns[column]] if split else None
            spec["feature"].append(schema.names.index(split_on.name) if split_on else LEAF)
            spec["column"].append(column if split else LEAF)
            spec["left"].append(max(tree.left[node], 0))  # a leaf's children: never followed
            spec["right"].append(max(tree.right[node], 0))
            spec["value"].append(0.0 if split else tree.leaf[node])
            spec["cover"].append(tree.cover[node])
            if split_on and split_on.categories:
                left = tree.goes_left(node, by_category[split_on.name][:, column])
                spec["left_categories"][str(node)] = [
                    c for c, goes in zip(split_on.categories, left, strict=True) if goes
                ]
            spec["threshold"].append(limits[t, node] if split_on and not split_on.categories else 0.0)
        out.append(spec)
    return {
        "kind": "tree_ensemble",
        "link": link,
        "base_score": base,
        "columns": [schema.names.index(name) for name in columns],
        "trees": out,
    }


def _thresholds(
    trees: list[Walk],
    nodes: list[tuple[int, int]],
    columns: Sequence[str],
    fields: dict[str, Field],
    encoded: Any,
    readings: Any,
) -> dict[tuple[int, int], float]:
    """For each numeric node, the float64 t for which a value x of its field goes left exactly when x < t: the
    least value in the field's range that goes right, or past the range's top when none does."""
    import numpy as np

    if not nodes:
        return {}
    column = np.array([trees[t].column[n] for t, n in nodes])
    spec = [trees[t].numeric(n) for t, n in nodes]
    threshold = np.array([s[0] for s in spec])
    as_float32 = np.array([s[1] for s in spec])
    owner = np.array([columns[c] for c in column])
    low = _keys(np.array([fields[name].minimum for name in owner], dtype=np.float64))
    high = _keys(np.array([fields[name].maximum for name in owner], dtype=np.float64))

    def left_at(keys: Any) -> Any:
        """Whether each node sends its field's value at these keys left."""
        seen = encoded(readings(owner, _floats(keys).astype(object)))[np.arange(len(nodes)), column]
        return compared(seen, as_float32) <= threshold

    all_left, none_left = left_at(high), ~left_at(low)
    while True:
        open_ = (high - 1 > low) & ~all_left & ~none_left  # high - low could overflow
        if not open_.any():
            break
        middle = np.where(open_, (low >> 1) + (high >> 1) + (low & high & 1), low)
        left = left_at(middle)
        low = np.where(open_ & left, middle, low)
        high = np.where(open_ & ~left, middle, high)
    top = np.nextafter(np.array([fields[name].maximum for name in owner], dtype=np.float64), np.inf)
    result = np.where(all_left, top, np.where(none_left, _floats(low), _floats(high)))
    return {node: float(t) for node, t in zip(nodes, result, strict=True)}


def _keys(values: Any) -> Any:
    """float64 values as int64 keys in the same order, consecutive floats having consecutive keys."""
    import numpy as np

    bits = values.view(np.int64)
    return np.where(bits >= 0, bits, -(bits & np.int64(0x7FFFFFFFFFFFFFFF)))


def _floats(keys: Any) -> Any:
    import numpy as np

    bits = np.where(keys >= 0, keys, (-keys) | np.int64(-0x8000000000000000))
    return bits.astype(np.int64).view(np.float64)
