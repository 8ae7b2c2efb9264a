"""Test helpers: a mapping folder and a connections file of our own, and a fixed clock."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def mapping_yaml(
    name: str, connection: str, *, schedule: str = "30s", enabled: bool = True
) -> dict[str, Any]:
    """The smallest valid mapping: one person field to a Lead-like object."""
    return {
        "name": name,
        "connection": connection,
        "hub_object": "person",
        "remote_object": "Lead",
        "schedule": schedule,
        "enabled": enabled,
        "fields": [{"hub": "email", "remote": "Email"}],
    }


def use_files(
    app: Flask,
    folder: Path,
    connections: dict[str, Any] | None,
    mappings: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> None:
    """Point ``app`` at a fresh mapping folder (hub.yaml + ``mappings``) and connections file.

    ``connections`` None leaves the connections file missing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    directory = folder / "mappings"
    directory.mkdir()
    shutil.copy(REPO_MAPPINGS / "hub.yaml", directory / "hub.yaml")
    for mapping in mappings:
        (directory / f"{mapping['name']}.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    path = folder / "connections.yaml"
    if connections is not None:
        path.write_text(yaml.safe_dump(connections, sort_keys=False))
    app.config["MAPPINGS_DIR"] = str(directory)
    app.config["CONNECTIONS"] = str(path)


def freeze_clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """Make the overview and connections pages believe it is ``now``."""
    import dashboard.connections
    import dashboard.overview

    monkeypatch.setattr(dashboard.overview, "utcnow", lambda: now)
    monkeypatch.setattr(dashboard.connections, "utcnow", lambda: now)
