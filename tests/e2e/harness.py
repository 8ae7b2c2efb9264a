"""A hub database, the shipped mapping files and the real Salesforce connector on a sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from connectors import build_connector
from connectors.base import Connector
from connectors.salesforce import SalesforceConnector
from core.hubschema import HubSchema
from jobs.engine import SyncContext, run_all, run_mapping
from jobs.report import RunReport
from mappings.loader import load_mappings
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.hubview import HubView

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MAPPINGS = REPO / "mappings"
CONNECTION = "salesforce"
#: The shipped mappings a person-and-campaign sync needs, in the order a user would run them.
PEOPLE = ("salesforce-lead", "salesforce-contact")


class SalesforceHub(HubView):
    """Real cycles: shipped mapping files copied to a folder, a real hub, a sandbox org.

    Every connector a cycle builds is a real ``type: salesforce`` connector pointed at the
    sandbox, with retry waits recorded in ``slept`` instead of slept.
    """

    def __init__(self, engine: Engine, folder: Path, sandbox: SalesforceSandbox) -> None:
        super().__init__(engine)
        self.sandbox = sandbox
        self.folder = folder / "mappings"
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in SHIPPED_MAPPINGS.glob("*.yaml"):
            shutil.copyfile(path, self.folder / path.name)
        self.connectors: list[SalesforceConnector] = []
        self.slept: list[float] = []
        #: Called on each new connector before the cycle uses it (tests wrap its methods).
        self.on_connect: Callable[[SalesforceConnector], None] | None = None
        self.reload()

    # -- mappings and cycles ----------------------------------------------------------------

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The connection entry a user would write for this sandbox."""
        sandbox = self.sandbox
        return {"type": "salesforce", "login_url": sandbox.url, "client_id": sandbox.client_id,
                "client_secret": sandbox.client_secret, "username": sandbox.username,
                "password": sandbox.password, "security_token": sandbox.security_token,
                "bulk_poll_seconds": 0.01, **extra}

    def reload(self) -> None:
        """Load the (possibly edited) mapping folder with the real loader."""
        schema = HubSchema.load(self.folder / "hub.yaml")
        self.mappings = load_mappings(self.folder, hub_schema=schema)
        self.ctx = SyncContext(self.engine, self.mappings, schema, self._connect)

    def mapping_data(self, name: str) -> dict[str, Any]:
        """The copied mapping file ``name`` as YAML data."""
        data: dict[str, Any] = yaml.safe_load(
            (self.folder / f"{name}.yaml").read_text(encoding="utf-8"))
        return data

    def mapped(self, name: str, hub_field: str, value: str) -> str:
        """What ``value`` of ``hub_field`` becomes in Salesforce under mapping ``name``."""
        row = self.field_row(self.mapping_data(name), hub_field)
        return str((row.get("value_map") or {}).get(value, value))

    def edit_mapping(self, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the copied mapping file ``name`` as an admin would, then reload."""
        path = self.folder / f"{name}.yaml"
        data = self.mapping_data(name)
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        self.reload()

    @staticmethod
    def field_row(data: dict[str, Any], hub: str) -> dict[str, Any]:
        """The ``fields`` row of a mapping file's data for a hub field."""
        return next(row for row in data["fields"] if row["hub"] == hub)

    def _connect(self, name: str) -> Connector:
        assert name == CONNECTION, f"the shipped mappings use connection {CONNECTION!r}"
        connector = build_connector(name, self.settings())
        assert isinstance(connector, SalesforceConnector)
        connector.retry = replace(connector.retry, sleep=self.slept.append)
        self.connectors.append(connector)
        if self.on_connect is not None:
            self.on_connect(connector)
        return connector

    def run(self, name: str = "salesforce-lead", **options: Any) -> RunReport:
        """One cycle of one mapping."""
        return run_mapping(self.ctx, name, **options)

    def run_all(self, names: tuple[str, ...] | None = None, **options: Any) -> list[RunReport]:
        return run_all(self.ctx, list(names) if names else None, **options)

    # -- the Salesforce side: a sales rep's hands on the org --------------------------------

    @property
    def rep(self) -> str:
        """The sales rep (not the integration user) whose edits the tests simulate."""
        return self.sandbox.org.users[1].user_id

    def insert(self, sobject: str, fields: dict[str, Any]) -> str:
        with self.sandbox.state.org_lock:
            return self.sandbox.org.insert(sobject, fields, user_id=self.rep)

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        with self.sandbox.state.org_lock:
            self.sandbox.org.update(sobject, record_id, fields, user_id=self.rep)

    def delete(self, sobject: str, record_id: str) -> None:
        with self.sandbox.state.org_lock:
            self.sandbox.org.delete(sobject, record_id, user_id=self.rep)

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        with self.sandbox.state.org_lock:
            return self.sandbox.org.get(sobject, record_id)

    def rows(self, sobject: str) -> list[dict[str, Any]]:
        """Live records of ``sobject`` (deleted ones left out), as the org stores them."""
        with self.sandbox.state.org_lock:
            return [dict(r) for r in self.sandbox.org.rows(sobject) if not r.get("IsDeleted")]

    def leads(self, *, converted: bool = False) -> list[dict[str, Any]]:
        return [r for r in self.rows("Lead") if converted or not r.get("IsConverted")]

    def lead_by_email(self, email: str) -> dict[str, Any]:
        matches = [r for r in self.rows("Lead") if str(r.get("Email") or "").lower() == email]
        assert len(matches) == 1, f"{len(matches)} Leads with {email}"
        return matches[0]
