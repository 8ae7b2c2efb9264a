"""A hub, chosen shipped mapping files, real connectors on Dataverse (and Salesforce) sandboxes."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from connectors import build_connector
from connectors.base import Connector
from connectors.dynamics import DynamicsConnector
from connectors.dynamics.connector import forget_describes
from connectors.salesforce import SalesforceConnector
from core.hubschema import HubSchema
from jobs.engine import SyncContext, run_all, run_mapping
from jobs.report import RunReport
from mappings.loader import load_mappings
from sandboxes.dynamics.sandbox import DynamicsSandbox
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.hubview import HubView

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MAPPINGS = REPO / "mappings"
#: The shipped mappings a Dynamics person sync needs (contact refers to account).
DYNAMICS_PEOPLE = ("dynamics-lead", "dynamics-account", "dynamics-contact")


def dynamics_settings(sandbox: DynamicsSandbox, **extra: Any) -> dict[str, Any]:
    """The connection entry a user would write for this Dataverse sandbox."""
    return {"type": "dynamics", "url": sandbox.url, "token_url": sandbox.token_url,
            "client_id": sandbox.client_id, "client_secret": sandbox.client_secret, **extra}


def salesforce_settings(sandbox: SalesforceSandbox, **extra: Any) -> dict[str, Any]:
    """The connection entry a user would write for this Salesforce sandbox."""
    return {"type": "salesforce", "login_url": sandbox.url, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "username": sandbox.username,
            "password": sandbox.password, "security_token": sandbox.security_token,
            "bulk_poll_seconds": 0.01, **extra}


class DynamicsHub(HubView):
    """Real cycles: some shipped mapping files copied to a folder, a real hub, sandbox CRMs.

    Connection ``dynamics`` is a real ``type: dynamics`` connector on ``sandbox``; when a
    Salesforce sandbox is given, connection ``salesforce`` is a real Salesforce connector on
    it. Retry waits are recorded in ``slept`` instead of slept.
    """

    def __init__(self, engine: Engine, folder: Path, sandbox: DynamicsSandbox,
                 mappings: Sequence[str] = DYNAMICS_PEOPLE, *,
                 salesforce: SalesforceSandbox | None = None) -> None:
        super().__init__(engine)
        self.sandbox = sandbox
        self.salesforce = salesforce
        self.folder = folder / "mappings"
        self.folder.mkdir(parents=True, exist_ok=True)
        # Only the files a test needs: the loader checks every loaded file's refs.
        shutil.copyfile(SHIPPED_MAPPINGS / "hub.yaml", self.folder / "hub.yaml")
        for name in mappings:
            shutil.copyfile(SHIPPED_MAPPINGS / f"{name}.yaml", self.folder / f"{name}.yaml")
        self.connectors: list[Connector] = []
        self.slept: list[float] = []
        #: Called on each new connector before the cycle uses it (tests wrap its methods).
        self.on_connect: Callable[[Connector], None] | None = None
        #: Extra settings of the ``dynamics`` connection (page_size, max_batch_size, ...).
        self.dynamics_extra: dict[str, Any] = {}
        # The describe cache is per process: a test must not see another sandbox's metadata.
        forget_describes()
        self.reload()

    # -- mappings and cycles ----------------------------------------------------------------

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
        """What ``value`` of ``hub_field`` becomes remotely under mapping ``name``."""
        row = next(r for r in self.mapping_data(name)["fields"] if r.get("hub") == hub_field)
        return str((row.get("value_map") or {}).get(value, value))

    def edit_mapping(self, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the copied mapping file ``name`` as an admin would, then reload."""
        data = self.mapping_data(name)
        change(data)
        (self.folder / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False),
                                                  encoding="utf-8")
        self.reload()

    def _connect(self, name: str) -> Connector:
        connector: Connector
        if name == "dynamics":
            connector = build_connector(
                name, dynamics_settings(self.sandbox, **self.dynamics_extra))
            assert isinstance(connector, DynamicsConnector)
        else:
            assert name == "salesforce" and self.salesforce is not None, name
            connector = build_connector(name, salesforce_settings(self.salesforce))
            assert isinstance(connector, SalesforceConnector)
        connector.retry = replace(connector.retry, sleep=self.slept.append)
        self.connectors.append(connector)
        if self.on_connect is not None:
            self.on_connect(connector)
        return connector

    def run(self, name: str = "dynamics-lead", **options: Any) -> RunReport:
        """One cycle of one mapping."""
        return run_mapping(self.ctx, name, **options)

    def run_all(self, names: Sequence[str] | None = None, **options: Any) -> list[RunReport]:
        return run_all(self.ctx, list(names) if names else None, **options)

    # -- the Dynamics side: a sales rep's hands on the environment --------------------------

    def stored(self, entity: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Fields as a Dynamics form saves them: option labels become their numbers."""
        meta = self.sandbox.env.metadata.entity(entity)
        out: dict[str, Any] = {}
        for name, value in fields.items():
            attribute = meta.attributes.get(name)
            if attribute is not None and attribute.options and isinstance(value, str):
                value = next(o.value for o in attribute.options if o.label == value)
            out[name] = value
        return out

    def option_value(self, entity: str, attribute: str, label: str) -> int:
        """The number Dataverse stores for option ``label`` of ``entity.attribute``."""
        value = self.stored(entity, {attribute: label})[attribute]
        assert isinstance(value, int)
        return value

    def create(self, entity: str, fields: dict[str, Any]) -> str:
        with self.sandbox.state.env_lock:
            return self.sandbox.env.create(entity, self.stored(entity, fields))

    def update(self, entity: str, guid: str, fields: dict[str, Any]) -> None:
        with self.sandbox.state.env_lock:
            self.sandbox.env.update(entity, guid, self.stored(entity, fields))

    def delete(self, entity: str, guid: str) -> None:
        with self.sandbox.state.env_lock:
            self.sandbox.env.delete(entity, guid)

    def get(self, entity: str, guid: str) -> dict[str, Any]:
        with self.sandbox.state.env_lock:
            return dict(self.sandbox.env.get(entity, guid))

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """Live rows of ``entity`` as the environment stores them."""
        with self.sandbox.state.env_lock:
            return [dict(r) for r in self.sandbox.env.rows(entity)]

    def qualify(self, lead_id: str) -> dict[str, Any]:
        """A rep qualifies the lead (account, contact, no opportunity)."""
        with self.sandbox.state.env_lock:
            return self.sandbox.env.qualify_lead(lead_id, create_opportunity=False)

    def lead_by_email(self, email: str) -> dict[str, Any]:
        matches = [r for r in self.rows("lead") if r.get("emailaddress1") == email]
        assert len(matches) == 1, f"{len(matches)} leads with {email}"
        return matches[0]

    # -- the Salesforce side (three systems) ------------------------------------------------

    def _org(self) -> SalesforceSandbox:
        assert self.salesforce is not None, "no Salesforce sandbox in this hub"
        return self.salesforce

    @property
    def sf_rep(self) -> str:
        """The Salesforce sales rep (not the integration user) whose edits tests simulate."""
        return self._org().org.users[1].user_id

    def sf_insert(self, sobject: str, fields: dict[str, Any]) -> str:
        org = self._org()
        with org.state.org_lock:
            return org.org.insert(sobject, fields, user_id=self.sf_rep)

    def sf_rows(self, sobject: str) -> list[dict[str, Any]]:
        """Live Salesforce records of ``sobject`` (deleted ones left out)."""
        org = self._org()
        with org.state.org_lock:
            return [dict(r) for r in org.org.rows(sobject) if not r.get("IsDeleted")]

    def sf_get(self, sobject: str, record_id: str) -> dict[str, Any]:
        org = self._org()
        with org.state.org_lock:
            return dict(org.org.get(sobject, record_id))
