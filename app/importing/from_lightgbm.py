"""A LightGBM binary booster (its text model file) as a tree ensemble over a schema's fields.

LightGBM compares a number in float64, `value <= threshold` going left: the artifact keeps the next float64 above
the threshold, for its `value < threshold`. A categorical split lists the category codes that go left. Trained from
a pandas DataFrame, the model file names the category of each code; otherwise codes are positions in the schema's
categories, as for XGBoost. Leaves already hold the learning rate and the starting score: the base is 0."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.core.fields import Schema
from app.importing import ImportRefused, check_codes, check_trained_on, is_category, positions
from app.models.runtimes.trees import NODE_ARRAYS

# LightGBM's kZeroThreshold (a float32 constant): with zero_as_missing, values in [-ZERO, ZERO] go the default way.
ZERO = 1.0000000180025095e-35


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


def ensemble(document: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """The artifact's `model` section; raises ImportRefused naming what does not fit."""
    objective = document.get("objective")
    if objective != "binary sigmoid:1":
        raise ImportRefused(f"objective {objective}: only binary (two classes, sigmoid 1) can be imported")
    if document.get("num_class", 1) != 1 or document.get("num_tree_per_iteration", 1) != 1:
        raise ImportRefused("the model has several outputs: only one binary output can be imported")
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
    trees = [
        _tree(info.get("tree_structure") or {}, where, codes, schema, index)
        for index, info in enumerate(document.get("tree_info") or [])
    ]
    if not trees:
        raise ImportRefused("the model has no trees")
    return {
        "kind": "tree_ensemble",
        "link": "logistic",
        "base_score": 0.0,
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
    root: dict[str, Any], where: list[int], codes: dict[int, list[str]], schema: Schema, index: int
) -> dict[str, Any]:
    """One tree as the artifact's flat arrays, its nodes numbered depth first so every child follows its parent."""
    out: dict[str, Any] = {key: [] for key in NODE_ARRAYS}
    out["left_categories"] = {}
    pending: list[tuple[dict[str, Any], int, str]] = [(root, -1, "")]  # a node, its parent's number, which side
    while pending:
        node, parent, side = pending.pop()
        number = len(out["feature"])
        if parent >= 0:
            out[side][parent] = number
        out["left"].append(0)  # a leaf's children are never followed
        out["right"].append(0)
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
            out["threshold"].append(_threshold(node, field.name, index))
        else:
            raise ImportRefused(f"tree {index}: split {node.get('decision_type')!r} cannot be imported")
        pending.append((node["right_child"], number, "right"))
        pending.append((node["left_child"], number, "left"))
    return out


def _threshold(node: dict[str, Any], name: str, index: int) -> float:
    """The float64 t for which x < t exactly when LightGBM sends x left. Validated readings are never missing,
    but with zero_as_missing values near zero take the node's default way, which must agree with the comparison."""
    split = float(node["threshold"])
    default_left = bool(node.get("default_left"))
    if node.get("missing_type") == "Zero" and not (split >= ZERO if default_left else split < -ZERO):
        way = "left" if default_left else "right"
        raise ImportRefused(
            f"tree {index} sends {name} near zero {way} as missing, against its threshold {split}: "
            "such a split (zero_as_missing) cannot be imported"
        )
    return math.nextafter(split, math.inf)


if __name__ == "__main__":
    sys.stdout.write(_describe(sys.stdin.buffer.read()))
