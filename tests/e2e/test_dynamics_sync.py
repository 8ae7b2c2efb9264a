"""The engine, the shipped Dynamics mappings and the real connector on the Dataverse sandbox."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.base import Connector, OutboundRecord, WriteResult
from connectors.dynamics import DynamicsConnector
from connectors.errors import ConnectorError
from jobs import triage
from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.e2e.dynamics_harness import DYNAMICS_PEOPLE, DynamicsHub


class ShiftableClock:
    """The environment's wall clock: real time plus an offset a test may move."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.stopped_at: datetime | None = None

    def __call__(self) -> datetime:
        return self.stopped_at or datetime.now(UTC) + self.offset

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Stamp everything inside with one moment (``modifiedon`` ties)."""
        self.stopped_at = self()
        try:
            yield
        finally:
            self.stopped_at = None

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    @contextmanager
    def shifted(self, delta: timedelta) -> Iterator[None]:
        """Stamp what happens inside with a time ``delta`` away from now."""
        self.offset += delta
        try:
            yield
        finally:
            self.offset -= delta


@pytest.fixture(scope="module")
def module_clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(scope="module")
def shared_dataverse(module_clock: ShiftableClock) -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(clock=module_clock) as sandbox:
        yield sandbox


@pytest.fixture
def clock(module_clock: ShiftableClock) -> Iterator[ShiftableClock]:
    """The sandbox's clock, back at real time for each test."""
    module_clock.offset = timedelta()
    yield module_clock
    module_clock.offset = timedelta()


@pytest.fixture
def dataverse(shared_dataverse: DynamicsSandbox, clock: ShiftableClock
              ) -> Iterator[DynamicsSandbox]:
    """The module's sandbox with an empty environment, no faults and fresh request counts."""
    shared_dataverse.state.reset()
    yield shared_dataverse
    shared_dataverse.state.reset()


@pytest.fixture
def crm(engine: Engine, tmp_path: Path, dataverse: DynamicsSandbox) -> DynamicsHub:
    """The hub (SQLite and PostgreSQL), the shipped Dynamics people mappings, the sandbox."""
    return DynamicsHub(engine, tmp_path, dataverse)


def ann(crm: DynamicsHub, **values: Any) -> str:
    """A marketing-qualified hub person (the shipped lead mapping's sync_rule lets her out)."""
    fields: dict[str, Any] = {
        "email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "company": "Acme",
        "phone": "(415) 555-0100", "lead_source": "Webinar", "score": 70, "aql": True,
    }
    return crm.add_person(**{**fields, **values})


def test_a_hub_person_becomes_a_lead_edits_flow_both_ways_then_nothing_moves(
    crm: DynamicsHub,
) -> None:
    person_id = ann(crm)

    first = crm.run()

    assert (first.status, first.created_remote) == ("success", 1), first.message
    lead = crm.lead_by_email("ann@acme.com")
    assert lead["syncline_hubid"] == person_id
    assert (lead["firstname"], lead["lastname"], lead["companyname"]) == ("Ann", "Lee", "Acme")
    assert lead["telephone1"] == "+14155550100", "phones go out in E.164"
    seminar = crm.mapped("dynamics-lead", "lead_source", "Webinar")
    assert lead["leadsourcecode"] == crm.option_value("lead", "leadsourcecode", seminar), (
        "the label in the value_map is stored as its option number")
    assert lead["subject"] == "Marketing lead: Webinar", "the expr row"
    assert crm.remote_ids(person_id) == {"lead": lead["leadid"]}

    crm.update("lead", lead["leadid"], {"jobtitle": "VP Marketing", "address1_city": "Oakland"})
    second = crm.run()
    assert (second.status, second.updated_hub, second.updated_remote) == ("success", 1, 0)
    person = crm.person(person_id)
    assert (person.title, person.city) == ("VP Marketing", "Oakland")

    crm.edit_person(person_id, first_name="Annie", phone="+1 415 555 0199")
    third = crm.run()
    assert (third.status, third.updated_remote, third.updated_hub) == ("success", 1, 0)
    lead = crm.get("lead", lead["leadid"])
    assert (lead["firstname"], lead["telephone1"]) == ("Annie", "+14155550199")

    idle = crm.run()
    assert (idle.status, idle.writes, idle.failed) == ("success", 0, 0), "no ping-pong"
    assert idle.api_calls <= 1, "an idle cycle reads its delta link, nothing more"
    assert len(crm.rows("lead")) == 1 and len(crm.people()) == 1


