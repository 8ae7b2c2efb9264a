"""Fixtures of the scoring tests: the shipped hub schema and scoring file."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.hubschema import HubSchema
from scoring.loader import load_scoring
from scoring.spec import Scoring

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture
def schema() -> HubSchema:
    return HubSchema.load(SHIPPED / "hub.yaml")


@pytest.fixture
def rules(schema: HubSchema) -> Scoring:
    return load_scoring(SHIPPED / "scoring.yaml", hub_schema=schema)
