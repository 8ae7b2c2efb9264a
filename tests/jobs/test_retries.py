"""Automatic retries as the retry sweeper drives them, on a clock the test moves by hand.

What an admin reads on the errors page (status, attempts, next retry) must be what happens:
nothing is attempted before its backoff allows, however often cycles run; a record that goes
through by any path has its errors resolved; a reference its own mappings keep out is an
error that waits for a fix, naming the mapping and the rule, not a "transient" one forever.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from connectors.memory.store import MemoryStore
from core.models import Campaign, CampaignMember, SyncError
from jobs import triage
from jobs.failures import FIRST_BACKOFF, MAX_AUTO_ATTEMPTS, job_retry_at
from jobs.scheduler import sweep_retries, sync_job
from tests.clock import Clock, frozen_clock
from tests.jobs.harness import Harness, mapping
from tests.jobs.test_crm_realities import CAMPAIGN_MAPPING, CONTACT_MAPPING, MEMBER_MAPPING

PERSON = mapping(sync_rule="score >= 40")
CONTACT, CAMPAIGN = CONTACT_MAPPING, CAMPAIGN_MAPPING
MEMBER: dict[str, Any] = {
    **MEMBER_MAPPING, "direction": "to_remote", "create": {"remote": True, "hub": False},
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return frozen_clock(monkeypatch)


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path, PERSON, CONTACT, CAMPAIGN, MEMBER,
                   stores={"crm": MemoryStore()})


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def add_member(h: Harness, person: str, campaign: str, status: str = "Sent") -> str:
    return h.add(CampaignMember(person_id=person, campaign_id=campaign, status=status))


def touch_member(h: Harness, member_id: str, status: str) -> None:
    """An edit in the hub: the member comes up in the push backlog again."""
    with Session(h.engine) as session:
        member = session.get(CampaignMember, member_id)
        assert member is not None
        member.status = status
        session.add(member)
        session.commit()


def member_errors(h: Harness, member_id: str, *statuses: str) -> list[SyncError]:
    return [e for e in h.errors(*statuses) if e.hub_id == member_id]


def test_a_waiting_record_is_attempted_only_when_due_and_on_the_backoff_schedule(
    h: Harness, clock: Clock
) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", score=80)
    webinar = h.add(Campaign(name="Webinar"))
    member = add_member(h, ann, webinar)
    h.run("crm-person")
    # The campaign mapping never runs here: the member waits for its campaign every time.
    sync_job(h.ctx, "crm-member")
    [error] = member_errors(h, member)
    assert (error.code, error.field, error.status, error.attempts) == (
        "UNRESOLVED_REFERENCE", "CampaignId", "retrying", 1,
    )
    assert aware(error.next_retry_at) == clock.now + FIRST_BACKOFF
    assert "automatically" not in (error.hint or ""), "no promise the row cannot keep"

    for attempt in range(1, MAX_AUTO_ATTEMPTS):
        [error] = member_errors(h, member)
        due = aware(error.next_retry_at)
        assert due is not None
        # Cycles on the mapping's schedule, the sweeper, and an edit that puts the member in
        # the push backlog: none of them attempts it before it is due.
        clock.to(due - timedelta(seconds=1))
        touch_member(h, member, "Registered" if attempt % 2 else "Sent")
        sync_job(h.ctx, "crm-member")
        assert sweep_retries(h.ctx) == []
        [waiting] = member_errors(h, member)
        assert (waiting.attempts, aware(waiting.next_retry_at)) == (attempt, due)
        assert waiting.status == "retrying"

        clock.to(due)
        assert sweep_retries(h.ctx) == ["crm-member"]
        [retried] = member_errors(h, member)
        assert retried.attempts == attempt + 1
        if retried.attempts < MAX_AUTO_ATTEMPTS:
            assert retried.status == "retrying"
            assert aware(retried.next_retry_at) == clock.now + FIRST_BACKOFF * 2 ** attempt
        assert [entry["run_id"] for entry in retried.history][-1] == h.runs()[-1].id

    [given_up] = member_errors(h, member)
    assert (given_up.status, given_up.attempts, given_up.next_retry_at) == (
        "open", MAX_AUTO_ATTEMPTS, None,
    )
    assert (given_up.hint or "").startswith(
        f"Syncline stopped retrying this by itself after {MAX_AUTO_ATTEMPTS} attempts"
    )
    clock.advance(days=2)
    assert sweep_retries(h.ctx) == [], "an open error waits for a person"
    assert member_errors(h, member)[0].attempts == MAX_AUTO_ATTEMPTS
    assert h.crm.all("CampaignMember") == []

    # The campaign syncs at last; an admin retries the member, and the next sweep sends it.
    h.run("crm-campaign")
    assert triage.retry(h.engine, triage.ErrorFilter(ids=(given_up.id,)), "admin") == 1
    assert sweep_retries(h.ctx) == ["crm-member"]
    assert [e.status for e in member_errors(h, member)] == ["resolved"]
    [sent] = h.crm.all("CampaignMember")
    assert sent["Syncline_Id__c"] == member


def test_a_record_that_now_fails_for_another_cause_leaves_the_old_cause_resolved(
    h: Harness, clock: Clock
) -> None:
    """The demo's seven members: waiting for their list, then for a person who never comes."""
    ann = h.add_person(email="ann@acme.com", last_name="Lee", score=80)
    bo = h.add_person(email="bo@beta.io", last_name="Ng", score=10)  # the sync_rule says no
    webinar = h.add(Campaign(name="Webinar"))
    ann_member, bo_member = add_member(h, ann, webinar), add_member(h, bo, webinar)
    sync_job(h.ctx, "crm-person")
    sync_job(h.ctx, "crm-member")  # before its campaign synced
    assert {(e.hub_id, e.field, e.status) for e in h.errors()} == {
        (ann_member, "CampaignId", "retrying"),
        (bo_member, "CampaignId", "retrying"),
    }
    for _ in range(3):  # scheduled cycles before the retry is due leave both members alone
        clock.advance(seconds=9)
        sync_job(h.ctx, "crm-member")
    assert h.crm.all("CampaignMember") == []
    assert {e.attempts for e in h.errors()} == {1}

    sync_job(h.ctx, "crm-campaign")  # what they wait for: both are due now
    assert sweep_retries(h.ctx) == ["crm-member"]

    [sent] = h.crm.all("CampaignMember")
    assert sent["Syncline_Id__c"] == ann_member
    assert [e.status for e in member_errors(h, ann_member)] == ["resolved"]
    by_field = {e.field: e for e in member_errors(h, bo_member)}
    assert by_field["CampaignId"].status == "resolved", "its campaign is there now"
    excluded = by_field["LeadId"]
    assert (excluded.kind, excluded.code, excluded.status, excluded.next_retry_at) == (
        "validation", "REFERENCE_EXCLUDED", "open", None,
    )
    assert excluded.message == (
        f"LeadId: person {bo} is kept out of crm-person by its sync_rule `score >= 40` and out "
        "of crm-contact, which never creates a Contact in crm (create.remote: false), so it is "
        "never synced there and this record cannot refer to it"
    )
    assert excluded.hint == (
        "change crm-person's sync_rule, or the person, so that the rule lets it out; or create "
        "the Contact in crm, or set create.remote in crm-contact; this record follows as soon "
        "as it syncs there"
    )

    for _ in range(5):  # nothing is due any more: nothing runs, nothing changes
        clock.advance(minutes=10)
        assert sweep_retries(h.ctx) == []
        touch_member(h, bo_member, "Registered")
        sync_job(h.ctx, "crm-member")
    assert {(e.field, e.status) for e in member_errors(h, bo_member, "open", "retrying")} == {
        ("LeadId", "open"),
    }

    # The person changes so the rule lets them out: once they sync, the member follows on
    # the next sweep, with nobody pressing Retry.
    h.edit_person(bo, score=60)
    sync_job(h.ctx, "crm-person")
    [due] = member_errors(h, bo_member, "open", "retrying")
    assert (due.code, due.status, aware(due.next_retry_at)) == (
        "REFERENCE_EXCLUDED", "retrying", clock.now,
    )
    clock.advance(seconds=1)
    assert sweep_retries(h.ctx) == ["crm-member"]
    assert member_errors(h, bo_member, "open", "retrying") == []
    assert len(h.crm.all("CampaignMember")) == 2


