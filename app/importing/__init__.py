"""Models trained elsewhere, imported into the embedded backend's pickle-free artifact: `from_xgboost` reads
XGBoost's own model files, `commands` holds `import-model`. The training library is needed here only, never when
serving."""
