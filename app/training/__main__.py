"""python -m app.training: the training commands without loading the app."""

from __future__ import annotations

from app.training.commands import main

if __name__ == "__main__":
    main()