def test_both_sides_change_the_job_title_and_the_newest_change_wins(
    crm: DynamicsHub, clock: ShiftableClock,
) -> None:
    first_id = ann(crm, title="Manager")
    second_id = ann(crm, email="bo@beta.io", first_name="Bo", title="Manager")
    crm.run()
    first_lead, second_lead = crm.remote_ids(first_id)["lead"], crm.remote_ids(second_id)["lead"]

    # Dataverse stamps modifiedon to the second: the rep's edits are made a minute after
    # (Ann) or a minute before (Bo) the hub's, so "newest" is not a coin toss.
    crm.edit_person(first_id, title="Director (hub)")
    with clock.shifted(timedelta(minutes=1)):
        crm.update("lead", first_lead, {"jobtitle": "Director (sales)"})
    with clock.shifted(timedelta(minutes=-1)):
        crm.update("lead", second_lead, {"jobtitle": "VP (sales)"})
    crm.edit_person(second_id, title="VP (hub)")

    report = crm.run()

    assert report.failed == 0 and crm.errors() == []
    assert crm.person(first_id).title == "Director (sales)"
    assert crm.get("lead", first_lead)["jobtitle"] == "Director (sales)"
    assert crm.person(second_id).title == "VP (hub)"
    assert crm.get("lead", second_lead)["jobtitle"] == "VP (hub)"
    assert crm.run().writes == 0, "a resolved conflict must not ping-pong"


def test_edits_in_the_instant_of_our_write_reach_the_hub_and_our_echo_is_no_news(
    crm: DynamicsHub, clock: ShiftableClock,
) -> None:
    # The Salesforce case (tests/e2e/test_same_second.py) on Dataverse, whose versionnumber
    # is new on every write: the version alone tells a rep's edit from our own write's echo,
    # even when both carry the same modifiedon.
    person_id = ann(crm, title="Manager")
    with clock.stopped():
        assert crm.run().created_remote == 1
        lead_id = crm.remote_ids(person_id)["lead"]
        ours = crm.get("lead", lead_id)
        crm.update("lead", lead_id, {"jobtitle": "VP Marketing"})  # the rep, same instant
        theirs = crm.get("lead", lead_id)
        assert theirs["modifiedon"] == ours["modifiedon"]
        assert theirs["versionnumber"] != ours["versionnumber"]
        report = crm.run()
        assert (report.updated_hub, report.updated_remote, report.failed) == (1, 0, 0)
        assert crm.person(person_id).title == "VP Marketing"

        crm.edit_person(person_id, first_name="Annie")
        assert crm.run().updated_remote == 1
        seq = crm.person(person_id).change_seq
        echo = crm.run()  # our write comes back: its version is the one the link holds
        assert (echo.read, echo.writes, echo.failed) == (1, 0, 0)
        assert crm.person(person_id).change_seq == seq

        # A rep's edit between our read and our write: its new version fails our If-Match.
        crm.edit_person(person_id, title="Director (hub)")

        def rep_first(connector: Connector) -> None:
            original = connector.write

            def write(object_name: str, records: Any) -> Any:
                crm.update("lead", lead_id, {"jobtitle": "Director (sales)"})
                return original(object_name, records)

            connector.write = write  # type: ignore[method-assign]

        crm.on_connect = rep_first
        clash = crm.run()
        crm.on_connect = None
        assert clash.failed == 1
        assert crm.get("lead", lead_id)["jobtitle"] == "Director (sales)", "not overwritten"


