"""An XGBoost gbtree booster (its JSON or UBJSON file) as a tree ensemble over a schema's fields: two classes
(binary:logistic), several (multi:softprob, multi:softmax: a tree per class each round, tree_info naming its
class), or a value (reg:squarederror, reg:absoluteerror, reg:pseudohubererror; count:poisson, reg:gamma and
reg:tweedie predict the exp of the margin).

XGBoost compares a feature as float32 (`value < split` goes left) and adds leaves to a float32 base margin. Each
split becomes the float64 threshold that sends every float64 value the way XGBoost sends its float32 rounding, so
serving compares plain floats. A categorical split lists the category codes that go right: trained from a pandas
DataFrame, XGBoost 3 keeps each code's category in the file (cats), else codes are positions in the schema's
categories, the order the model was trained with. A missing value goes where the node's default_left
says, for numbers and categories alike. The file keeps base_score as the objective's output (a probability, a
value): the margin is its logit, its log, or itself, as the objective's link has it; with several classes it is
one margin per class."""

from __future__ import annotations

import json
import math
from typing import Any

from app.core.fields import Schema
from app.core.prediction import BINARY, MULTICLASS, REGRESSION
from app.importing import ImportRefused, check_codes, check_trained_on, positions
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


# Each objective this importer reads: its task, its link, and how the file's base_score becomes a margin.
OBJECTIVES = {
    "binary:logistic": (BINARY, "logistic", "logit"),
    "multi:softprob": (MULTICLASS, "softmax", "identity"),
    "multi:softmax": (MULTICLASS, "softmax", "identity"),  # predict gives the likeliest class of the same margins
    "reg:squarederror": (REGRESSION, "identity", "identity"),
    "reg:absoluteerror": (REGRESSION, "identity", "identity"),
    "reg:pseudohubererror": (REGRESSION, "identity", "identity"),
    "count:poisson": (REGRESSION, "exp", "log"),
    "reg:gamma": (REGRESSION, "exp", "log"),
    "reg:tweedie": (REGRESSION, "exp", "log"),
}


def task(document: dict[str, Any]) -> str:
    """What the model predicts, by its objective: binary, multiclass or regression; raises ImportRefused for an
    objective this importer does not read."""
    objective = document.get("learner", {}).get("objective", {}).get("name")
    if objective not in OBJECTIVES:
        raise ImportRefused(f"objective {objective}: the objectives that can be imported are {', '.join(OBJECTIVES)}")
    return OBJECTIVES[objective][0]


