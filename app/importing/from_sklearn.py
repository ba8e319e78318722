"""A fitted scikit-learn LogisticRegression, alone or as the last step of a Pipeline whose ColumnTransformer encodes
and scales the schema's fields, as the embedded backend's logistic artifact.

Every transformer it accepts is affine in each field: one-hot and ordinal codes become a weight per category, and
scalers fold into each number's slope and offset. The file is read with skops (only scikit-learn and numpy types
are trusted) or, for a joblib or pickle file, by unpickling it: the user's explicit act at import time, never at
serving."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from app.importing import ImportRefused, check_trained_on, is_category, positions
from app.schema import Schema

# What a skops file may hold to be loaded: classes defined in scikit-learn or numpy (where the object really is
# defined, not where the file says to look it up: a scikit-learn module may import other libraries' functions),
# and of functions only the one a fitted HistGradientBoosting holds, in a partial with its options.
TRUSTED_MODULES = ("sklearn.", "numpy.")
TRUSTED_FUNCTIONS = ("sklearn.utils.validation.check_array", "functools.partial")


def trusted(name: str) -> bool:
    """Whether a type or function a skops file names may be loaded."""
    if name in TRUSTED_FUNCTIONS:
        return True
    if not name.startswith(TRUSTED_MODULES):  # checked first: importing a module runs its code
        return False
    import importlib

    place, _, attribute = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(place), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(found, type) and f"{found.__module__}.".startswith(TRUSTED_MODULES)


def load(content: bytes) -> Any:
    """The fitted estimator: from a skops file (a zip), else from a joblib or pickle file."""
    if content.startswith(b"PK\x03\x04"):
        import skops.io

        try:
            untrusted = skops.io.get_untrusted_types(data=content)
            refused = [name for name in untrusted if not trusted(name)]
            if refused:
                raise ImportRefused(f"the file holds a {refused[0]}, which is not a scikit-learn or numpy class")
            return skops.io.loads(content, trusted=untrusted)
        except ImportRefused:
            raise
        except Exception as problem:  # skops raises what the zip and its JSON parts raise
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
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.tree import DecisionTreeClassifier

    steps = list(estimator.steps) if isinstance(estimator, Pipeline) else [("model", estimator)]
    *before, (_, model) = steps
    accepted: tuple[type[Any], ...] = (
        LogisticRegression,
        DecisionTreeClassifier,
        RandomForestClassifier,
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
    )
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
    from sklearn.preprocessing import (
        FunctionTransformer,
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    encoders = (OneHotEncoder, OrdinalEncoder)
    accepted = (StandardScaler, MinMaxScaler, SimpleImputer, *encoders)  # SimpleImputer: readings are never missing
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
