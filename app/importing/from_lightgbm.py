"""A LightGBM booster (its text model file) as a tree ensemble over a schema's fields: two classes (binary), several
(multiclass, softmax of a margin per class; multiclassova, each class's own sigmoid, which LightGBM does not scale
to add up to 1: num_tree_per_iteration trees a round, one per class in turn), or a value (regression,
regression_l1, huber, quantile; poisson, gamma and tweedie predict the exp of the margin).

LightGBM compares a number in float64, `value <= threshold` going left: the artifact keeps the next float64 above
the threshold, for its `value < threshold`. A categorical split lists the category codes that go left. Trained from
a pandas DataFrame, the model file names the category of each code; otherwise codes are positions in the schema's
categories, as for XGBoost. Leaves already hold the learning rate and the starting score: the base is 0.

A missing value (NaN) at a numeric split (LightGBM's NumericalDecision) goes the default way when the split's
missing_type is NaN; with None it is taken as 0.0 and compared; with Zero (zero_as_missing) it is 0.0 too, and 0.0,
like every number within kZeroThreshold of it, goes the default way (the artifact's zero_as_missing fields). A
category's split (CategoricalDecision) sends a missing value right whatever its default."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.core.fields import Schema
from app.core.prediction import BINARY, MULTICLASS, REGRESSION
from app.importing import ImportRefused, check_codes, check_trained_on, is_category, positions
from app.models.runtimes.trees import NODE_ARRAYS

# Each objective this importer reads: its task and its link. LightGBM writes an objective's parameters after its
# name; those that change what predict returns are checked below.
OBJECTIVES = {
    "binary": (BINARY, "logistic"),
    "multiclass": (MULTICLASS, "softmax"),
    "multiclassova": (MULTICLASS, "logistic"),
    "regression": (REGRESSION, "identity"),
    "regression_l1": (REGRESSION, "identity"),
    "huber": (REGRESSION, "identity"),
    "quantile": (REGRESSION, "identity"),
    "poisson": (REGRESSION, "exp"),
    "gamma": (REGRESSION, "exp"),
    "tweedie": (REGRESSION, "exp"),
}


def load(content: bytes) -> dict[str, Any]:
    """The booster as LightGBM describes it (`dump_model`). LightGBM itself reads the file, in a child process:
    on some truncated files it aborts the process rather than raising."""
    # LightGBM reads what comes before a cut without a word; the Python package's save_model ends every file
    # with the DataFrame's categories, so a file without that line is cut short.
    if not content.rstrip(b"\n").rsplit(b"\n", 1)[-1].startswith(b"pandas_categorical:"):
        raise ImportRefused(
            "LightGBM cannot read the file: it does not end with the pandas_categorical line that "
            "Booster.save_model writes, so it is truncated (or was not saved by LightGBM's Python package)"
        )
    if importlib.util.find_spec("lightgbm") is None:
        raise ImportError("No module named 'lightgbm'", name="lightgbm")
    child = subprocess.run(
        [sys.executable, "-m", "app.importing.from_lightgbm"],
        input=content,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    if child.returncode == 0:
        return json.loads(child.stdout)  # type: ignore[no-any-return]
    reason = (child.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1][:200]
    if child.returncode < 0:
        reason = f"LightGBM stopped on signal {-child.returncode}; the file may be truncated or corrupt"
    raise ImportRefused(f"LightGBM cannot read the file: {reason}")


def _describe(content: bytes) -> str:
    """What `load` reads from its child: the booster's `dump_model`, with the library's version."""
    import lightgbm

    try:
        booster = lightgbm.Booster(model_str=content.decode("utf-8"))
    except (UnicodeDecodeError, lightgbm.basic.LightGBMError) as problem:
        raise SystemExit(str(problem).strip().splitlines()[0]) from None
    document = booster.dump_model()
    document["version_text"] = f"lightgbm {lightgbm.__version__}"
    return json.dumps(document)


def task(document: dict[str, Any]) -> str:
    """What the model predicts, by its objective: binary, multiclass or regression; raises ImportRefused for an
    objective this importer does not read."""
    objective = str(document.get("objective"))
    name = objective.split(" ")[0]
    if name not in OBJECTIVES:
        raise ImportRefused(f"objective {objective}: the objectives that can be imported are {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name][0]


def ensemble(document: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """The artifact's `model` section; raises ImportRefused naming what does not fit."""
    objective = str(document.get("objective"))
    name, *words = objective.split(" ")
    task(document)  # refuses an objective this importer does not read
    kind, link = OBJECTIVES[name]
    if "sqrt" in words:
        raise ImportRefused(f"objective {objective}: a model trained on the square root of its label (reg_sqrt)")
    if link == "logistic" and "sigmoid:1" not in words:
        raise ImportRefused(f"objective {objective}: only sigmoid 1 can be imported")
    outputs = document.get("num_tree_per_iteration", 1)
    if document.get("num_class", 1) != outputs or (outputs == 1) != (kind != MULTICLASS):
        raise ImportRefused(
            f"objective {objective}: {document.get('num_class')} classes and {outputs} trees a round do not fit"
        )
    if kind == MULTICLASS and outputs < 3:
        raise ImportRefused(f"objective {objective} with {outputs} classes: train two classes with binary")
    if document.get("average_output"):
        raise ImportRefused("the model averages its trees (random forest mode): only boosted trees can be imported")
    names: list[str] = document.get("feature_names") or []
    infos = document.get("feature_infos") or {}
    # LightGBM lists a categorical feature's values; a feature it found constant has no info and is never split on.
    categorical = [
        bool(infos[name].get("values")) if isinstance(infos.get(name), dict) else is_category(name, schema)
        for name in names
    ]
    where = positions(names, categorical, schema)
    codes = _codes(names, categorical, where, document.get("pandas_categorical"), schema)
    kinds: dict[int, set[str]] = {}  # each numeric field's missing types
    trees = [
        _tree(info.get("tree_structure") or {}, where, codes, schema, index, kinds)
        for index, info in enumerate(document.get("tree_info") or [])
    ]
    if not trees:
        raise ImportRefused("the model has no trees")
    if outputs > 1:
        for index, tree in enumerate(trees):
            tree["output"] = index % outputs  # a round's trees, one per class in turn
    zero = sorted(position for position, found in kinds.items() if "Zero" in found)
    for position in zero:
        if kinds[position] != {"Zero"}:
            raise ImportRefused(
                f"{schema.names[position]} is split with missing types {', '.join(sorted(kinds[position]))}: "
                "zero_as_missing must hold for every split on a field"
            )
    return {
        "kind": "tree_ensemble",
        "link": link,
        **({"outputs": outputs} if outputs > 1 else {}),
        "base_score": [0.0] * outputs if outputs > 1 else 0.0,
        **({"zero_as_missing": zero} if zero else {}),
        "source": document["version_text"],
        "trees": trees,
    }


