"""A fitted scikit-learn LogisticRegression, alone or as the last step of a Pipeline whose ColumnTransformer encodes
and scales the schema's fields, as the embedded backend's logistic artifact.

Every transformer it accepts is affine in each field: one-hot and ordinal codes become a weight per category, and
scalers fold into each number's slope and offset. The file is read with skops (only the types this importer reads,
checked by name before anything is loaded) or, for a joblib or pickle file, by unpickling it: the user's explicit
act at import time, never at serving."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from typing import Any

from app.core.fields import Schema
from app.importing import ImportRefused, check_trained_on, is_category, positions

# What a fitted model holds in a skops file besides the classes this importer reads (skops_types adds those), as
# skops 0.16 names them for scikit-learn 1.9: skops.io.get_untrusted_types and the file's own type names, for each
# model the importer reads, fitted with and without a pipeline, with class weights, early stopping, random states
# and encoders' dtypes. Compared as text: importing a module to look at it runs the module's code.
HELD = frozenset(
    {
        # containers and values
        *(f"builtins.{kind}" for kind in ("dict", "list", "tuple", "slice", "str", "int", "float", "bool", "object")),
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.number",  # a column selector's dtype_include
        *(f"numpy.{kind}" for kind in ("bool", "float16", "float32", "float64")),
        *(f"numpy.{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)),
        "numpy.random.mtrand.RandomState",
        "numpy.random._generator.Generator",
        # the trees: a forest's extra trees, boosting's regression trees and its prior
        "sklearn.tree._tree.Tree",
        "sklearn.tree._classes.ExtraTreeClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.dummy.DummyClassifier",
        # boosting's loss
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.Interval",
        # HistGradientBoosting's bins, trees, classes, and the partial(check_array) of its category encoder
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.preprocessing._label.LabelEncoder",
        "functools.partial",
        "sklearn.utils.validation.check_array",
    }
)


def models() -> tuple[type[Any], ...]:
    """The scikit-learn models this importer reads: exactly these, as a subclass may score otherwise."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    return (
        LogisticRegression,
        DecisionTreeClassifier,
        RandomForestClassifier,
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
    )


def transformers() -> tuple[type[Any], ...]:
    """The transformers a ColumnTransformer's part may chain (SimpleImputer: readings are never missing)."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    return (StandardScaler, MinMaxScaler, SimpleImputer, OneHotEncoder, OrdinalEncoder)


def skops_types() -> frozenset[str]:
    """The types and functions a skops file may name to be loaded: the models and transformers this importer reads,
    the pipeline around them (a fitted ColumnTransformer keeps passthrough as a FunctionTransformer, and may have
    chosen its columns with make_column_selector), and what fitted ones hold."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    parts = (Pipeline, ColumnTransformer, make_column_selector, FunctionTransformer)
    return HELD | {f"{kind.__module__}.{kind.__qualname__}" for kind in (*models(), *transformers(), *parts)}