def ensemble(document: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """The artifact's `model` section; raises ImportRefused naming what does not fit."""
    learner = document.get("learner", {})
    objective = learner.get("objective", {}).get("name")
    task(document)  # refuses an objective this importer does not read
    kind, link, to_margin = OBJECTIVES[objective]
    booster = learner.get("gradient_booster", {})
    if booster.get("name") != "gbtree":
        raise ImportRefused(f"booster {booster.get('name')}: only gbtree can be imported")
    params = learner.get("learner_model_param", {})
    if params.get("num_target", "1") != "1":
        raise ImportRefused(f"the model has {params['num_target']} targets: only one can be imported")
    classes = int(params.get("num_class", "0"))
    outputs = classes if kind == MULTICLASS else 1
    if kind == MULTICLASS and classes < 3:
        raise ImportRefused(f"objective {objective} with {classes} classes: train two classes with binary:logistic")
    if kind != MULTICLASS and classes > 1:
        raise ImportRefused(f"objective {objective} with num_class {classes}: one output was expected")
    names, types = learner.get("feature_names") or [], learner.get("feature_types") or []
    categorical = [kind == "c" for kind in types or ["q"] * len(names)]
    position = dict(zip(names, positions(names, categorical, schema), strict=True))
    margins = _base_margins(params.get("base_score", ""), to_margin, outputs)
    model = booster["model"]
    codes = _codes(model.get("cats"), names, categorical, position, schema)
    owners = model.get("tree_info") or [0] * len(model["trees"])
    if len(owners) != len(model["trees"]) or not all(isinstance(o, int) and 0 <= o < outputs for o in owners):
        raise ImportRefused(f"tree_info must name each tree's output, 0 to {outputs - 1}")
    trees = []
    for i, (tree, owner) in enumerate(zip(model["trees"], owners, strict=True)):
        trees.append(_tree(tree, names, position, codes, schema, i))
        if outputs > 1:
            trees[-1]["output"] = owner
    return {
        "kind": "tree_ensemble",
        "link": link,
        **({"outputs": outputs} if outputs > 1 else {}),
        "base_score": margins if outputs > 1 else margins[0],
        "source": document["version_text"],
        "trees": trees,
    }


def _base_margins(text: str, to_margin: str, outputs: int) -> list[float]:
    """The base margin of each output, from learner_model_param's base_score: one number, or (XGBoost 3) a list
    of one per output, each turned into a margin in float32, as XGBoost computes it."""
    import numpy as np

    try:
        values = [np.float32(float(part)) for part in text.strip("[]").split(",")]
    except ValueError:
        raise ImportRefused(f"base_score {text[:40]!r} is not a number or a list of them") from None
    if len(values) == 1:
        values *= outputs
    if len(values) != outputs:
        raise ImportRefused(f"base_score holds {len(values)} numbers for the model's {outputs} outputs")
    one = np.float32(1)
    with np.errstate(all="ignore"):
        if to_margin == "logit":
            values = [np.float32(np.log(v / (one - v))) for v in values]
        elif to_margin == "log":
            values = [np.float32(np.log(v)) for v in values]
    if not all(map(math.isfinite, values)):
        raise ImportRefused(f"base_score {text[:40]} has no finite margin under the objective's link ({to_margin})")
    return [float(v) for v in values]


# The arrays of an XGBoost tree that _tree reads, one entry a node.
XGBOOST_ARRAYS = (
    "left_children",
    "right_children",
    "split_conditions",
    "sum_hessian",
    "split_indices",
    "split_type",
    "default_left",
)


def _codes(
    cats: Any, names: list[str], categorical: list[bool], position: dict[str, int], schema: Schema
) -> dict[str, list[str]]:
    """For each categorical feature, the category each code stands for: the names XGBoost kept from a pandas
    DataFrame (UTF-8 texts, or whole numbers), else the schema's categories. Raises ImportRefused."""
    kept = cats.get("enc") if isinstance(cats, dict) else None
    found: dict[str, list[str]] = {}
    for index, (name, declared) in enumerate(zip(names, categorical, strict=True)):
        if not declared:
            continue
        field = schema.fields[position[name]]
        encoding = kept[index] if isinstance(kept, list) and index < len(kept) else {}
        values, offsets = encoding.get("values") or [], encoding.get("offsets") or []
        if not values:
            found[name] = list(field.categories)
            continue
        try:
            if offsets:
                ends = [*offsets[1:], len(values)]
                found[name] = [bytes(values[a:b]).decode() for a, b in zip(offsets, ends, strict=True)]
            elif all(type(v) is int for v in values):
                found[name] = [str(v) for v in values]
            else:
                raise ValueError
        except (ValueError, TypeError):
            raise ImportRefused(f"feature {name}: only text or whole-number categories can be imported") from None
        check_trained_on(field, found[name])
    return found


def _tree(
    tree: dict[str, Any],
    names: list[str],
    position: dict[str, int],
    codes: dict[str, list[str]],
    schema: Schema,
    index: int,
) -> dict[str, Any]:
    """One tree as the artifact's flat arrays: the nodes reached from the root, in XGBoost's order (a pruned tree
    keeps its deleted nodes in the arrays). Refusals name XGBoost's node numbers."""
    import numpy as np

    arrays: list[Any] = [tree.get(name) for name in XGBOOST_ARRAYS]
    if not all(isinstance(a, list) for a in arrays) or len({len(a) for a in arrays}) != 1 or not arrays[0]:
        raise ImportRefused(f"tree {index} must hold the arrays {', '.join(XGBOOST_ARRAYS)}, of one length")
    left, right, splits, hessians, features, kinds, default_left = arrays
    leaf_size = str(tree.get("tree_param", {}).get("size_leaf_vector", "1"))
    if leaf_size not in ("0", "1"):
        raise ImportRefused(
            f"tree {index} has leaves of {leaf_size} values (multi_strategy multi_output_tree): only trees of one "
            "value a leaf can be imported"
        )
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
    out["missing_left"] = []
    for node in sorted(reached):
        out["cover"].append(float(np.float32(hessians[node])))
        out["missing_left"].append(int(bool(default_left[node])) if left[node] != -1 else 0)
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
            known = codes[name]
            check_codes(right_sets[node], known, field, index)
            right_names = {known[code] for code in right_sets[node]}
            out["threshold"].append(0.0)
            out["left_categories"][str(number[node])] = [c for c in field.categories if c not in right_names]
        else:
            out["threshold"].append(float64_threshold(splits[node]))
    return out
