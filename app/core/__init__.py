"""The core, free of Flask and HTTP: readings kept as columns, the fields and their rules, the one validator, what
a model predicts, and the domain's errors."""