def named(content: bytes) -> set[str]:
    """Every type and function a skops file names (`module.name`), read from its schema.json as text: each of its
    objects is a JSON object naming its type's `__module__` and `__class__`."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        document = json.loads(archive.read("schema.json"))
    names, waiting = set(), [document]
    while waiting:  # a loop, not recursion: the file decides how deep it nests
        item = waiting.pop()
        if isinstance(item, dict):
            if "__module__" in item or "__class__" in item:
                names.add(f"{item.get('__module__')}.{item.get('__class__')}")
            waiting.extend(item.values())
        elif isinstance(item, list):
            waiting.extend(item)
    return names


def load(content: bytes) -> Any:
    """The fitted estimator: from a skops file (a zip), else from a joblib or pickle file."""
    if content.startswith(b"PK\x03\x04"):
        import skops.io

        try:
            # skops reports the names it does not trust by default, and the methods and bit generators it would
            # look up by a name stored elsewhere in the file; the file's own type names cover the rest.
            found = named(content) | set(skops.io.get_untrusted_types(data=content))
        except Exception as problem:  # skops raises what the zip and its JSON parts raise
            raise ImportRefused(f"skops cannot read the file: {str(problem)[:200]}") from None
        refused = sorted(found - skops_types())
        if refused:
            listed = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
            verb = "is" if len(refused) == 1 else "are"
            raise ImportRefused(f"the file holds {listed}, which {verb} not among the types this command reads")
        try:
            return skops.io.loads(content, trusted=sorted(found))
        except Exception as problem:
            raise ImportRefused(f"skops cannot read the file: {str(problem)[:200]}") from None
    import joblib

    try:
        return joblib.load(io.BytesIO(content))
    except ImportError:  # a library the pickle names: the install line says which
        raise
    except Exception as problem:  # unpickling raises anything
        raise ImportRefused(f"joblib cannot read the file: {type(problem).__name__}: {str(problem)[:200]}") from None


def ensemble(estimator: Any, schema: Schema) -> dict[str, Any]:
    """The artifact's model parts: the logistic format's for a LogisticRegression, a tree ensemble's for the tree
    models; raises ImportRefused naming what does not fit."""
    import sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    steps = list(estimator.steps) if isinstance(estimator, Pipeline) else [("model", estimator)]
    *before, (_, model) = steps
    accepted = models()
    if type(model) not in accepted:  # a subclass may score otherwise
        kinds = ", ".join(kind.__name__ for kind in accepted)
        raise ImportRefused(f"{type(model).__name__}: only {kinds} can be imported from scikit-learn")
    if getattr(model, "n_outputs_", 1) != 1 or len(getattr(model, "classes_", [])) != 2:
        raise ImportRefused("the model has several classes: only two classes can be imported")
    if len(before) > 1 or (before and not isinstance(before[0][1], ColumnTransformer)):
        kinds = ", ".join(type(step).__name__ for _, step in before)
        raise ImportRefused(f"pipeline steps {kinds}: only one ColumnTransformer may come before the model")
    first: Any = before[0][1] if before else model
    if before and first.transformer_weights:
        raise ImportRefused("a ColumnTransformer with transformer_weights cannot be imported")
    names = [str(name) for name in getattr(first, "feature_names_in_", schema.names)]
    if before:
        where = positions(names, [is_category(name, schema) for name in names], schema)
        parts = [(step, _fields(columns, names, where)) for _, step, columns in first.transformers_]
    else:  # the model reads the fields themselves: numbers, or categories that HistGradientBoosting encodes
        native = getattr(model, "is_categorical_", None)
        where = positions(names, [bool(c) for c in native] if native is not None else [False] * len(names), schema)
        parts = [("passthrough", [i for i in where if not schema.fields[i].categories])]
    terms = [term for step, fields in parts for term in _terms(step, [schema.fields[i].name for i in fields], schema)]
    columns = [name for name, *_ in terms] if before else [schema.fields[i].name for i in where]
    if len(columns) != model.n_features_in_:
        raise ImportRefused(f"the pipeline makes {len(columns)} columns, but the model reads {model.n_features_in_}")
    about = {"source": f"scikit-learn {sklearn.__version__}", "classes": [str(c) for c in model.classes_]}
    if isinstance(model, LogisticRegression):
        return {**_linear(model, terms, schema), **about}  # it scores the second class
    from app.importing.sklearn_trees import tree_ensemble

    return {**tree_ensemble(model, first if before else None, names, columns, schema), **about}


def _linear(model: Any, terms: list[Term], schema: Schema) -> dict[str, Any]:
    """The logistic artifact's parts: intercept, a weight per category, each number's mean, scale and
    coefficient."""
    coefs = [float(c) for c in model.coef_[0]]
    weights = {f.name: dict.fromkeys(f.categories, 0.0) for f in schema.fields if f.categories}
    slopes = {f.name: 0.0 for f in schema.fields if not f.categories}
    intercept = float(model.intercept_[0])
    for coef, (name, values, slope, offset) in zip(coefs, terms, strict=True):
        for category, value in values.items():
            weights[name][category] += coef * value
        if name in slopes:
            slopes[name] += coef * slope
            intercept += coef * offset
    # Each number is stored as coef * (x - mean) / scale, measured against the middle of its range.
    numeric = {}
    for field in schema.fields:
        if not field.categories:
            middle = (field.minimum + field.maximum) / 2
            numeric[field.name] = {"mean": middle, "scale": 1.0, "coef": slopes[field.name]}
            intercept += slopes[field.name] * middle
    return {"kind": "linear", "intercept": intercept, "categorical": weights, "numeric": numeric}


def _fields(columns: Any, names: list[str], where: list[int]) -> list[int]:
    """The schema positions of a ColumnTransformer's columns, given by name, by input position, or as a mask."""
    import numpy as np

    if isinstance(columns, str):
        columns = [columns]
    if isinstance(columns, slice) and isinstance(columns.start or columns.stop, str):  # names, both ends kept
        start = names.index(columns.start) if columns.start else 0
        columns = names[start : names.index(columns.stop) + 1 if columns.stop else len(names)]
    chosen: list[Any] = list(columns) if not isinstance(columns, slice) else list(range(len(names)))[columns]
    if chosen and all(isinstance(c, str) for c in chosen):
        return [where[names.index(str(c))] for c in chosen]
    return [where[int(i)] for i in np.arange(len(names))[np.asarray(chosen)]] if chosen else []


