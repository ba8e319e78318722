"""Training, by job: `data` makes the synthetic turbine readings, `reading` reads a CSV file and infers its
schema, `fit` fits scikit-learn and exports the artifact, `commands` holds the click commands; `checked_name` and
`write_out` serve both training and importing."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import click

DEFAULT_SEED = 20261124
# The synthetic turbine data's label column.
BREAKDOWN = "breakdown"


def checked_name(value: str, option: str) -> str:
    """The model's name or version given by `option` (or its default); raises click.ClickException naming the
    option unless an artifact may carry it."""
    from app.models.artifact import ModelFileError, check_name

    try:
        return check_name(value, option)
    except ModelFileError as problem:
        raise click.ClickException(str(problem)) from None


def write_out(out: Path, text: str) -> None:
    """Write a command's --out file whole: into a new file beside it, then renamed over it, so that the file
    there before stays as it was until the new one is complete, and a failure leaves nothing behind; raises
    click.ClickException naming the file when it cannot be written."""
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.tmp")  # same folder: the rename cannot copy
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("x", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())  # on disk before the name points at it
        os.replace(temporary, out)
    except BaseException as problem:
        temporary.unlink(missing_ok=True)
        if isinstance(problem, OSError):
            raise click.ClickException(f"cannot write {out}: {problem.strerror or problem}") from None
        raise
