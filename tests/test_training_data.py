"""The synthetic turbine data: reproducible by seed, with a plausible breakdown rate, readable as training data."""

from __future__ import annotations

from pathlib import Path

from app.core.schemas import turbine_schema
from app.training.data import generate_dataset, turbine_dataset, write_dataset
from app.training.reading import read_dataset


def test_generator_is_reproducible() -> None:
    first = generate_dataset(500, seed=1)
    assert first == generate_dataset(500, seed=1) and first != generate_dataset(500, seed=2)
    assert 0.05 < sum(r["breakdown"] == "yes" for r in first) / 500 < 0.4


def test_written_data_reads_back_as_the_turbine_dataset(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "data.csv"
    write_dataset(generate_dataset(200, seed=4), path)
    read = read_dataset(path, "breakdown", None, None)
    assert read == turbine_dataset(200, seed=4)
    assert read.headers == list(turbine_schema().names) and read.lines == list(range(2, 202))
