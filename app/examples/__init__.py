"""Example data sets of other shapes than the turbine readings, with their schema files."""
