"""Table-driven engine tests: two-way sync between the hub and an in-memory CRM, both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from jobs import lease, triage
from tests.clock import Clock
from tests.jobs.harness import Harness, mapping


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path)


def test_create_both_ways_then_a_second_cycle_writes_nothing(h: Harness) -> None:
    ann = h.add_person(
        email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme", score=70
    )
    rep_key = h.crm.create(
        "Lead", {"Email": "Bo@Beta.io", "FirstName": "Bo", "LastName": "Ng", "Company": "Beta"}
    )

    first = h.run()

    assert (first.status, first.created_remote, first.created_hub) == ("success", 1, 1)
    lead = h.lead_by_email("ann@acme.com")
    assert (lead["FirstName"], lead["LastName"], lead["Company"], lead["Score__c"]) == (
        "Ann",
        "Lee",
        "Acme",
        70,
    )
    assert lead["Syncline_Id__c"] == ann, "creates carry the hub id for idempotent upserts"
    bo = h.person_by_email("bo@beta.io")  # normalised on the way in
    assert (bo.first_name, bo.last_name, bo.company) == ("Bo", "Ng", "Beta")
    assert h.link_of(bo.id).remote_id == rep_key

    second = h.run()
    assert second.writes == 0 and second.failed == 0
    assert len(h.leads()) == 2 and len(h.people()) == 2


def test_update_one_way_sends_only_the_changed_field(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme")
    h.run()
    key = h.link_of(ann).remote_id

    h.edit_person(ann, title="VP Marketing")
    report = h.run()
    assert (report.updated_remote, report.updated_hub) == (1, 0)
    assert h.lead(key)["Title"] == "VP Marketing"
    assert h.link_of(ann).snapshot["Title"] == "VP Marketing"

    h.crm.update("Lead", key, {"Company": "Acme Corp"})
    report = h.run()
    assert (report.updated_hub, report.updated_remote) == (1, 0)
    assert h.person(ann).company == "Acme Corp"


def test_unlinked_records_are_matched_by_email_not_duplicated(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee")
    key = h.crm.create("Lead", {"Email": " ANN@Acme.com", "LastName": "Lee", "Company": "Acme"})

    report = h.run()

    assert report.created_hub == 0 and report.created_remote == 0
    assert h.link_of(ann).remote_id == key
    assert len(h.people()) == 1 and len(h.leads()) == 1
    # First link: blanks never erase values, so each side fills the other's gaps.
    assert h.person(ann).company == "Acme"
    assert h.lead(key)["FirstName"] == "Ann"
    assert h.run().writes == 0


def test_match_before_create_on_push(h: Harness) -> None:
    """A hub person whose Lead exists (but was never read, e.g. pull disabled) is linked."""
    h.set_mappings(mapping(direction="to_remote"))
    key = h.crm.create("Lead", {"Email": "ann@acme.com", "LastName": "Lee", "Company": "Acme"})
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee")

    report = h.run()

    assert report.created_remote == 0 and h.link_of(ann).remote_id == key
    assert h.lead(key)["FirstName"] == "Ann"
    assert len(h.leads()) == 1


def test_echo_of_our_own_write_is_not_pulled_back(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.run()
    h.edit_person(ann, company="Acme Corp")
    assert h.run().updated_remote == 1
    seq_before = h.person(ann).change_seq

    report = h.run()  # the feed now returns our own write

    assert report.writes == 0
    assert h.person(ann).change_seq == seq_before, "an echo must not touch the hub record"
    assert report.api_calls == 1, "an idle cycle costs one read call"


# rule / conflicts policy, hub edit, remote edit (made later), expected hub, expected remote
BOTH_CHANGED = [
    ("two_way", "newest_wins", "Hub", "Remote", "Remote", "Remote"),
    ("two_way", "hub_wins", "Hub", "Remote", "Hub", "Hub"),
    ("two_way", "remote_wins", "Hub", "Remote", "Remote", "Remote"),
    ("two_way", "manual", "Hub", "Remote", "Hub", "Remote"),
    ("hub_wins", "newest_wins", "Hub", "Remote", "Hub", "Hub"),
    ("remote_wins", "newest_wins", "Hub", "Remote", "Remote", "Remote"),
    ("prefer_remote_unless_blank", "newest_wins", "Hub", "Remote", "Remote", "Remote"),
    ("prefer_remote_unless_blank", "newest_wins", "Hub", None, "Hub", "Hub"),
    ("prefer_hub_unless_blank", "newest_wins", "Hub", "Remote", "Hub", "Hub"),
    ("prefer_hub_unless_blank", "newest_wins", None, "Remote", "Remote", "Remote"),
    ("to_remote", "newest_wins", "Hub", "Remote", "Hub", "Hub"),
    ("to_hub", "newest_wins", "Hub", "Remote", "Remote", "Remote"),
    ("fill_blank", "newest_wins", "Hub", "Remote", "Hub", "Remote"),
    ("none", "newest_wins", "Hub", "Remote", "Hub", "Remote"),
]


@pytest.mark.parametrize(
    ("rule", "policy", "hub_edit", "remote_edit", "hub_after", "remote_after"), BOTH_CHANGED
)
def test_both_sides_changed(
    h: Harness,
    rule: str,
    policy: str,
    hub_edit: str | None,
    remote_edit: str | None,
    hub_after: str,
    remote_after: str,
) -> None:
    h.set_mappings(mapping(conflicts=policy, rules={"title": rule}))
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme", title="Base")
    h.run()
    key = h.link_of(ann).remote_id
    if rule in ("to_hub", "none"):  # these never push: put the base on the remote by hand
        h.crm.update("Lead", key, {"Title": "Base"})
        h.run()
    assert h.lead(key).get("Title") == "Base"

    h.edit_person(ann, title=hub_edit)
    h.crm.update("Lead", key, {"Title": remote_edit})
    report = h.run()

    assert h.person(ann).title == hub_after
    assert h.lead(key).get("Title") == remote_after
    if policy == "manual":
        [error] = h.errors("open")
        assert (error.kind, error.code, error.field) == ("conflict", "FIELD_CONFLICT", "Title")
        assert "'Hub'" in error.message and "'Remote'" in error.message
        assert report.failed == 1
    else:
        assert h.errors() == []
        assert h.run().writes == 0, "a resolved conflict must not ping-pong"


def test_newest_wins_takes_the_hub_when_the_hub_changed_last(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", title="Base")
    h.run()
    key = h.link_of(ann).remote_id
    h.crm.update("Lead", key, {"Title": "Remote"})
    h.edit_person(ann, title="Hub")  # later than the remote edit

    h.run()

    assert h.person(ann).title == "Hub" and h.lead(key)["Title"] == "Hub"


@pytest.mark.parametrize(
    ("policy", "people_after", "linked"),
    [
        ("ignore", 1, True),
        ("unlink", 1, False),
        ("delete_hub", 0, False),
    ],
)
def test_delete_in_the_crm(h: Harness, policy: str, people_after: int, linked: bool) -> None:
    h.set_mappings(mapping(deletes={"from_remote": policy, "brake_floor": 10}))
    ann = h.add_person(email="ann@acme.com", last_name="Lee")
    h.run()
    h.crm.delete("Lead", h.link_of(ann).remote_id)

    report = h.run()

    assert len(h.people()) == people_after
    assert (h.link_of(ann) is not None) is linked
    assert report.deleted == (1 if policy == "delete_hub" else 0)
    assert h.run().writes == 0


@pytest.mark.parametrize(
    ("policy", "leads_after", "linked"),
    [
        ("ignore", 1, True),
        ("unlink", 1, False),
        ("delete_remote", 0, False),
    ],
)
def test_delete_in_the_hub(h: Harness, policy: str, leads_after: int, linked: bool) -> None:
    h.set_mappings(mapping(deletes={"from_hub": policy, "brake_floor": 10}))
    ann = h.add_person(email="ann@acme.com", last_name="Lee")
    h.run()
    from core.clock import utcnow

    h.edit_person(ann, deleted_at=utcnow())
    report = h.run()

    assert len(h.leads()) == leads_after
    assert (h.link_of(ann) is not None) is linked
    assert report.deleted == (1 if policy == "delete_remote" else 0)


def test_mass_delete_trips_the_brake_and_applies_nothing(h: Harness) -> None:
    h.set_mappings(
        mapping(deletes={"from_remote": "delete_hub", "max_fraction": 0.1, "brake_floor": 0})
    )
    for i in range(20):
        h.add_person(email=f"p{i}@acme.com", last_name=f"P{i}")
    h.run()
    for link in h.links()[:10]:
        h.crm.delete("Lead", link.remote_id)

    report = h.run()

    assert report.status == "braked"
    assert "10 of 20" in (report.message or "")
    assert len(h.people()) == 20, "nothing past the brake is applied"
    [error] = h.errors("open")
    assert (error.level, error.code) == ("job", "MASS_CHANGE_BRAKE")
    assert "--allow-mass-change" in (error.hint or "")
    assert h.run().status == "braked", "it stays stopped until someone decides"

    released = h.run(allow_mass_change=True)
    assert (released.status, released.deleted) == ("success", 10)
    assert len(h.people()) == 10
    assert h.errors("open") == [], "a completed cycle resolves the job-level error"


def test_blanking_many_fields_also_trips_the_brake(h: Harness) -> None:
    h.set_mappings(mapping(deletes={"max_fraction": 0.1, "brake_floor": 0}))
    ids = [h.add_person(email=f"p{i}@acme.com", last_name="P", title="CMO") for i in range(10)]
    h.run()
    for person_id in ids[:5]:
        h.crm.update("Lead", h.link_of(person_id).remote_id, {"Title": None})

    assert h.run().status == "braked"
    assert all(h.person(i).title == "CMO" for i in ids)


def test_a_failing_transform_leaves_out_only_its_field(h: Harness) -> None:
    data = mapping()
    data["fields"].append({"hub": "phone", "remote": "Phone", "transform": ["phone_e164"]})
    h.set_mappings(data)
    good = [
        h.add_person(email=f"p{i}@acme.com", last_name="P", phone="+1 415 555 0100")
        for i in range(2)
    ]
    bad = h.add_person(email="bad@acme.com", last_name="Bad", phone="call me maybe")

    report = h.run()

    assert (report.status, report.created_remote, report.failed) == ("partial", 3, 1)
    assert all(h.lead(h.link_of(i).remote_id)["Phone"] == "+14155550100" for i in good)
    lead = h.lead(h.link_of(bad).remote_id)
    assert lead["LastName"] == "Bad" and "Phone" not in lead
    [error] = h.errors()
    assert (error.hub_id, error.kind, error.code, error.field) == (
        bad,
        "validation",
        "FIELD_REFUSED",
        "Phone",
    )
    assert "call me maybe" in error.message and error.email == "bad@acme.com"

    h.edit_person(bad, phone="+1 415 555 0199")
    h.run()
    assert lead["Id"] == h.link_of(bad).remote_id
    assert h.lead(lead["Id"])["Phone"] == "+14155550199"
    assert h.errors("open", "retrying") == []


def test_a_failing_transform_fails_only_its_record_under_fail_record(h: Harness) -> None:
    data = mapping(on_field_error="fail_record")
    data["fields"].append({"hub": "phone", "remote": "Phone", "transform": ["phone_e164"]})
    h.set_mappings(data)
    good = [
        h.add_person(email=f"p{i}@acme.com", last_name="P", phone="+1 415 555 0100")
        for i in range(2)
    ]
    bad = h.add_person(email="bad@acme.com", last_name="Bad", phone="call me maybe")

    report = h.run()

    assert (report.status, report.created_remote, report.failed) == ("partial", 2, 1)
    assert all(h.lead(h.link_of(i).remote_id)["Phone"] == "+14155550100" for i in good)
    assert h.link_of(bad) is None
    [error] = h.errors()
    assert (error.hub_id, error.kind, error.code, error.field) == (
        bad,
        "validation",
        "TRANSFORM_FAILED",
        "Phone",
    )
    assert "call me maybe" in error.message and error.email == "bad@acme.com"


def test_a_refused_field_recurs_on_one_row_and_resolves_when_fixed(h: Harness) -> None:
    data = mapping()
    data["fields"].append({"hub": "lead_source", "remote": "LeadSource"})
    h.set_mappings(data)
    ann = h.add_person(email="ann@acme.com", last_name="Lee", lead_source="UK Roadshow")
    report = h.run()
    # The picklist refuses one field: the lead is created without it, in the same run.
    assert report.created_remote == 1
    lead = h.lead(h.link_of(ann).remote_id)
    assert lead["LastName"] == "Lee" and lead.get("LeadSource") in (None, "")
    h.edit_person(ann, title="CMO")
    h.run()
    assert h.lead(h.link_of(ann).remote_id)["Title"] == "CMO"

    [error] = h.errors()
    # Not sent again with the title: the CRM would only refuse the same value once more.
    assert (error.code, error.field, error.attempts, error.status) == (
        "FIELD_REFUSED",
        "LeadSource",
        1,
        "open",
    )
    assert "UK Roadshow" in error.message and "picklist" in error.message.lower()
    assert "value_map" in (error.hint or "") and "Trade Show" in (error.hint or "")

    h.edit_person(ann, lead_source="UK Roadshow 2027")  # another value: tried, refused
    h.run()
    [error] = h.errors()
    assert (error.attempts, error.status, len(error.history)) == (2, "open", 2)
    assert "UK Roadshow 2027" in error.message

    h.edit_person(ann, lead_source="Trade Show")
    report = h.run()
    assert report.updated_remote == 1
    assert h.lead(h.link_of(ann).remote_id)["LeadSource"] == "Trade Show"
    assert h.errors()[0].status == "resolved"


def test_a_refused_value_is_not_resent_each_time_its_record_is_read_again(h: Harness) -> None:
    """Salesforce stamps whole seconds: an idle org re-reads the last second every cycle."""
    data = mapping()
    data["fields"].append({"hub": "lead_source", "remote": "LeadSource"})
    h.set_mappings(data)
    h.connector_config["crm"] = {"versions": "seconds"}
    h.crm.clock = Clock()  # stopped: every later read ties with the Lead's stamp
    ann = h.add_person(email="ann@acme.com", last_name="Lee", lead_source="UK Roadshow")
    h.run()

    for _ in range(3):
        report = h.run()
        assert (report.read, report.writes, report.failed, report.api_calls) == (1, 0, 0, 1)
    [error] = h.errors()
    assert (error.code, error.attempts, error.status) == ("FIELD_REFUSED", 1, "open")

    # The admin presses retry (say the picklist gained the value): it goes out once more.
    assert triage.retry(h.engine, triage.ErrorFilter(mapping="crm-person"), "admin") == 1
    report = h.run()
    assert report.failed == 1 and h.errors()[0].attempts == 2
    assert h.lead(h.link_of(ann).remote_id).get("LeadSource") is None


def test_a_deleted_persons_refused_field_error_ends_with_her(h: Harness) -> None:
    data = mapping(deletes={"from_remote": "delete_hub", "brake_floor": 100})
    data["fields"].append({"hub": "lead_source", "remote": "LeadSource"})
    h.set_mappings(data)
    ann = h.add_person(email="ann@acme.com", last_name="Lee", lead_source="UK Roadshow")
    h.run()
    assert [(e.code, e.status) for e in h.errors()] == [("FIELD_REFUSED", "open")]

    h.crm.delete("Lead", h.link_of(ann).remote_id)  # a rep deletes the Lead
    report = h.run()

    assert report.deleted == 1 and h.people() == []
    assert [(e.code, e.status) for e in h.errors()] == [("FIELD_REFUSED", "resolved")]


def test_an_unreachable_crm_fails_the_run_and_loses_nothing(h: Harness) -> None:
    h.connector_config["crm"] = {"retry": {"max_tries": 1}}
    ann = h.add_person(email="ann@acme.com", last_name="Lee")
    h.crm.inject("transient", times=5)

    report = h.run()

    assert report.status == "failed"
    [error] = h.errors()
    assert (error.level, error.kind) == ("job", "transient")
    h.crm.inject("transient", times=0)
    while h.crm.next_fault():  # the outage ends
        pass
    report = h.run()
    assert report.status == "success" and report.created_remote == 1
    assert h.link_of(ann) is not None
    assert h.errors()[0].status == "resolved"


def test_a_crash_after_the_crm_accepted_a_create_leaves_no_duplicate(h: Harness) -> None:
    from connectors.memory.store import SimulatedCrash

    ann = h.add_person(email="ann@acme.com", last_name="Lee")
    h.crm.crash_after_write = 1
    with pytest.raises(SimulatedCrash):
        h.run()
    assert len(h.leads()) == 1 and h.link_of(ann) is None  # written there, not recorded here

    h.crm.crash_after_write = None
    report = h.run()

    assert report.created_remote == 0
    assert len(h.leads()) == 1, "the retried create upserted on the external id"
    assert h.link_of(ann).remote_id == h.leads()[0]["Id"]


def test_a_held_lease_skips_the_cycle(h: Harness, engine: Engine) -> None:
    h.add_person(email="ann@acme.com", last_name="Lee")
    assert lease.acquire(engine, "crm-person", "another-process")

    report = h.run()

    assert report.status == "locked" and h.leads() == [] and h.runs() == []
    lease.release(engine, "crm-person", "another-process")
    assert h.run().created_remote == 1


def test_dry_run_plans_and_writes_nothing(h: Harness) -> None:
    h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.crm.create("Lead", {"Email": "bo@beta.io", "LastName": "Ng", "Company": "Beta"})

    report = h.run(dry_run=True)

    assert (report.created_hub, report.created_remote, report.planned_write_calls) == (1, 1, 1)
    actions = {(p.direction, p.action, p.email) for p in report.planned}
    assert ("to_hub", "create", "bo@beta.io") in actions
    assert ("to_remote", "create", "ann@acme.com") in actions
    assert len(h.people()) == 1 and len(h.leads()) == 1
    assert h.links() == [] and h.runs() == [] and h.errors() == []
    real = h.run()
    assert (real.created_hub, real.created_remote) == (1, 1)


def test_sync_rule_and_pull_rule_filter_records(h: Harness) -> None:
    h.set_mappings(mapping(sync_rule="score >= 50", pull_rule="Company != 'Competitor'"))
    hot = h.add_person(email="hot@acme.com", last_name="Hot", score=80)
    cold = h.add_person(email="cold@acme.com", last_name="Cold", score=10)
    h.crm.create("Lead", {"Email": "spy@rival.com", "LastName": "Spy", "Company": "Competitor"})

    report = h.run()

    assert h.link_of(hot) is not None and h.link_of(cold) is None
    assert [p.email for p in h.people()] == ["cold@acme.com", "hot@acme.com"]
    assert report.skipped == 2
    h.edit_person(cold, score=60)  # now eligible
    assert h.run().created_remote == 1


def test_run_rows_record_counts_and_cost(h: Harness) -> None:
    for i in range(3):
        h.add_person(email=f"p{i}@acme.com", last_name="P")
    report = h.run()

    [run] = h.runs()
    assert (run.status, run.created_remote, run.api_calls) == ("success", 3, report.api_calls)
    assert run.finished_at is not None and run.duration_ms is not None
    assert report.api_calls == 3  # read, match lookup, one batched write


def test_writes_are_batched(h: Harness) -> None:
    h.connector_config["crm"] = {"max_batch_size": 50}
    for i in range(120):
        h.add_person(email=f"p{i}@acme.com", last_name="P")

    report = h.run()

    assert report.created_remote == 120
    # 1 read + lookups (200 per call) + ceil(120/50) writes, per 500-record push page.
    assert report.api_calls == 1 + 1 + 3


@pytest.mark.parametrize(
    ("side", "value", "hub_after", "remote_after"),
    [
        ("hub", "Decided", "Decided", "Decided"),
        ("remote", "Decided", "Decided", "Decided"),
        ("hub", "Remote", "Remote", "Remote"),
    ],
)
def test_a_held_conflict_is_settled_by_the_next_edit(
    h: Harness, side: str, value: str, hub_after: str, remote_after: str
) -> None:
    h.set_mappings(mapping(conflicts="manual"))
    ann = h.add_person(email="ann@acme.com", last_name="Lee", title="Base")
    h.run()
    key = h.link_of(ann).remote_id
    h.edit_person(ann, title="Hub")
    h.crm.update("Lead", key, {"Title": "Remote"})
    h.run()
    h.edit_person(ann, company="Acme")  # unrelated edits leave the held conflict alone
    h.run()
    assert (h.person(ann).title, h.lead(key)["Title"]) == ("Hub", "Remote")
    assert h.errors()[0].status == "open"

    if side == "hub":
        h.edit_person(ann, title=value)
    else:
        h.crm.update("Lead", key, {"Title": value})
    h.run()

    assert (h.person(ann).title, h.lead(key)["Title"]) == (hub_after, remote_after)
    assert h.errors()[0].status == "resolved"
    assert h.run().writes == 0


def test_a_crash_after_an_update_does_not_pull_our_own_write_back(h: Harness) -> None:
    """Found by the state machine: a write that landed just before a crash is not news."""
    from connectors.memory.store import SimulatedCrash

    ann = h.add_person(email="ann@acme.com", last_name="Lee", title="Base")
    h.run()
    key = h.link_of(ann).remote_id
    h.edit_person(ann, title="Pushed")
    h.crm.crash_after_write = 1
    with pytest.raises(SimulatedCrash):
        h.run()
    h.crm.crash_after_write = None
    assert h.lead(key)["Title"] == "Pushed"  # it landed; our snapshot still says "Base"
    # Meanwhile the hub goes back to the old value (another CRM, through the hub): the base
    # must now be what we wrote, or the stale echo would look like an edit in this CRM.
    h.edit_person(ann, title="Base")

    h.run()

    assert (h.person(ann).title, h.lead(key)["Title"]) == ("Base", "Base")
    link = h.link_of(ann)
    assert link.pending is None  # the write's outcome is known: no intent is left in flight
    assert not any(key.startswith("$") for key in link.snapshot)  # remote values only


def test_a_record_we_created_before_a_crash_is_adopted_not_merged_as_news(h: Harness) -> None:
    """Its values are our own earlier write: a blank set in the hub since must go out."""
    from connectors.memory.store import SimulatedCrash

    ann = h.add_person(email="ann@acme.com", last_name="Lee", title="CMO")
    h.crm.crash_after_write = 1
    with pytest.raises(SimulatedCrash):
        h.run()
    h.crm.crash_after_write = None
    h.edit_person(ann, title=None)

    h.run()

    [lead] = h.leads()
    assert h.person(ann).title is None and lead.get("Title") is None
    assert h.link_of(ann).remote_id == lead["Id"]


def test_a_duplicate_in_the_crm_is_reported_never_created_twice(h: Harness) -> None:
    first = h.crm.create("Lead", {"Email": "dana@northwind.example", "LastName": "W",
                                  "Company": "Northwind"})
    h.run()
    second = h.crm.create("Lead", {"Email": "DANA@northwind.example", "LastName": "W",
                                   "Company": "Northwind"}, validate=False)

    for _ in range(2):  # also when the duplicate is read again at the cursor boundary
        report = h.run()
        assert report.created_hub == 0

    [dana] = h.people()
    assert h.link_of(dana.id).remote_id == first
    [error] = h.errors("open")
    assert (error.kind, error.code, error.remote_id) == ("duplicate", "DUPLICATE_REMOTE_RECORD",
                                                          second)
    assert first in error.message and "merge" in (error.hint or "")


def test_a_locked_row_is_retried_automatically_with_backoff(h: Harness, engine: Engine) -> None:
    from datetime import timedelta

    from sqlmodel import Session

    from core.clock import utcnow
    from core.models import SyncError

    ann = h.add_person(email="ann@acme.com", last_name="Lee")
    bo = h.add_person(email="bo@beta.io", last_name="Ng")
    h.crm.lock_row("Lead", "Email", "ann@acme.com", times=1)

    report = h.run()

    assert (report.status, report.created_remote, report.failed) == ("partial", 1, 1)
    assert h.link_of(bo) is not None and h.link_of(ann) is None
    [error] = h.errors()
    assert (error.kind, error.code, error.status) == ("transient", "UNABLE_TO_LOCK_ROW", "retrying")
    assert error.next_retry_at is not None and error.next_retry_at > utcnow()

    assert h.run().created_remote == 0, "not due yet: the backoff is respected"

    with Session(engine) as session:  # time passes
        row = session.get(SyncError, error.id)
        row.next_retry_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    retried = h.run()

    assert retried.created_remote == 1 and h.link_of(ann) is not None
    assert h.errors()[0].status == "resolved"
    assert len(h.leads()) == 2


def test_a_rule_that_cannot_be_evaluated_fails_only_its_record(h: Harness) -> None:
    h.set_mappings(mapping(sync_rule="(title - 1 < 100) if title else true"))
    h.add_person(email="ann@acme.com", last_name="Lee", title="CMO")  # 'CMO' - 1 fails
    bo = h.add_person(email="bo@beta.io", last_name="Ng")

    report = h.run()

    assert (report.created_remote, report.failed) == (1, 1)
    assert h.link_of(bo) is not None
    [error] = h.errors()
    assert error.code == "RULE_FAILED" and "title - 1" in error.message


ACCOUNT_MAPPING = {
    "name": "crm-account", "connection": "crm", "hub_object": "account",
    "remote_object": "Account",
    "identity": {"external_id": "Syncline_Id__c", "match": ["name"]},
    "fields": [{"hub": "name", "remote": "Name"}, {"hub": "country", "remote": "Country"}],
}
CONTACT_MAPPING = {
    "name": "crm-contact", "connection": "crm", "hub_object": "person",
    "remote_object": "Contact",
    "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
    "fields": [
        {"hub": "email", "remote": "Email"},
        {"hub": "last_name", "remote": "LastName", "default": "[unknown]"},
        {"hub": "account_id", "remote": "AccountId", "ref": "crm-account"},
    ],
}


def test_ref_fields_translate_ids_through_the_other_mappings_links(h: Harness) -> None:
    from sqlmodel import Session

    from core.models import Account

    h.set_mappings(CONTACT_MAPPING, ACCOUNT_MAPPING)
    with Session(h.engine, expire_on_commit=False) as session:
        acme = Account(name="Acme")
        session.add(acme)
        session.commit()
    ann = h.add_person(email="ann@acme.com", last_name="Lee", account_id=acme.id)
    beta_key = h.crm.create("Account", {"Name": "Beta"})
    bo_key = h.crm.create("Contact", {"Email": "bo@beta.io", "LastName": "Ng",
                                      "AccountId": beta_key})

    reports = h.run_all()  # accounts first: the contact mapping refers to them

    assert [r.mapping for r in reports] == ["crm-account", "crm-contact"]
    acme_key = h.link_of(acme.id).remote_id
    ann_contact = h.crm.get("Contact", h.link_of(ann).remote_id)
    assert ann_contact["AccountId"] == acme_key
    bo = h.person_by_email("bo@beta.io")
    beta = next(link for link in h.links() if link.remote_id == beta_key)
    assert bo.account_id == beta.hub_id and h.link_of(bo.id).remote_id == bo_key

    h.edit_person(ann, account_id=beta.hub_id)  # moves company in the hub
    h.run_all()
    assert h.crm.get("Contact", h.link_of(ann).remote_id)["AccountId"] == beta_key
    assert sum(r.writes for r in h.run_all()) == 0


def test_a_computed_field_is_pushed_and_never_pulled_back(h: Harness) -> None:
    data = mapping()
    data["fields"] = [r for r in data["fields"] if r.get("hub") != "title"]
    data["fields"].append({"remote": "Title", "expr": "(company or 'n/a') ~ ' / ' ~ last_name",
                           "rule": "to_remote"})
    h.set_mappings(data)
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.run()
    key = h.link_of(ann).remote_id
    assert h.lead(key)["Title"] == "Acme / Lee"

    h.edit_person(ann, company="Acme Corp")
    assert h.run().updated_remote == 1
    assert h.lead(key)["Title"] == "Acme Corp / Lee"
    h.crm.update("Lead", key, {"Title": "edited by a rep"})
    h.run()
    assert h.lead(key)["Title"] == "Acme Corp / Lee", "the hub owns computed fields"
    assert h.person(ann).title is None
    assert h.run().writes == 0