def _codes(
    names: list[str], categorical: list[bool], where: list[int], pandas: Any, schema: Schema
) -> dict[int, list[str]]:
    """For each categorical feature, by its index in the model, the category each code stands for."""
    features = [index for index, declared in enumerate(categorical) if declared]
    if not pandas:  # trained on codes: an array, or a DataFrame without category columns
        return {index: list(schema.fields[where[index]].categories) for index in features}
    if not isinstance(pandas, list) or len(pandas) != len(features):
        raise ImportRefused("the model's pandas categories do not match its categorical features")
    codes: dict[int, list[str]] = {}
    for index, categories in zip(features, pandas, strict=True):
        field = schema.fields[where[index]]
        if not all(type(c) in (str, int) for c in categories):
            raise ImportRefused(f"feature {names[index]}: only text or whole-number categories can be imported")
        codes[index] = [str(c) for c in categories]
        check_trained_on(field, codes[index])
    return codes


def _tree(
    root: dict[str, Any],
    where: list[int],
    codes: dict[int, list[str]],
    schema: Schema,
    index: int,
    kinds: dict[int, set[str]],
) -> dict[str, Any]:
    """One tree as the artifact's flat arrays, its nodes numbered depth first so every child follows its parent;
    `kinds` gathers each numeric field's missing types."""
    out: dict[str, Any] = {key: [] for key in NODE_ARRAYS}
    out["left_categories"] = {}
    out["missing_left"] = []
    pending: list[tuple[dict[str, Any], int, str]] = [(root, -1, "")]  # a node, its parent's number, which side
    while pending:
        node, parent, side = pending.pop()
        number = len(out["feature"])
        if parent >= 0:
            out[side][parent] = number
        out["left"].append(0)  # a leaf's children are never followed
        out["right"].append(0)
        out["missing_left"].append(0)
        if "leaf_coeff" in node:
            raise ImportRefused(f"tree {index} has linear leaves (linear_tree): only constant leaves can be imported")
        if "leaf_value" in node:
            out["feature"].append(-1)
            out["threshold"].append(0.0)
            out["value"].append(node["leaf_value"])
            out["cover"].append(node.get("leaf_count", 0))
            continue
        feature = node.get("split_feature")
        if not isinstance(feature, int) or not 0 <= feature < len(where):
            raise ImportRefused(f"tree {index} splits on feature {feature}, which the model does not list")
        field = schema.fields[where[feature]]
        out["feature"].append(where[feature])
        out["value"].append(0.0)
        out["cover"].append(node.get("internal_count", 0))
        if node.get("decision_type") == "==":
            if feature not in codes:
                raise ImportRefused(f"tree {index} splits {field.name} by category, yet it is numeric")
            known = codes[feature]
            chosen = {int(code) for code in str(node["threshold"]).split("||")}
            check_codes(chosen, known, field, index)
            left = {known[code] for code in chosen}
            out["threshold"].append(0.0)
            out["left_categories"][str(number)] = [c for c in field.categories if c in left]
        elif node.get("decision_type") == "<=":
            if feature in codes:
                raise ImportRefused(f"tree {index} compares {field.name} as a number, yet it is categorical")
            split, kind = float(node["threshold"]), node.get("missing_type")
            if kind not in ("None", "Zero", "NaN"):
                raise ImportRefused(f"tree {index}: missing type {kind!r} cannot be imported")
            kinds.setdefault(where[feature], set()).add(kind)
            # None: a missing value is compared as 0.0; Zero and NaN: it goes the default way.
            out["missing_left"][number] = int(0.0 <= split if kind == "None" else bool(node.get("default_left")))
            out["threshold"].append(math.nextafter(split, math.inf))
        else:
            raise ImportRefused(f"tree {index}: split {node.get('decision_type')!r} cannot be imported")
        pending.append((node["right_child"], number, "right"))
        pending.append((node["left_child"], number, "left"))
    return out


if __name__ == "__main__":
    sys.stdout.write(_describe(sys.stdin.buffer.read()))
