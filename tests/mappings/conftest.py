"""Mapping-test fixtures: a working directory where mapping files display as ``mappings/x.yaml``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.hubschema import HubSchema


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory with an empty ``mappings/`` folder in it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mappings").mkdir()
    return tmp_path


@pytest.fixture
def write(workdir: Path) -> Callable[[str, str], Path]:
    """Write ``mappings/<name>`` with the given text and return its path."""

    def _write(name: str, text: str) -> Path:
        path = workdir / "mappings" / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def hub_schema() -> HubSchema:
    """The standard hub schema (no custom fields)."""
    return HubSchema.standard()