def test_retry_after_from_the_remote_is_honoured(h: Harness, clock: Clock) -> None:
    h.connector_config["crm"] = {"retry": {"max_tries": 1}}
    h.add_person(email="ann@acme.com", last_name="Lee", score=80)
    h.crm.inject("rate_limited", retry_after=900)

    report = h.run("crm-person")

    assert report.status == "failed"
    [error] = h.errors()
    assert (error.level, error.kind, error.status) == ("job", "rate_limited", "retrying")
    assert aware(error.next_retry_at) == clock.now + timedelta(seconds=900), "not 30 s"
    with Session(h.engine) as session:  # what the mapping's scheduled cycles wait for
        assert job_retry_at(session, "crm-person", clock.now) == aware(error.next_retry_at)
    clock.advance(seconds=899)
    assert sweep_retries(h.ctx) == []
    clock.advance(seconds=1)
    with Session(h.engine) as session:
        assert job_retry_at(session, "crm-person", clock.now) is None
    assert sweep_retries(h.ctx) == ["crm-person"]
    assert [e.status for e in h.errors()] == ["resolved"]
    assert len(h.leads()) == 1


def test_a_due_retry_whose_record_went_out_of_scope_is_resolved_not_left_due(
    h: Harness, clock: Clock
) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", score=80)
    h.crm.lock_row("Lead", "Email", "ann@acme.com", times=1)
    sync_job(h.ctx, "crm-person")
    [error] = h.errors("retrying")
    h.edit_person(ann, score=5)  # the sync_rule no longer lets ann out

    clock.advance(seconds=30)
    assert sweep_retries(h.ctx) == ["crm-person"]

    assert [e.status for e in h.errors()] == ["resolved"], "nothing is left to retry"
    clock.advance(minutes=5)
    assert sweep_retries(h.ctx) == [], "no cycle every minute for a row that stays due"
    assert error.id is not None