def test_a_qualified_lead_moves_the_person_to_its_contact_for_good(crm: DynamicsHub) -> None:
    person_id = ann(crm)
    crm.run()
    lead_id = crm.remote_ids(person_id)["lead"]

    qualified = crm.qualify(lead_id)
    contact_id = qualified["contactid"]
    reports = crm.run_all(DYNAMICS_PEOPLE)

    assert [r.status for r in reports] == ["success"] * 3, [(r.mapping, r.message)
                                                            for r in reports]
    assert crm.remote_ids(person_id).get("contact") == contact_id
    assert "lead" not in crm.remote_ids(person_id), "the person followed the lead to its contact"
    assert [p.id for p in crm.people()] == [person_id], "the contact is not a new person"
    assert crm.errors("open", "retrying") == []

    crm.edit_person(person_id, title="CMO", city="Berlin")
    lead_cycle = crm.run("dynamics-lead")
    contact_cycle = crm.run("dynamics-contact")

    assert lead_cycle.created_remote == 0 and lead_cycle.failed == 0
    assert [r["leadid"] for r in crm.rows("lead")] == [lead_id], "never a second lead"
    contact = crm.get("contact", contact_id)
    assert (contact["jobtitle"], contact["address1_city"]) == ("CMO", "Berlin")
    assert contact_cycle.updated_remote == 1
    assert crm.get("lead", lead_id)["statecode"] == 1, "the lead stays qualified"
    assert sum(r.writes for r in crm.run_all(DYNAMICS_PEOPLE)) == 0


def test_a_lead_deleted_in_dynamics_unlinks_and_the_person_stays(crm: DynamicsHub) -> None:
    person_id = ann(crm)
    bo_id = ann(crm, email="bo@acme.com", first_name="Bo")
    crm.run()
    lead_id = crm.remote_ids(person_id)["lead"]

    crm.delete("lead", lead_id)
    report = crm.run()

    assert report.status == "success" and report.deleted == 0, report.message
    assert crm.person(person_id).deleted_at is None and len(crm.people()) == 2
    assert crm.remote_ids(person_id) == {}, "deletes.from_remote: unlink"
    assert "lead" in crm.remote_ids(bo_id), "the other person's link is untouched"
    assert [r["leadid"] for r in crm.rows("lead")] == [crm.remote_ids(bo_id)["lead"]], (
        "no lead re-created")
    after = crm.run()
    assert (after.status, after.writes) == ("success", 0), after.message
    assert crm.errors("open", "retrying") == []


#: ExpiredVersionStamp, as Microsoft's "Web service error codes (Microsoft Dataverse)" list
#: gives it, and the HTTP status Dataverse answers it with.
EXPIRED_ANSWER = (400, "0x80044352",
                  "Version stamp associated with the client has expired. Please perform a "
                  "full sync.")


