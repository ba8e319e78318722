"""Models trained elsewhere, imported into the embedded backend's pickle-free artifact: `from_xgboost`,
`from_lightgbm` and `from_sklearn` read those libraries' model files, `commands` holds `import-model`. The
training library is needed here only, never when serving."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.core.fields import Field, Schema


class ImportRefused(ValueError):
    """The model cannot be imported; the message names the part."""


def is_category(name: str, schema: Schema) -> bool:
    """Whether the schema has a categorical field of this name."""
    return name in schema.names and bool(schema.fields[schema.names.index(name)].categories)


def positions(names: Sequence[str], categorical: Sequence[bool], schema: Schema) -> list[int]:
    """Where each of the model's features stands in the schema; raises ImportRefused unless the model's features
    are the schema's fields, each numeric or categorical in both."""
    if not names:
        raise ImportRefused("the model has no feature names: train it with named features (a DataFrame)")
    if sorted(names) != sorted(schema.names):
        extra, missing = sorted(set(names) - set(schema.names)), sorted(set(schema.names) - set(names))
        raise ImportRefused(f"the model's features do not match the schema: unknown {extra}, missing {missing}")
    found = [schema.names.index(name) for name in names]
    for name, position, declared in zip(names, found, categorical, strict=True):
        if declared != bool(schema.fields[position].categories):
            wanted = "categorical" if declared else "numeric"
            raise ImportRefused(f"feature {name} is {wanted} in the model but not in the schema")
    return found


def check_trained_on(field: Field, known: Sequence[str]) -> None:
    """Raises ImportRefused unless the model was trained on every category the schema lets a reading have."""
    unseen = [c for c in field.categories if c not in known]
    if unseen:
        raise ImportRefused(
            f"feature {field.name}: the schema's category {unseen[0]!r} is not one the model was trained on "
            f"({', '.join(known)})"
        )


def check_codes(codes: Iterable[int], known: Sequence[str], field: Field, tree: int) -> None:
    """Raises ImportRefused unless each category code a split lists stands for one of the `known` categories."""
    unseen = sorted(code for code in codes if not 0 <= code < len(known))
    if unseen:
        raise ImportRefused(
            f"tree {tree} splits {field.name} on category code {unseen[0]}, which the schema's "
            f"{len(known)} categories do not have"
        )
