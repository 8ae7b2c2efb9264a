"""A hub database, an in-memory CRM and a mapping built from a dict: the engine under test."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from connectors.memory.connector import MemoryConnector
from connectors.memory.store import MemoryStore
from core.hubschema import HubSchema
from jobs.engine import SyncContext, run_all, run_mapping
from jobs.report import RunReport
from mappings.loader import load_mappings
from tests.hubview import HubView

LEAD_MAPPING: dict[str, Any] = {
    "name": "crm-person",
    "connection": "crm",
    "hub_object": "person",
    "remote_object": "Lead",
    "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
    "deletes": {"brake_floor": 100},
    "fields": [
        {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
        {"hub": "first_name", "remote": "FirstName"},
        {"hub": "last_name", "remote": "LastName", "default": "[unknown]"},
        {"hub": "company", "remote": "Company", "default": "[not provided]"},
        {"hub": "title", "remote": "Title"},
        {"hub": "score", "remote": "Score__c", "rule": "to_remote"},
    ],
}


def mapping(**overrides: Any) -> dict[str, Any]:
    """The lead mapping with top-level keys replaced; ``rules={"title": "hub_wins"}`` per field."""
    data = copy.deepcopy(LEAD_MAPPING)
    rules = overrides.pop("rules", {})
    data.update(overrides)
    for row in data["fields"]:
        if row.get("hub") in rules:
            row["rule"] = rules[row["hub"]]
    return data


class Harness(HubView):
    """Runs real cycles: mapping files loaded by the real loader, a real database, memory CRMs."""

    def __init__(
        self,
        engine: Engine,
        folder: Path,
        *mappings: dict[str, Any],
        stores: dict[str, MemoryStore] | None = None,
    ) -> None:
        super().__init__(engine)
        self.folder = folder
        self.stores = stores or {"crm": MemoryStore()}
        self.connector_config: dict[str, dict[str, Any]] = {name: {} for name in self.stores}
        self.connectors: list[MemoryConnector] = []
        self.set_mappings(*(mappings or (mapping(),)))

    @property
    def crm(self) -> MemoryStore:
        return self.stores["crm"]

    def set_mappings(self, *mappings: dict[str, Any]) -> None:
        folder = self.folder / "mappings"
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        for data in mappings:
            (folder / f"{data['name']}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        schema = HubSchema.standard()
        self.mappings = load_mappings(folder, hub_schema=schema)
        self.ctx = SyncContext(self.engine, self.mappings, schema, self._connect)

    def _connect(self, name: str) -> MemoryConnector:
        config = {"type": "memory", "store": self.stores[name], **self.connector_config[name]}
        connector = MemoryConnector(name, config)
        self.connectors.append(connector)
        return connector

    def run(self, name: str | None = None, **options: Any) -> RunReport:
        """One cycle of one mapping (the only one, by default)."""
        return run_mapping(self.ctx, name or next(iter(self.mappings)), **options)

    def run_all(self, **options: Any) -> list[RunReport]:
        return run_all(self.ctx, **options)

    # -- the CRM side -----------------------------------------------------------------------

    def lead(self, key: str) -> dict[str, Any]:
        record = self.crm.get("Lead", key)
        assert record is not None, f"no Lead {key}"
        return record

    def leads(self) -> list[dict[str, Any]]:
        return sorted(self.crm.all("Lead"), key=lambda r: str(r.get("Email")))

    def lead_by_email(self, email: str) -> dict[str, Any]:
        matches = [r for r in self.crm.all("Lead") if str(r.get("Email", "")).lower() == email]
        assert len(matches) == 1, f"{len(matches)} Leads with {email}"
        return matches[0]
