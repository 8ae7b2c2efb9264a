"""A hub, the shipped Zoom mappings and programs file, a real Zoom connector on the sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors import build_connector
from connectors.base import Connector
from core.hubschema import HubSchema
from core.models import Campaign, CampaignMember, Touch
from jobs.engine import SyncContext, run_all
from jobs.hub_steps import run_hub_steps
from jobs.report import RunReport
from mappings.loader import load_mappings
from sandboxes.zoom.sandbox import ZoomSandbox
from tests.hubview import HubView
from touches.programs import load_programs

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MAPPINGS = REPO / "mappings"
ZOOM_MAPPINGS = ("zoom-webinar", "zoom-person", "zoom-registrant")


def zoom_settings(sandbox: ZoomSandbox, **extra: Any) -> dict[str, Any]:
    """The connection entry a user would write for this Zoom sandbox."""
    return {"type": "zoom", "account_id": sandbox.account_id, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "api_url": sandbox.api_url,
            "token_url": sandbox.token_url, **extra}


class ZoomHub(HubView):
    """Real cycles of the shipped Zoom mappings, then the hub steps (member touches)."""

    def __init__(self, engine: Engine, folder: Path, sandbox: ZoomSandbox,
                 mappings: Sequence[str] = ZOOM_MAPPINGS) -> None:
        super().__init__(engine)
        self.sandbox = sandbox
        self.folder = folder / "mappings"
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in ("hub.yaml", "programs.yaml", *(f"{m}.yaml" for m in mappings)):
            shutil.copyfile(SHIPPED_MAPPINGS / name, self.folder / name)
        self.connectors: list[Connector] = []
        schema = HubSchema.load(self.folder / "hub.yaml")
        self.mappings = load_mappings(self.folder, hub_schema=schema)
        self.ctx = SyncContext(self.engine, self.mappings, schema, self._connect,
                               programs=load_programs(self.folder / "programs.yaml"))

    def _connect(self, name: str) -> Connector:
        assert name == "zoom", name
        connector = build_connector(name, zoom_settings(self.sandbox))
        self.connectors.append(connector)
        return connector

    def cycle(self) -> list[RunReport]:
        """Every mapping once (pulls, then pushes), then the hub steps, as the scheduler does."""
        reports = run_all(self.ctx)
        run_hub_steps(self.ctx)
        return reports

    # -- the Zoom side: a host's hands ------------------------------------------------------

    def webinar(self, topic: str, start: datetime, minutes: int = 60) -> int:
        made = self.sandbox.account.create_webinar(
            {"topic": topic, "start_time": start.isoformat(), "duration": minutes})
        return int(made["id"])

    def register(self, webinar_id: int, email: str, first: str, last: str = "",
                 at: datetime | None = None, **more: str) -> str:
        made = self.sandbox.account.register(
            webinar_id, {"email": email, "first_name": first, "last_name": last, **more},
            create_time=at.isoformat() if at else None)
        return str(made["id"])

    def end(self, webinar_id: int, joins: Sequence[tuple[str, datetime, int]],
            *, report_ready: bool = True) -> None:
        """End the webinar: each join is (email, join time, minutes stayed)."""
        self.sandbox.account.end_webinar(webinar_id, [
            {"email": email, "join_time": at.isoformat(),
             "leave_time": (at + timedelta(minutes=minutes)).isoformat()}
            for email, at, minutes in joins
        ], report_ready=report_ready)

    def registrants(self, webinar_id: int) -> list[dict[str, Any]]:
        with self.sandbox.account.lock:
            return [dict(r) for r in self.sandbox.account.registrants[webinar_id].values()]

    # -- the hub side ------------------------------------------------------------------------

    def campaign(self, name: str) -> Campaign:
        with Session(self.engine) as db:
            return db.exec(select(Campaign).where(Campaign.name == name)).one()

    def statuses(self, campaign: Campaign) -> dict[str, str | None]:
        """Email → member status in the campaign."""
        with Session(self.engine) as db:
            members = db.exec(select(CampaignMember).where(
                CampaignMember.campaign_id == campaign.id)).all()
            return {self.person(m.person_id).email or "": m.status for m in members}

    def touches(self, kind: str | None = None) -> list[Touch]:
        with Session(self.engine) as db:
            query = select(Touch).where(col(Touch.deleted_at).is_(None))
            if kind:
                query = query.where(Touch.touch_type == kind)
            return list(db.exec(query))
