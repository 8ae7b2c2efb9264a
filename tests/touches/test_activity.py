"""A mapping's activity block, through real cycles: touches and memberships from pulled records.

The memory CRM's Registrant object stands in for a source of activity (a form, a webinar
platform): each record is a person who did something, at a time, for a campaign.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors.memory.store import MemoryStore
from core.errors import InputErrors
from core.hubschema import HubSchema
from core.models import CampaignMember, Person, SyncError, Touch
from jobs.triage import ErrorFilter, retry
from mappings.loader import load_mappings
from tests.jobs.harness import Harness
from tests.touches.helpers import add, campaign, member
from touches.programs import load_programs

SHIPPED = Path(__file__).resolve().parents[2] / "mappings" / "programs.yaml"
REGISTERED = datetime(2026, 4, 14, 15, 2, 11, tzinfo=UTC)

FORM: dict[str, Any] = {
    "name": "web-form",
    "connection": "crm",
    "hub_object": "person",
    "remote_object": "Registrant",
    "direction": "to_hub",
    "identity": {"match": ["email"]},
    "create": {"remote": False, "hub": True},
    "fields": [
        {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
        {"hub": "first_name", "remote": "FirstName", "rule": "fill_blank"},
    ],
    "activity": {
        "touches": [{"type": "form_fill", "at": ["RegisteredAt"], "landing_page": "Company",
                     "detail": {"form": "LastName"}}],
        "membership": {"campaign": "Webinar", "status": "filled_out"},
    },
}


@pytest.fixture
def hub(engine: Engine, tmp_path: Path) -> Harness:
    harness = Harness(engine, tmp_path, FORM, stores={"crm": MemoryStore()})
    harness.ctx.programs = load_programs(SHIPPED)
    return harness


def _submit(hub: Harness, **fields: Any) -> str:
    values = {"Email": "Ann@Example.com", "FirstName": "Ann", "Webinar": "Pricing Page",
              "RegisteredAt": REGISTERED.isoformat(), "Company": "https://example.com/pricing",
              "LastName": "pricing-demo", **fields}
    return str(hub.crm.create("Registrant", values))


def _touches(engine: Engine) -> list[Touch]:
    with Session(engine) as db:
        return list(db.exec(select(Touch).where(col(Touch.deleted_at).is_(None))))


def _members(engine: Engine) -> list[CampaignMember]:
    with Session(engine) as db:
        return list(db.exec(select(CampaignMember)))


def test_a_submission_is_a_person_a_touch_and_a_membership(hub: Harness, engine: Engine) -> None:
    pricing = campaign("Pricing Page", type="Web Form")
    add(engine, pricing)
    key = _submit(hub)
    hub.run()
    with Session(engine) as db:
        ann = db.exec(select(Person).where(Person.email == "ann@example.com")).one()
    (touch,) = _touches(engine)
    assert (touch.person_id, touch.campaign_id, touch.touch_type) == (ann.id, pricing.id,
                                                                       "form_fill")
    assert touch.occurred_at.replace(tzinfo=UTC) == REGISTERED
    assert touch.landing_page == "https://example.com/pricing"
    assert touch.detail == {"form": "pricing-demo"}
    assert touch.origin == "activity"
    (joined,) = _members(engine)
    assert (joined.person_id, joined.campaign_id, joined.status) == (ann.id, pricing.id,
                                                                      "filled_out")
    # filled_out is a success: the member's own touch will be this very one (same time).
    assert joined.first_responded_at.replace(tzinfo=UTC) == REGISTERED
    # Read again (an edit over there): still one touch, one member.
    hub.crm.update("Registrant", key, {"FirstName": "Annie"})
    hub.run()
    assert len(_touches(engine)) == 1 and len(_members(engine)) == 1


def test_a_membership_only_moves_forward(hub: Harness, engine: Engine) -> None:
    """Someone who attended the webinar fills its follow-up form: they stay Attended."""
    webinar = campaign("Pricing Page", type="Webinar")
    ann = Person(email="ann@example.com")
    add(engine, webinar, ann, member(ann, webinar, status="attended"))
    _submit(hub)
    hub.run()
    (kept,) = _members(engine)
    assert kept.status == "attended"
    assert [t.touch_type for t in _touches(engine)] == ["form_fill"]


def test_an_unknown_campaign_is_an_error_holding_the_submission_until_replayed(
    hub: Harness, engine: Engine
) -> None:
    key = _submit(hub, Webinar="Spring Launch")
    report = hub.run()
    assert report.failed == 1
    with Session(engine) as db:
        error = db.exec(select(SyncError).where(SyncError.status != "resolved")).one()
        assert error.code == "CAMPAIGN_UNKNOWN" and error.remote_id == key
        assert "'Spring Launch'" in error.message
        assert error.payload["Email"] == "Ann@Example.com"
        assert db.exec(select(Person)).one().email == "ann@example.com"  # the person is in
    assert _members(engine) == []
    add(engine, campaign("Spring Launch", type="Web Form"))
    assert retry(engine, ErrorFilter(mapping="web-form"), "admin@example.com") == 1
    hub.run()
    assert [m.status for m in _members(engine)] == ["filled_out"]
    assert len(_touches(engine)) == 1
    with Session(engine) as db:
        assert db.exec(select(SyncError).where(SyncError.status != "resolved")).all() == []


def test_the_loader_refuses_activity_that_cannot_run(tmp_path: Path) -> None:
    bad = {**FORM, "direction": "to_remote", "create": {"remote": True, "hub": False}}
    bad["activity"] = {"touches": [{"type": "form_fill", "when": "Email ==", "utm": {"src": "x"}}]}
    (tmp_path / "web-form.yaml").write_text(__import__("yaml").safe_dump(bad))
    with pytest.raises(InputErrors) as caught:
        load_mappings(tmp_path, hub_schema=HubSchema.standard())
    text = str(caught.value)
    assert "unknown UTM parameter src" in text
