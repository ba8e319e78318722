"""Run by the MLflow virtualenv's Python: saves an XGBoost booster with native categorical splits as an MLflow
model that MLflow's scoring server can serve from CSV. MLflow's own xgboost flavour hands the server's DataFrame
to XGBoost as it is, and XGBoost refuses text columns, so the model is a small pyfunc wrapper that makes the
schema's categories pandas categories first, as a team serving such a model with MLflow would write.

Usage: python mlflow_trees.py BOOSTER.json SCHEMA.json OUT_DIR"""

from __future__ import annotations

import sys
from typing import Any

import mlflow.pyfunc


class CategoricalBooster(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    def load_context(self, context: Any) -> None:
        import json

        import xgboost

        self.booster = xgboost.Booster()
        self.booster.load_model(context.artifacts["booster"])
        with open(context.artifacts["schema"]) as schema:
            fields = json.load(schema)["fields"]
        self.categories = {f["name"]: f["categories"] for f in fields if f["type"] == "category"}

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        import pandas as pd
        import xgboost

        frame = model_input.copy()
        for name, categories in self.categories.items():
            frame[name] = pd.Categorical(frame[name], categories=categories)
        return self.booster.predict(xgboost.DMatrix(frame, enable_categorical=True))


if __name__ == "__main__":
    booster, schema, out = sys.argv[1:4]
    mlflow.pyfunc.save_model(out, python_model=CategoricalBooster(), artifacts={"booster": booster, "schema": schema})