Term = tuple[str, dict[str, float], float, float]  # a column: its field, each category's value, or a*x + b


def _terms(step: Any, fields: Sequence[str], schema: Schema) -> list[Term]:
    """One term per column that a ColumnTransformer's part makes from its fields."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    encoders = (OneHotEncoder, OrdinalEncoder)
    accepted = transformers()
    if isinstance(step, str):
        if step == "drop":
            return []
        if step != "passthrough":
            raise ImportRefused(f"transformer {step!r} cannot be imported")
        chain: list[Any] = []
    else:
        chain = [s for _, s in step.steps] if isinstance(step, Pipeline) else [step]
    # A fitted ColumnTransformer keeps "passthrough" as a FunctionTransformer without a function.
    chain = [s for s in chain if not (isinstance(s, FunctionTransformer) and s.func is None)]
    for s in chain:
        if isinstance(s, SimpleImputer) and (s.add_indicator or not _is_nan(s.missing_values)):
            raise ImportRefused(
                "a SimpleImputer that adds indicators or treats a value as missing cannot be imported: readings are "
                "never missing, so only the default imputer, which changes nothing, can"
            )
        if not isinstance(s, accepted):
            what = "FunctionTransformer with a function" if isinstance(s, FunctionTransformer) else type(s).__name__
            names = ", ".join(kind.__name__ for kind in accepted)
            raise ImportRefused(f"transformer {what} cannot be imported: only {names} and passthrough")
    encoded = any(isinstance(s, encoders) for s in chain)
    for name in fields:
        if encoded != is_category(name, schema):
            kind = "encoded as a category" if encoded else "used as a number"
            raise ImportRefused(f"field {name} is {kind} in the pipeline but not in the schema")
    if encoded:
        if not all(isinstance(s, SimpleImputer) for s in chain[:-1]) or not isinstance(chain[-1], encoders):
            kinds = ", ".join(type(s).__name__ for s in chain)
            raise ImportRefused(f"transformers {kinds}: an encoder may only follow a SimpleImputer")
        return _encoded(chain[-1], fields, schema)
    terms: list[Term] = []
    for j, name in enumerate(fields):
        slope, offset = 1.0, 0.0
        for s in chain:
            if isinstance(s, StandardScaler):  # with_mean=False still fits mean_, and does not subtract it
                mean = float(s.mean_[j]) if s.with_mean else 0.0
                scale = float(s.scale_[j]) if s.with_std else 1.0
                slope, offset = slope / scale, (offset - mean) / scale
            elif isinstance(s, MinMaxScaler):
                if s.clip:
                    raise ImportRefused(f"MinMaxScaler(clip=True) on {name} cannot be imported: it is not linear")
                slope, offset = slope * float(s.scale_[j]), offset * float(s.scale_[j]) + float(s.min_[j])
        terms.append((name, {}, slope, offset))
    return terms


def _encoded(encoder: Any, fields: Sequence[str], schema: Schema) -> list[Term]:
    from sklearn.preprocessing import OrdinalEncoder

    if any(c is not None for c in getattr(encoder, "infrequent_categories_", None) or []):
        raise ImportRefused(f"a {type(encoder).__name__} grouping infrequent categories cannot be imported")
    terms: list[Term] = []
    for j, name in enumerate(fields):
        known = [str(c) for c in encoder.categories_[j]]
        field = schema.fields[schema.names.index(name)]
        check_trained_on(field, known)
        if isinstance(encoder, OrdinalEncoder):
            terms.append((name, {c: float(known.index(c)) for c in field.categories}, 0.0, 0.0))
            continue
        dropped = None if encoder.drop_idx_ is None or encoder.drop_idx_[j] is None else int(encoder.drop_idx_[j])
        for code, category in enumerate(known):
            if code != dropped:
                terms.append((name, {category: 1.0} if category in field.categories else {}, 0.0, 0.0))
    return terms


def _is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
