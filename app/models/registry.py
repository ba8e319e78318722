"""The models served, by name and version: every protocol, capture, feedback and the report find theirs here."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.errors import ModelNotFound
from app.models import Model, identity


class Registry:
    """The served models; the first is the default, which answers a request that names none."""

    def __init__(self, models: Sequence[Model]) -> None:
        if not models:
            raise ValueError("a registry holds at least one model")
        self.models = tuple(models)
        self.default = self.models[0]
        self._by_name = {identity(model): model for model in self.models}

    def get(self, name: str | None = None, version: str | None = None) -> Model:
        """The model of this name (and version, if given), or the default for no name; raises ModelNotFound naming
        what is served."""
        if name is None:
            return self.default
        for (served, served_version), model in self._by_name.items():
            if served == name and version in (None, served_version):
                return model
        asked = f"{name} version {version}" if version else name
        default_name, default_version = identity(self.default)
        known = any(served == name for served, _ in self._by_name)
        raise ModelNotFound(
            f"No model {asked}: this server serves {default_name} version {default_version}.",
            [{"row": None, "field": "version" if known else "name", "message": "not served here"}],
        )
