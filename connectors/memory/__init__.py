"""The in-memory reference connector (``type: memory``): demo CRM, engine tests, suite model."""

from __future__ import annotations

from connectors.memory.connector import MemoryConnector
from connectors.memory.schema import ObjectSchema, default_schema
from connectors.memory.store import MemoryStore, SimulatedCrash

__all__ = ["MemoryConnector", "MemoryStore", "ObjectSchema", "SimulatedCrash", "default_schema"]
