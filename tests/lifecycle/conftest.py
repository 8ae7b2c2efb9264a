"""Fixtures of the lifecycle tests: the shipped hub schema and lifecycle file."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.hubschema import HubSchema
from lifecycle.loader import load_lifecycle
from lifecycle.spec import Lifecycle

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture
def schema() -> HubSchema:
    return HubSchema.load(SHIPPED / "hub.yaml")


@pytest.fixture
def lifecycle(schema: HubSchema) -> Lifecycle:
    loaded = load_lifecycle(SHIPPED / "lifecycle.yaml", hub_schema=schema)
    assert loaded is not None
    return loaded
