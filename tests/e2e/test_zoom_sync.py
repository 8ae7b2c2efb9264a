"""Zoom webinars through the shipped mappings: campaigns, members, statuses, touches, and back.

What a marketing-ops admin sees after each cycle: webinars as Webinar campaigns, registrants as
members (Registered, then Attended or No Show once Zoom's report is ready), one registration
touch per registrant and one attendance touch per attendee, and hub sign-ups registered in Zoom.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.models import Campaign, CampaignMember
from jobs.explain.facts import Verdict
from jobs.explain.load import explain_record
from sandboxes.zoom.sandbox import ZoomSandbox
from tests.e2e.zoom_harness import ZoomHub

NOW = utcnow().replace(microsecond=0)
PAST = (NOW - timedelta(days=3)).replace(hour=16, minute=0, second=0)
FUTURE = (NOW + timedelta(days=10)).replace(hour=16, minute=0, second=0)


@pytest.fixture
def sandbox() -> Iterator[ZoomSandbox]:
    with ZoomSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def hub(engine: Engine, tmp_path: Path, sandbox: ZoomSandbox) -> ZoomHub:
    return ZoomHub(engine, tmp_path, sandbox)


def test_a_webinar_its_registrants_and_their_attendance(hub: ZoomHub) -> None:
    webinar = hub.webinar("Pipeline Math Live", PAST, minutes=60)
    ann_at = PAST - timedelta(days=5, hours=2, seconds=7)
    hub.register(webinar, "Ann@Acme.example", "Ann", "Archer", at=ann_at, org="Acme")
    hub.register(webinar, "bo@beta.example", "Bo", "Brandt", at=PAST - timedelta(days=2))
    hub.register(webinar, "cy@gamma.example", "Cy", "Chen", at=PAST - timedelta(days=1))
    known = hub.add_person(email="bo@beta.example", first_name="Robert", company="Beta GmbH")

    reports = hub.cycle()
    assert all(r.status == "success" for r in reports), [(e.code, e.message) for e in hub.errors()]
    campaign = hub.campaign("Pipeline Math Live")
    assert (campaign.type, campaign.status, campaign.start_date) == (
        "Webinar", "Completed", PAST.date())
    # Not ended in Zoom yet (no report): everyone is Registered, nobody a no-show yet.
    assert hub.statuses(campaign) == {"ann@acme.example": "registered",
                                      "bo@beta.example": "registered",
                                      "cy@gamma.example": "registered"}
    # New people come from what they typed; a known one keeps the CRM's values (fill blanks).
    ann = hub.person_by_email("ann@acme.example")
    assert (ann.first_name, ann.last_name, ann.company) == ("Ann", "Archer", "Acme")
    assert (hub.person(known).first_name, hub.person(known).company) == ("Robert", "Beta GmbH")
    registrations = hub.touches("webinar_registration")
    assert len(registrations) == 3
    mine = next(t for t in registrations if t.person_id == ann.id)
    assert mine.occurred_at.replace(tzinfo=UTC) == ann_at
    assert mine.campaign_id == campaign.id and mine.channel == "Webinar"
    assert hub.touches("webinar_attended") == []

    ann_in = PAST + timedelta(minutes=3, seconds=12)
    hub.end(webinar, [("ann@acme.example", ann_in, 20),
                      ("ann@acme.example", PAST + timedelta(minutes=30), 25),  # rejoined
                      ("bo@beta.example", PAST + timedelta(minutes=10), 40)])
    hub.cycle()
    assert hub.statuses(campaign) == {"ann@acme.example": "attended",
                                      "bo@beta.example": "attended",
                                      "cy@gamma.example": "no_show"}
    attended = hub.touches("webinar_attended")
    assert len(attended) == 2, "one attendance touch per attendee, however many joins"
    ann_touch = next(t for t in attended if t.person_id == ann.id)
    assert ann_touch.occurred_at.replace(tzinfo=UTC) == ann_in  # the first join
    assert ann_touch.detail["minutes_attended"] == 45 and ann_touch.detail["joins"] == 2
    assert ann_touch.member_id is not None, "the member's own touch is that touch"
    assert len(hub.touches("webinar_registration")) == 3
    assert [e for e in hub.errors() if e.status != "resolved"] == []

    # A quiet cycle writes nothing more.
    before = len(hub.touches())
    hub.cycle()
    assert len(hub.touches()) == before


def test_statuses_only_move_forward(hub: ZoomHub) -> None:
    """A CRM said Ann attended (she watched from a colleague's screen); Zoom says no-show."""
    webinar = hub.webinar("Forward Only", PAST)
    hub.register(webinar, "ann@acme.example", "Ann", at=PAST - timedelta(days=1))
    hub.register(webinar, "bo@beta.example", "Bo", at=PAST - timedelta(days=1))
    hub.cycle()
    campaign = hub.campaign("Forward Only")
    ann = hub.person_by_email("ann@acme.example")
    with Session(hub.engine) as db:
        member = db.exec(select(CampaignMember).where(CampaignMember.person_id == ann.id)).one()
        member.status = "attended"
        db.add(member)
        db.commit()
    hub.end(webinar, [("bo@beta.example", PAST + timedelta(minutes=1), 30)])
    hub.cycle()
    assert hub.statuses(campaign) == {"ann@acme.example": "attended",
                                      "bo@beta.example": "attended"}


def test_a_report_not_ready_yet_waits_quietly(hub: ZoomHub) -> None:
    webinar = hub.webinar("Slow Report", PAST)
    hub.register(webinar, "ann@acme.example", "Ann", at=PAST - timedelta(days=1))
    hub.end(webinar, [("ann@acme.example", PAST + timedelta(minutes=2), 30)],
            report_ready=False)
    hub.cycle()
    hub.cycle()
    campaign = hub.campaign("Slow Report")
    assert hub.statuses(campaign) == {"ann@acme.example": "registered"}
    assert [e for e in hub.errors() if e.status != "resolved"] == []
    hub.sandbox.account.instances[hub.sandbox.account.webinar(webinar)["uuid"]][
        "report_ready"] = True
    hub.cycle()
    assert hub.statuses(campaign) == {"ann@acme.example": "attended"}


def test_a_hub_sign_up_is_registered_in_zoom(hub: ZoomHub) -> None:
    webinar = hub.webinar("Scoring in the Open", FUTURE)
    hub.cycle()
    zoom_campaign = hub.campaign("Scoring in the Open")
    other = hub.add(Campaign(name="Trade Show Berlin", type="Trade Show"))
    dee = hub.add_person(email="dee@delta.example", first_name="Dee", last_name="Diaz")
    hub.add(CampaignMember(person_id=dee, campaign_id=zoom_campaign.id, status="registered"))
    hub.add(CampaignMember(person_id=dee, campaign_id=other, status="registered"))
    hub.cycle()
    (registrant,) = hub.registrants(webinar)
    assert (registrant["email"], registrant["first_name"], registrant["last_name"]) == (
        "dee@delta.example", "Dee", "Diaz")
    # The trade show is no Zoom webinar: not registered anywhere, and no error about it; its
    # page says why.
    assert [e for e in hub.errors() if e.status != "resolved"] == []
    with Session(hub.engine) as db:
        member = db.exec(select(CampaignMember).where(CampaignMember.campaign_id == other)).one()
        explained = explain_record(db, hub.mappings, hub.ctx.schema, "campaign_member", member)
    (verdict,) = [v for v in explained.mappings if v.mapping == "zoom-registrant"]
    assert verdict.outbound.verdict is Verdict.NO
    assert verdict.outbound.reasons[0].code == "out_of_scope"
    assert "campaign_id" in verdict.outbound.reasons[0].text
    # Registered once: the next cycles read the registration back and link it, nothing new.
    hub.cycle()
    assert len(hub.registrants(webinar)) == 1
    assert hub.statuses(zoom_campaign) == {"dee@delta.example": "registered"}


def test_a_rate_limit_storm_still_completes(hub: ZoomHub) -> None:
    webinar = hub.webinar("Storm", FUTURE)
    for i in range(5):
        hub.register(webinar, f"p{i}@storm.example", f"P{i}", at=NOW - timedelta(hours=i + 1))
    hub.sandbox.faults.inject("rate_limited", times=4)
    reports = hub.cycle()
    assert all(r.status == "success" for r in reports), [(r.mapping, r.status) for r in reports]
    assert len(hub.statuses(hub.campaign("Storm"))) == 5
