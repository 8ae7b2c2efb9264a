from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from attribution.config import parse_settings
from core.clock import as_utc
from core.db import session
from core.hubschema import HubSchema
from core.models import (
    AttributionCredit,
    CampaignInfluence,
    CampaignMember,
    Opportunity,
    OpportunityContactRole,
)
from core.sequence import current_seq
from jobs.engine import SyncContext
from jobs.scheduler import build_scheduler, hub_steps_job
from tests.touches.helpers import add, campaign, change, member, person, touches
from touches.members import member_touches
from touches.programs import Programs, load_programs
from touches.record import TouchInput, record_touch

SHIPPED = Path(__file__).resolve().parents[2] / "mappings" / "programs.yaml"
RESPONDED = datetime(2026, 3, 1, 14, 0, 5, tzinfo=UTC)


@pytest.fixture
def programs() -> Programs:
    return load_programs(SHIPPED)


def test_member_to_touch_lifecycle(engine: Engine, programs: Programs) -> None:
    ann, webinar = person("ann@x.com"), campaign("Webinar: Launch", type="Webinar")
    invited = member(ann, webinar, status="invited")
    add(engine, ann, webinar, invited)
    assert member_touches(engine, programs).created == 0
    assert touches(engine) == [], "an invitation is no touch"

    # Salesforce says she responded (registered): one touch at FirstRespondedDate.
    change(engine, invited, status="registered", responded=True, first_responded_at=RESPONDED)
    report = member_touches(engine, programs)
    assert (report.members, report.created) == (1, 1)
    [touch] = touches(engine)
    assert (touch.person_id, touch.campaign_id, touch.member_id) == (ann.id, webinar.id, invited.id)
    assert (touch.touch_type, touch.channel, touch.origin) == (
        "webinar_registration", "Webinar", "crm_response")
    assert as_utc(touch.occurred_at) == RESPONDED

    # Nothing changed: a second run writes nothing.
    seq = current_seq(Session(engine))
    assert member_touches(engine, programs).members == 0
    assert current_seq(Session(engine)) == seq

    # She attends: still one touch, now of the attended kind, at the same time.
    change(engine, invited, status="attended")
    assert member_touches(engine, programs).updated == 1
    [attended] = touches(engine)
    assert attended.id == touch.id
    assert attended.touch_type == "webinar_attended" and as_utc(attended.occurred_at) == RESPONDED
    assert len(touches(engine, live=False)) == 1

    # The membership is deleted: the touch goes (soft delete, so attribution hears of it).
    change(engine, invited, deleted_at=datetime.now(UTC))
    assert member_touches(engine, programs).removed == 1
    assert touches(engine) == []
    [gone] = touches(engine, live=False)
    assert gone.deleted_at is not None and gone.change_seq > attended.change_seq


def test_a_success_status_alone_is_a_touch_at_the_time_it_was_reached(
    sqlite_engine: Engine, programs: Programs
) -> None:
    bob, mail = person("bob@y.com"), campaign("March newsletter", channel="Email")
    sent = member(bob, mail, status="sent")
    add(sqlite_engine, bob, mail, sent)
    member_touches(sqlite_engine, programs)
    assert touches(sqlite_engine) == []
    change(sqlite_engine, sent, status="clicked")
    member_touches(sqlite_engine, programs)
    [touch] = touches(sqlite_engine)
    with Session(sqlite_engine) as db:
        # Read afresh: merging ``sent`` would copy its stale, pre-change updated_at back in.
        clicked_at = db.get(CampaignMember, sent.id).updated_at
    assert (touch.touch_type, touch.origin) == ("email_click", "member_status")
    assert as_utc(touch.occurred_at) == as_utc(clicked_at).replace(microsecond=0)

    # Back to "opened" (a correction): it no longer counts, so the touch goes.
    change(sqlite_engine, sent, status="opened")
    assert member_touches(sqlite_engine, programs).removed == 1
    assert touches(sqlite_engine) == []
    # And clicked again: one touch, the same row back.
    change(sqlite_engine, sent, status="clicked")
    member_touches(sqlite_engine, programs)
    [again] = touches(sqlite_engine)
    assert again.id == touch.id
    assert len(touches(sqlite_engine, live=False)) == 1


def test_a_response_that_says_no_is_no_touch(sqlite_engine: Engine, programs: Programs) -> None:
    # A Dynamics campaign response: declined, with its received time; then it bounces too.
    cy, event = person("cy@z.com"), campaign("Data Summit Berlin", type="Trade Show")
    answered = member(cy, event, status="declined", responded=True, first_responded_at=RESPONDED)
    add(sqlite_engine, cy, event, answered)
    member_touches(sqlite_engine, programs)
    assert touches(sqlite_engine) == []
    change(sqlite_engine, answered, status="responded")
    member_touches(sqlite_engine, programs)
    assert [t.touch_type for t in touches(sqlite_engine)] == ["event"]
    # The address bounces afterwards: the touch goes with the no.
    change(sqlite_engine, answered, status="bounced")
    assert member_touches(sqlite_engine, programs).removed == 1
    assert touches(sqlite_engine) == []


