"""An XGBoost binary:logistic booster (its JSON or UBJSON file) as a tree ensemble over a schema's fields.

XGBoost compares a feature as float32 (`value < split` goes left) and adds leaves to a float32 base margin. Each
split becomes the float64 threshold that sends every float64 value the way XGBoost sends its float32 rounding, so
serving compares plain floats. A categorical split lists the category codes that go right; codes are positions in
the schema's categories, the order the model was trained with."""

from __future__ import annotations

import json
from typing import Any

from app.core.fields import Schema
from app.importing import ImportRefused, check_codes, positions
from app.models.runtimes.trees import NODE_ARRAYS


def load(content: bytes) -> dict[str, Any]:
    """The booster's JSON document; XGBoost itself reads the file, so a corrupt or truncated one is refused."""
    import xgboost

    booster = xgboost.Booster()
    try:
        booster.load_model(bytearray(content))
    except xgboost.core.XGBoostError as problem:
        reason = str(problem).strip().splitlines()[0][:200]
        raise ImportRefused(f"XGBoost cannot read the file: {reason}") from None
    document: dict[str, Any] = json.loads(booster.save_raw("json"))
    document["version_text"] = f"xgboost {xgboost.__version__}"
    return document


def float64_threshold(split: float) -> float:
    """The float64 t for which x < t exactly when float32(x) < float32(split), rounding to nearest even."""
    import numpy as np

    top = np.float32(split)
    below = np.nextafter(top, np.float32(-np.inf))
    middle = (float(below) + float(top)) / 2  # exact in float64: float32 mantissas are 24 bits
    # At the midpoint itself float32 rounds to the even neighbour: below, then the midpoint goes left too.
    return float(np.nextafter(middle, np.inf)) if np.float32(middle) == below else middle


def ensemble(document: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """The artifact's `model` section; raises ImportRefused naming what does not fit."""
    import numpy as np

    learner = document.get("learner", {})
    objective = learner.get("objective", {}).get("name")
    if objective != "binary:logistic":
        raise ImportRefused(f"objective {objective}: only binary:logistic (two classes) can be imported")
    booster = learner.get("gradient_booster", {})
    if booster.get("name") != "gbtree":
        raise ImportRefused(f"booster {booster.get('name')}: only gbtree can be imported")
    params = learner.get("learner_model_param", {})
    if params.get("num_target", "1") != "1" or params.get("num_class", "0") not in ("0", "1"):
        raise ImportRefused("the model has several outputs: only one binary output can be imported")
    names, types = learner.get("feature_names") or [], learner.get("feature_types") or []
    categorical = [kind == "c" for kind in types or ["q"] * len(names)]
    position = dict(zip(names, positions(names, categorical, schema), strict=True))
    base = float(np.float32(params["base_score"].strip("[]")))
    margin = float(np.float32(np.log(np.float32(base) / (np.float32(1) - np.float32(base)))))
    trees = [_tree(tree, names, position, schema, i) for i, tree in enumerate(booster["model"]["trees"])]
    return {
        "kind": "tree_ensemble",
        "link": "logistic",
        "base_score": margin,
        "source": document["version_text"],
        "trees": trees,
    }


# The arrays of an XGBoost tree that _tree reads, one entry a node.
XGBOOST_ARRAYS = ("left_children", "right_children", "split_conditions", "sum_hessian", "split_indices", "split_type")


def _tree(
    tree: dict[str, Any], names: list[str], position: dict[str, int], schema: Schema, index: int
) -> dict[str, Any]:
    """One tree as the artifact's flat arrays: the nodes reached from the root, in XGBoost's order (a pruned tree
    keeps its deleted nodes in the arrays). Refusals name XGBoost's node numbers."""
    import numpy as np

    arrays: list[Any] = [tree.get(name) for name in XGBOOST_ARRAYS]
    if not all(isinstance(a, list) for a in arrays) or len({len(a) for a in arrays}) != 1 or not arrays[0]:
        raise ImportRefused(f"tree {index} must hold the arrays {', '.join(XGBOOST_ARRAYS)}, of one length")
    left, right, splits, hessians, features, kinds = arrays
    right_sets = {
        node: set(tree["categories"][start : start + size])
        for node, start, size in zip(
            tree["categories_nodes"], tree["categories_segments"], tree["categories_sizes"], strict=True
        )
    }
    count = len(left)
    reached, pending = {0}, [0]
    while pending:  # each node walked once; a node two splits name keeps both links, for validation to refuse
        node = pending.pop()
        if left[node] == -1 == right[node]:
            continue
        for child in (left[node], right[node]):
            if not 0 <= child < count:
                raise ImportRefused(
                    f"tree {index} node {node} has child {child}, which is not one of its {count} nodes"
                )
            if child not in reached:
                reached.add(child)
                pending.append(child)
        if not 0 <= features[node] < len(names):
            raise ImportRefused(
                f"tree {index} node {node} splits on feature index {features[node]}, which the model's "
                f"{len(names)} feature names do not have"
            )
        if kinds[node] not in (0, 1) or (kinds[node] == 1 and node not in right_sets):
            raise ImportRefused(f"tree {index} node {node}: split type {kinds[node]} cannot be imported")
    number = {node: new for new, node in enumerate(sorted(reached))}
    out: dict[str, Any] = {key: [] for key in NODE_ARRAYS}
    out["left_categories"] = {}
    for node in sorted(reached):
        out["cover"].append(float(np.float32(hessians[node])))
        if left[node] == -1:
            out["feature"].append(-1)
            out["threshold"].append(0.0)
            out["value"].append(float(np.float32(splits[node])))
            out["left"].append(0)  # never followed
            out["right"].append(0)
            continue
        out["left"].append(number[left[node]])
        out["right"].append(number[right[node]])
        name = names[features[node]]
        field = schema.fields[position[name]]
        out["feature"].append(position[name])
        out["value"].append(0.0)
        if kinds[node] == 1:
            codes = right_sets[node]
            check_codes(codes, field.categories, field, index)
            out["threshold"].append(0.0)
            out["left_categories"][str(number[node])] = [
                c for code, c in enumerate(field.categories) if code not in codes
            ]
        else:
            out["threshold"].append(float64_threshold(splits[node]))
    return out