def test_a_pulled_member_waits_for_its_lead_then_goes_in_on_the_sweep_after_it_syncs(
    h: Harness, clock: Clock
) -> None:
    """The member's page is behind the cursor by then: its retry re-reads it by id."""
    h.set_mappings(PERSON, CONTACT, CAMPAIGN, {**MEMBER, "direction": "to_hub",
                                               "create": {"remote": False, "hub": True}})
    campaign = h.crm.create("Campaign", {"Name": "Webinar"})
    lead = h.crm.create("Lead", {"Email": "ann@acme.com", "LastName": "Lee", "Company": "A"})
    h.crm.create("CampaignMember", {"CampaignId": campaign, "LeadId": lead, "Status": "Sent"})
    sync_job(h.ctx, "crm-campaign")
    sync_job(h.ctx, "crm-member")  # before the lead synced
    [error] = h.errors()
    assert (error.code, error.field, error.status) == ("UNRESOLVED_REFERENCE", "LeadId",
                                                       "retrying")
    sync_job(h.ctx, "crm-person")
    clock.advance(seconds=10)
    sync_job(h.ctx, "crm-member")  # reads nothing new, and the retry is not due yet
    assert h.members() == [] and h.errors()[0].attempts == 1

    clock.advance(seconds=20)
    assert sweep_retries(h.ctx) == ["crm-member"]

    [member] = h.members()
    assert member.person_id == h.person_by_email("ann@acme.com").id
    assert [e.status for e in h.errors()] == ["resolved"]


def test_a_pulled_member_whose_lead_the_pull_rule_keeps_out_is_not_transient(
    h: Harness, clock: Clock
) -> None:
    h.set_mappings(
        mapping(sync_rule="score >= 40", pull_rule="LeadSource != 'Partner Referral'"),
        CONTACT, CAMPAIGN,
        {**MEMBER, "direction": "to_hub", "create": {"remote": False, "hub": True}},
    )
    campaign = h.crm.create("Campaign", {"Name": "Webinar"})
    lead = h.crm.create("Lead", {"Email": "pat@partner.example", "LastName": "Poe",
                                 "Company": "P", "LeadSource": "Partner Referral"})
    h.crm.create("CampaignMember", {"CampaignId": campaign, "LeadId": lead, "Status": "Sent"})
    for name in ("crm-campaign", "crm-person", "crm-member"):
        sync_job(h.ctx, name)

    [error] = h.errors()
    assert (error.kind, error.code, error.status, error.field) == (
        "validation", "REFERENCE_EXCLUDED", "open", "LeadId",
    )
    assert error.message == (
        f"LeadId: Lead {lead} is kept out of crm-person by its pull_rule "
        "`LeadSource != 'Partner Referral'`, so it is never synced there and this record "
        "cannot refer to it"
    )
    assert error.hint == (
        "change crm-person's pull_rule, or the Lead in crm, so that the rule lets it in; "
        "then retry this error"
    )
    clock.advance(hours=1)
    assert sweep_retries(h.ctx) == []
    assert h.members() == []


