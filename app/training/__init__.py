"""Training, by job: `data` makes the synthetic turbine readings, `reading` reads a CSV file and infers its
schema, `fit` fits scikit-learn and exports the artifact, `commands` holds the click commands."""

DEFAULT_SEED = 20261124
# The synthetic turbine data's label column.
BREAKDOWN = "breakdown"