class ReadLog:
    """Every GET a cycle's Dynamics connector makes, and the errors Dataverse answered."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.refused: list[tuple[int | None, str | None, str]] = []

    def install(self, connector: Connector) -> None:
        """Wrap ``connector.get_json`` (the harness's on_connect hook)."""
        assert isinstance(connector, DynamicsConnector)
        real_get = connector.get_json

        def get_json(path_or_url: str, **options: Any) -> dict[str, Any]:
            self.asked.append(path_or_url)
            try:
                return real_get(path_or_url, **options)
            except ConnectorError as error:
                self.refused.append((error.status, error.code, error.message))
                raise

        connector.get_json = get_json  # type: ignore[method-assign]

    def of(self, entity_set: str) -> list[str]:
        """The reads of one entity set, in order."""
        return [url for url in self.asked if entity_set in url]


def test_an_expired_delta_token_falls_back_to_a_full_read_without_duplicates(
    crm: DynamicsHub, clock: ShiftableClock,
) -> None:
    people = [ann(crm, email=f"p{i}@acme.com", first_name=f"P{i}") for i in range(3)]
    rep_lead = crm.create("lead", {"subject": "Call back", "lastname": "Diaz",
                                   "firstname": "Di", "emailaddress1": "di@dex.io"})
    crm.run()
    assert len(crm.rows("lead")) == 4 and len(crm.people()) == 4

    # The integration was off for eight days: the delta link (seven days) has expired.
    clock.advance(timedelta(days=8))
    crm.update("lead", rep_lead, {"jobtitle": "Buyer"})
    cy_lead = crm.create("lead", {"subject": "Fair", "lastname": "Ng", "firstname": "Cy",
                                  "emailaddress1": "cy@corp.com"})

    reads = ReadLog()
    crm.on_connect = reads.install
    report = crm.run()
    crm.on_connect = None

    assert report.status == "success" and report.failed == 0, report.message
    assert reads.refused == [EXPIRED_ANSWER], "the sandbox answers as Dataverse documents it"
    leads = reads.of("leads")
    assert len(leads) == 2 and "$deltatoken" in leads[0] and "$deltatoken" not in leads[1], (
        f"the expired delta link, then a full read: {leads}")
    assert report.created_remote == 0 and report.created_hub == 1, report.as_json()
    assert crm.person_by_email("di@dex.io").title == "Buyer"
    assert crm.remote_ids(crm.person_by_email("cy@corp.com").id) == {"lead": cy_lead}
    assert len(crm.rows("lead")) == 5 and len(crm.people()) == 5, "no duplicates either side"
    for person_id in people:
        assert crm.get("lead", crm.remote_ids(person_id)["lead"])["syncline_hubid"] == person_id
    idle = crm.run()
    assert (idle.status, idle.writes) == ("success", 0), "the fresh delta link works again"
    assert idle.api_calls <= 1


def test_edits_made_while_the_delta_link_expired_all_reach_the_hub(
    crm: DynamicsHub, clock: ShiftableClock,
) -> None:
    people = [ann(crm, email=f"e{i}@acme.com", first_name=f"E{i}") for i in range(3)]
    crm.run()
    leads = [crm.remote_ids(person_id)["lead"] for person_id in people]

    # A week and a day without a cycle; meanwhile sales edits the leads five times.
    clock.advance(timedelta(days=8))
    edits = [
        (0, {"jobtitle": "Head of Growth"}),
        (1, {"address1_city": "Lyon"}),
        (2, {"firstname": "Eve"}),
        (0, {"telephone1": "+14155550123"}),
        (1, {"jobtitle": "CFO"}),
    ]
    for index, change in edits:
        crm.update("lead", leads[index], change)

    reads = ReadLog()
    crm.on_connect = reads.install
    report = crm.run()
    crm.on_connect = None

    assert report.status == "success" and report.failed == 0, report.message
    assert reads.refused == [EXPIRED_ANSWER]
    assert report.updated_hub == 3, "three people changed, in five edits"
    first, second, third = (crm.person(person_id) for person_id in people)
    assert (first.title, first.phone) == ("Head of Growth", "+14155550123")
    assert (second.city, second.title) == ("Lyon", "CFO")
    assert third.first_name == "Eve"
    assert crm.errors("open", "retrying") == []
    idle = crm.run()
    assert (idle.status, idle.writes) == ("success", 0), "nothing ping-pongs back"
    assert idle.api_calls <= 1, "the fresh delta link answers the next cycle"


class Killed(BaseException):  # noqa: N818 - not an error: a stand-in for kill -9
    """The process dies: nothing after the remote call runs, the local transaction is lost."""


def test_a_crash_after_dynamics_ran_the_batch_makes_no_duplicate_leads(
    crm: DynamicsHub,
) -> None:
    people = [ann(crm, email=f"p{i}@acme.com", first_name=f"P{i}") for i in range(5)]

    def crash_after_write(connector: Connector) -> None:
        real_write = connector.write

        def write(object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
            real_write(object_name, records)  # the real $batch: Dataverse saves every lead
            raise Killed("killed after Dynamics answered, before the hub committed")

        connector.write = write  # type: ignore[method-assign]

    crm.on_connect = crash_after_write
    with pytest.raises(Killed):
        crm.run()
    assert len(crm.rows("lead")) == 5, "Dynamics saved them before the crash"
    assert crm.links() == [], "the hub never committed the links"

    crm.on_connect = None
    report = crm.run()

    assert report.status == "success" and report.created_remote == 0, report.as_json()
    leads = crm.rows("lead")
    assert sorted(r["syncline_hubid"] for r in leads) == sorted(people), "one lead per person"
    for person_id in people:
        assert crm.get("lead", crm.remote_ids(person_id)["lead"])["syncline_hubid"] == person_id
    assert len(crm.people()) == 5, "no hub person made from our own leads"
    assert crm.run().writes == 0


HUB_PEOPLE = 40
DYNAMICS_LEADS = 20
MAX_CYCLES = 15
#: What the sandbox's 429s tell the client to wait, in seconds.
RETRY_AFTER_S = 7


def test_a_storm_of_429s_still_converges_with_every_record_synced_once(
    crm: DynamicsHub,
) -> None:
    hub_ids = {
        crm.add_person(email=f"hub{i}@acme.com", first_name=f"Hub{i}", last_name="Person",
                       company="Acme", score=50 + i % 40, aql=True,
                       title=f"Title {i}"): f"hub{i}@acme.com"
        for i in range(HUB_PEOPLE)
    }
    lead_ids = {
        crm.create("lead", {"emailaddress1": f"dyn{i}@corp.com", "firstname": f"Dyn{i}",
                            "lastname": "Lead", "companyname": "Corp", "subject": "Inbound",
                            "jobtitle": f"Rep title {i}"}): f"dyn{i}@corp.com"
        for i in range(DYNAMICS_LEADS)
    }
    # Small pages and batches: dozens of calls, so the storm hits reads and writes alike.
    crm.dynamics_extra = {"page_size": 10, "max_batch_size": 10}
    crm.sandbox.faults.configure(rate_429=0.3, retry_after_s=RETRY_AFTER_S, seed=3)

    reports = []
    while not reports or not (reports[-1].status == "success" and reports[-1].writes == 0
                              and not crm.errors("open", "retrying")):
        assert len(reports) < MAX_CYCLES, [(r.status, r.writes, r.failed, r.message)
                                           for r in reports]
        crm.make_retries_due()
        reports.append(crm.run())

    assert crm.slept, "the storm did hit the cycles"
    assert set(crm.slept) == {float(RETRY_AFTER_S)}, "every wait was the server's Retry-After"
    crm.sandbox.faults.clear()
    leads, people = crm.rows("lead"), crm.people()
    assert len(leads) == HUB_PEOPLE + DYNAMICS_LEADS, "no duplicates in Dynamics"
    assert len(people) == HUB_PEOPLE + DYNAMICS_LEADS, "no duplicates in the hub"
    by_email = {str(r["emailaddress1"]): r for r in leads}
    assert len(by_email) == len(leads)
    for person in people:
        link = crm.remote_ids(person.id)
        assert list(link) == ["lead"], f"{person.email}: {link}"
        lead = by_email[str(person.email)]
        assert lead["leadid"] == link["lead"]
        assert (lead["firstname"], lead["lastname"], lead["jobtitle"]) == (
            person.first_name, person.last_name, person.title)
    for person_id, email in hub_ids.items():
        assert by_email[email]["syncline_hubid"] == person_id
    for lead_id, email in lead_ids.items():
        assert crm.remote_ids(crm.person_by_email(email).id) == {"lead": lead_id}
    assert crm.errors("open", "retrying") == []


def test_an_unmapped_lead_source_is_an_error_with_the_options_until_mapped(
    crm: DynamicsHub,
) -> None:
    person_id = ann(crm, lead_source="Podcast")

    report = crm.run()

    # Dataverse refuses the option: the lead goes without it, the field has its own error.
    assert (report.status, report.failed, report.created_remote) == ("partial", 1, 1)
    assert crm.lead_by_email("ann@acme.com")["leadsourcecode"] is None
    [error] = crm.errors("open", "retrying")
    assert (error.hub_id, error.code, error.field) == (person_id, "FIELD_REFUSED", "leadsourcecode")
    assert "0x8004431a" in error.message.lower(), "Dataverse's invalid-option code"
    assert "Podcast" in error.message and "leadsourcecode" in error.message
    assert error.hint is not None and "value_map" in error.hint and "Podcast" in error.hint
    assert all(label in error.hint for label in ("Advertisement", "Employee Referral"))

    # The admin follows the hint, then presses "retry".
    crm.edit_mapping("dynamics-lead", lambda data: next(
        row for row in data["fields"] if row.get("hub") == "lead_source"
    )["value_map"].update({"Podcast": "Other"}))
    assert triage.retry(crm.engine, triage.ErrorFilter(mapping="dynamics-lead"), "admin") == 1
    retried = crm.run()

    assert (retried.status, retried.updated_remote, retried.failed) == ("success", 1, 0)
    lead = crm.lead_by_email("ann@acme.com")
    assert lead["leadsourcecode"] == crm.option_value("lead", "leadsourcecode", "Other")
    assert [e.status for e in crm.errors()] == ["resolved"]