def test_a_waiting_member_goes_out_on_the_first_sweep_after_its_campaign_syncs(
    h: Harness, clock: Clock
) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", score=80)
    webinar = h.add(Campaign(name="Webinar"))
    member = add_member(h, ann, webinar)
    sync_job(h.ctx, "crm-person")
    sync_job(h.ctx, "crm-member")
    for _ in range(3):  # late in its backoff: the next retry is minutes away
        clock.to(aware(member_errors(h, member)[0].next_retry_at))  # type: ignore[arg-type]
        assert sweep_retries(h.ctx) == ["crm-member"]
    [waiting] = member_errors(h, member)
    assert waiting.attempts == 4
    assert aware(waiting.next_retry_at) == clock.now + timedelta(minutes=4)

    clock.advance(seconds=5)
    sync_job(h.ctx, "crm-campaign")  # the campaign it waits for syncs
    [woken] = member_errors(h, member)
    assert (woken.attempts, aware(woken.next_retry_at)) == (4, clock.now), "due now, not later"
    clock.advance(seconds=1)
    assert sweep_retries(h.ctx) == ["crm-member"]

    assert [e.status for e in member_errors(h, member)] == ["resolved"]
    [sent] = h.crm.all("CampaignMember")
    assert sent["Syncline_Id__c"] == member


ACCOUNT: dict[str, Any] = {
    "name": "crm-account", "connection": "crm", "hub_object": "account", "remote_object": "Account",
    "direction": "to_hub", "identity": {"match": []}, "create": {"remote": False, "hub": True},
    "pull_rule": "Industry != 'Other'", "fields": [{"hub": "name", "remote": "Name"}],
}
CONTACT_WITH_ACCOUNT: dict[str, Any] = {
    **CONTACT, "direction": "to_hub",
    "fields": [*CONTACT["fields"], {"hub": "account_id", "remote": "AccountId",
                                    "ref": "crm-account"}],
}


def test_an_optional_reference_not_synced_yet_fills_in_on_the_retry(
    h: Harness, clock: Clock
) -> None:
    """The contact goes in at once; its account, synced later, reaches it on the retry."""
    h.set_mappings(PERSON, ACCOUNT, CONTACT_WITH_ACCOUNT)
    account = h.crm.create("Account", {"Name": "Acme"})
    h.crm.create("Contact", {"Email": "ann@acme.com", "LastName": "Lee", "AccountId": account})
    sync_job(h.ctx, "crm-contact")  # before the account synced

    ann = h.person_by_email("ann@acme.com")
    assert ann.account_id is None
    [error] = h.errors()
    assert (error.code, error.field, error.status) == ("REFERENCE_PENDING", "AccountId",
                                                       "retrying")
    assert error.message == (f"AccountId: {account} is not synced to the hub yet; the rest of "
                             "the record synced without it")
    sync_job(h.ctx, "crm-account")
    clock.advance(seconds=30)
    assert sweep_retries(h.ctx) == ["crm-contact"]

    assert h.person_by_email("ann@acme.com").account_id is not None
    assert [e.status for e in h.errors()] == ["resolved"]


def test_an_optional_reference_the_rules_keep_out_stays_blank_without_an_error(
    h: Harness, clock: Clock
) -> None:
    h.set_mappings(PERSON, ACCOUNT, CONTACT_WITH_ACCOUNT)
    rival = h.crm.create("Account", {"Name": "Rival", "Industry": "Other"})
    h.crm.create("Contact", {"Email": "cy@rival.com", "LastName": "Cy", "AccountId": rival})
    sync_job(h.ctx, "crm-account")
    sync_job(h.ctx, "crm-contact")

    assert h.person_by_email("cy@rival.com").account_id is None
    assert h.errors() == []
    clock.advance(hours=1)
    assert sweep_retries(h.ctx) == []