def test_a_campaign_changing_channel_reconsiders_its_members(
    sqlite_engine: Engine, programs: Programs
) -> None:
    cy, program = person("cy@z.com"), campaign("Spring program")
    downloaded = member(cy, program, status="downloaded")
    add(sqlite_engine, cy, program, downloaded)
    member_touches(sqlite_engine, programs)
    assert touches(sqlite_engine) == [], "'downloaded' means nothing in the default channel"
    change(sqlite_engine, program, type="Ebook")
    report = member_touches(sqlite_engine, programs)
    assert report.created == 1
    [touch] = touches(sqlite_engine)
    assert (touch.touch_type, touch.channel) == ("content_download", "Content")


def test_a_changed_programs_file_looks_at_every_member_again(
    sqlite_engine: Engine, programs: Programs, tmp_path: Path
) -> None:
    dee, event = person("dee@z.com"), campaign("Summit", type="Conference")
    registered = member(dee, event, status="registered")
    add(sqlite_engine, dee, event, registered)
    member_touches(sqlite_engine, programs)
    assert touches(sqlite_engine) == []
    edited = tmp_path / "programs.yaml"
    edited.write_text(SHIPPED.read_text(encoding="utf-8").replace(
        "      - {status: invited}\n      - {status: registered}\n      - {status: no_show}",
        "      - {status: invited}\n      - {status: registered, success: true}\n"
        "      - {status: no_show}",
    ), encoding="utf-8")
    assert member_touches(sqlite_engine, load_programs(edited)).created == 1
    [touch] = touches(sqlite_engine)
    assert (touch.touch_type, touch.member_id) == ("event", registered.id)


def test_a_member_touch_meeting_an_imported_one_becomes_one_touch(
    sqlite_engine: Engine, programs: Programs
) -> None:
    eve, webinar = person("eve@x.com"), campaign("Webinar: Q2", type="Webinar")
    attended = member(eve, webinar, status="attended", responded=True,
                      first_responded_at=RESPONDED)
    add(sqlite_engine, eve, webinar, attended)
    with session(sqlite_engine) as db:
        record_touch(db, TouchInput(eve.id, RESPONDED, "webinar_attended", "import",
                                    campaign_id=webinar.id, source="linkedin"))
    member_touches(sqlite_engine, programs)
    [touch] = touches(sqlite_engine, live=False)
    assert (touch.member_id, touch.source, touch.origin) == (attended.id, "linkedin",
                                                            "crm_response")


def test_an_idle_run_writes_nothing_at_all(sqlite_engine: Engine, programs: Programs) -> None:
    fay, webinar = person("fay@x.com"), campaign("Webinar: Idle", type="Webinar")
    add(sqlite_engine, fay, webinar, member(fay, webinar, status="attended"))
    assert member_touches(sqlite_engine, programs).created == 1
    writes: list[str] = []

    def count_writes(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement)

    event.listen(sqlite_engine, "before_cursor_execute", count_writes)
    try:
        assert member_touches(sqlite_engine, programs).members == 0
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", count_writes)
    assert writes == []


def test_the_scheduler_runs_the_step_on_its_own_job(
    sqlite_engine: Engine, programs: Programs
) -> None:
    gus, webinar = person("gus@x.com"), campaign("Webinar: Jobs", type="Webinar")
    add(sqlite_engine, gus, webinar, member(gus, webinar, status="attended"))
    no_connections = lambda name: None  # noqa: E731 - the step makes no remote call
    ctx = SyncContext(sqlite_engine, {}, HubSchema.standard(), no_connections,  # type: ignore[arg-type]
                      programs=programs)
    scheduler = build_scheduler(ctx, scheduler=BackgroundScheduler(timezone="UTC"))
    job = scheduler.get_job("hub-steps")
    assert job is not None and job.args == (ctx,)
    hub_steps_job(ctx)
    [touch] = touches(sqlite_engine)
    assert (touch.person_id, touch.touch_type) == (gus.id, "webinar_attended")
    without = SyncContext(sqlite_engine, {}, HubSchema.standard(), no_connections)  # type: ignore[arg-type]
    assert build_scheduler(without, scheduler=BackgroundScheduler(timezone="UTC")).get_job(
        "hub-steps") is None


def test_the_hub_steps_job_credits_the_deal_the_new_touch_belongs_to(
    sqlite_engine: Engine, programs: Programs
) -> None:
    """Member → touch, then attribution over it, in one run of the scheduler's job."""
    gus, webinar = person("gus@x.com"), campaign("Webinar: Jobs", type="Webinar")
    deal = Opportunity(name="Jobs deal", amount=1000.0, created_on=datetime.now(UTC))
    add(sqlite_engine, gus, webinar, deal,
        member(gus, webinar, status="attended"),
        OpportunityContactRole(opportunity_id=deal.id, person_id=gus.id, is_primary=True))
    settings = parse_settings("models: [first_touch]\n", "attribution.yaml")
    ctx = SyncContext(sqlite_engine, {}, HubSchema.standard(), lambda name: None,  # type: ignore[arg-type,return-value]
                      programs=programs, attribution=settings)

    hub_steps_job(ctx)

    [touch] = touches(sqlite_engine)
    with Session(sqlite_engine) as db:
        [credit] = db.exec(select(AttributionCredit)).all()
        [row] = db.exec(select(CampaignInfluence)).all()
    assert (credit.opportunity_id, credit.touch_id, credit.share) == (deal.id, touch.id, "1/1")
    assert (row.campaign_id, row.person_id, row.influence) == (webinar.id, gus.id, 100.0)
