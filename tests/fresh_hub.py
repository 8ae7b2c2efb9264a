"""A throwaway hub per Hypothesis example: a copy of the migrated SQLite template."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from core import db


@contextmanager
def fresh_hub(template: Path) -> Iterator[Engine]:
    """An engine on a new copy of ``template`` (the ``_sqlite_template`` fixture's file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "syncline.db"
        shutil.copyfile(template, path)
        engine = db.make_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()
