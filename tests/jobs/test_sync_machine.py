"""A Hypothesis state machine: the hub and two CRMs edited at random, synced, crashed, converging.

After every "quiesce" (sync until nothing moves) it checks what users care about: all three
systems agree on every mapped field, nobody exists twice, a change made on one side only is
never lost, and one more cycle writes nothing (no ping-pong).

A hub first name may be too long for both CRMs (their FirstName holds 40 characters, the
hub's 80): each CRM refuses that one field, the rest of the record still syncs, and an open
field-level error says so until the name changes; the CRMs keep their last name meanwhile.

A Lead may be deleted for good (past the recycle bin, as Salesforce's emptyRecycleBin does):
the cycle's own poll finds it, and the delete policies take the person out of all three.

An admin may take Title out of one mapping for a while: edits of it stop crossing there. When
the row comes back (before every quiesce), the backfill must bring the sides together again
without losing a change made on one side only while it was away.

The two CRMs version records as the real ones do: "crm" in whole seconds on a clock that only
moves when the ``tick`` rule says (Salesforce's SystemModstamp: most changes tie with the
version last read or written), "erp" with a number new on every write (Dataverse).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.base import Connector, Cursor, OutboundRecord, Page, WriteResult
from connectors.filters import Filter
from connectors.memory.connector import MemoryConnector
from connectors.memory.store import MemoryStore, SimulatedCrash
from core.clock import as_utc
from core.db import make_engine
from core.models import SyncState
from jobs import lease
from jobs.hard_deletes import CURSOR, POLL_INTERVAL
from tests.causecounts import assert_cause_counts
from tests.clock import Clock
from tests.jobs.harness import Harness

EMAILS = [f"user{i}@example.com" for i in range(6)]
VALUES = ["Alpha", "Bravo", "Charlie", None]
#: hub field → (Lead field, Contact field); None where a system does not carry it.
FIELDS = {
    "first_name": ("FirstName", "FirstName"),
    "title": ("Title", "Title"),
    "company": ("Company", None),
}
SIDES = ("hub", "crm", "erp")
#: A first name the hub holds and neither CRM does (FirstName is 40 characters there).
TOO_LONG = "Maximiliana-" + "x" * 48
DEFAULTS = {"Company": "[none]", "LastName": "[unknown]"}


def _lead_mapping() -> dict[str, Any]:
    return {
        "name": "crm-person",
        "connection": "crm",
        "hub_object": "person",
        "remote_object": "Lead",
        "schedule": "1m",
        "page_size": 2,
        "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
        # A Lead deleted for good takes its person with it, and the person its Contact.
        "deletes": {"from_remote": "delete_hub", "brake_floor": 100},
        "fields": [
            {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
            {"hub": "first_name", "remote": "FirstName"},
            {"hub": "last_name", "remote": "LastName", "default": "[unknown]"},
            {"hub": "title", "remote": "Title"},
            {"hub": "company", "remote": "Company", "default": "[none]"},
        ],
    }


def _contact_mapping() -> dict[str, Any]:
    return {
        "name": "erp-person",
        "connection": "erp",
        "hub_object": "person",
        "remote_object": "Contact",
        "schedule": "1m",
        "page_size": 2,
        "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
        "deletes": {"from_hub": "delete_remote", "brake_floor": 100},
        "fields": [
            {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
            {"hub": "first_name", "remote": "FirstName"},
            {"hub": "last_name", "remote": "LastName", "default": "[unknown]"},
            {"hub": "title", "remote": "Title"},
        ],
    }


class CrashingConnector(MemoryConnector):
    """A memory connector whose process "dies" after handing out a number of read pages.

    ``before_write`` runs once, just before the first write: a user's edit that lands after
    the cycle read the CRM and before it writes there.
    """

    crash_after_pages: int | None = None
    before_write: Callable[[], None] | None = None

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        if self.before_write is not None:
            edit, self.before_write = self.before_write, None
            edit()
        return super().write(object_name, records)

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        pages = super().read_changes(object_name, since, fields=fields, where=where)
        for n, page in enumerate(pages):
            if self.crash_after_pages is not None and n >= self.crash_after_pages:
                # The engine committed the pages before this one; it never sees this one.
                raise SimulatedCrash(f"crash after {n} pages")
            yield page


class SyncMachine(RuleBasedStateMachine):
    """Random edits on three systems, random syncs and crashes; invariants after quiescence."""

    make_engine: Callable[[], Engine]
    folder: Path

    def __init__(self) -> None:
        super().__init__()
        self.h = Harness(
            self.make_engine(),
            self.folder,
            _lead_mapping(),
            _contact_mapping(),
            stores={"crm": MemoryStore(), "erp": MemoryStore()},
        )
        self.h.connector_config["crm"] = {"page_size": 2}
        self.h.connector_config["erp"] = {"page_size": 2}
        self.crm_clock = Clock()
        self.h.stores["crm"].clock = self.crm_clock
        self.crash_pages: dict[str, int | None] = {"crm": None, "erp": None}
        self.before_write: dict[str, Callable[[], None] | None] = {"crm": None, "erp": None}
        self.h.ctx.connect = self._connect  # type: ignore[method-assign]
        #: Mappings whose Title row an admin has taken out.
        self.without_title: set[str] = set()
        # Per email and hub field: the last value each side wrote since the last quiesce.
        self.edits: dict[tuple[str, str], dict[str, Any]] = {}
        self.steps = 0

    def _connect(self, name: str) -> Connector:
        config = {"type": "memory", "store": self.h.stores[name], "page_size": 2,
                  "versions": "seconds" if name == "crm" else "sequence"}
        connector = CrashingConnector(name, config)
        connector.crash_after_pages = self.crash_pages[name]
        self.crash_pages[name] = None  # one crash per injection
        connector.before_write = self.before_write[name]
        return connector

    # -- helpers ----------------------------------------------------------------------------

    def _load_mappings(self) -> None:
        """Write the mapping files as they stand now and load them, as the scheduler does."""
        files = [_lead_mapping(), _contact_mapping()]
        for data in files:
            if data["name"] in self.without_title:
                data["fields"] = [row for row in data["fields"] if row["hub"] != "title"]
        self.h.set_mappings(*files)
        self.h.ctx.connect = self._connect  # type: ignore[method-assign]

    def _remote(self, side: str) -> tuple[MemoryStore, str]:
        return (
            (self.h.stores["crm"], "Lead") if side == "crm" else (self.h.stores["erp"], "Contact")
        )

    def _find(self, side: str, email: str) -> dict[str, Any] | str | None:
        if side == "hub":
            people = [p for p in self.h.people() if p.email == email]
            return people[0].id if people else None
        store, obj = self._remote(side)
        found = [r for r in store.all(obj) if str(r.get("Email", "")).lower() == email]
        return found[0] if found else None

    # -- rules ------------------------------------------------------------------------------

    @initialize(
        records=st.lists(
            st.tuples(st.sampled_from(SIDES), st.sampled_from(EMAILS), st.sampled_from(VALUES)),
            min_size=2,
            max_size=10,
        )
    )
    def populate(self, records: list[tuple[str, str, str | None]]) -> None:
        """Start from people scattered over the three systems, some in several at once."""
        for side, email, value in records:
            self.create(side, email, value, value)

    @rule(
        side=st.sampled_from(SIDES),
        email=st.sampled_from(EMAILS),
        first=st.sampled_from(VALUES),
        title=st.sampled_from(VALUES),
    )
    def create(self, side: str, email: str, first: str | None, title: str | None) -> None:
        if self._find(side, email) is not None:
            return  # each system keeps one record per email; creating again would be rejected
        if side == "hub":
            self.h.add_person(email=email, first_name=first, title=title, last_name="Smith")
        else:
            store, obj = self._remote(side)
            fields: dict[str, Any] = {
                "Email": email.upper(),
                "FirstName": first,
                "Title": title,
                "LastName": "Smith",
            }
            if obj == "Lead":
                fields["Company"] = "[none]"
            store.create(obj, {k: v for k, v in fields.items() if v is not None})
        self.edits.setdefault((email, "first_name"), {})[side] = first
        self.edits.setdefault((email, "title"), {})[side] = title

    @rule(
        side=st.sampled_from(SIDES),
        email=st.sampled_from(EMAILS),
        field=st.sampled_from(sorted(FIELDS)),
        value=st.sampled_from(VALUES),
    )
    def edit(self, side: str, email: str, field: str, value: str | None) -> None:
        found = self._find(side, email)
        if found is None:
            return
        if side == "hub":
            self.h.edit_person(str(found), **{field: value})
        else:
            remote_field = FIELDS[field][0 if side == "crm" else 1]
            if remote_field is None:
                return
            store, obj = self._remote(side)
            assert isinstance(found, dict)
            if remote_field in DEFAULTS and value is None:
                value = DEFAULTS[remote_field]  # required there: blank means the default
            store.update(obj, found["Id"], {remote_field: value})
            value = None if value == DEFAULTS.get(remote_field) else value
        self.edits.setdefault((email, field), {})[side] = value

    @rule(email=st.sampled_from(EMAILS))
    def name_too_long_for_the_crms(self, email: str) -> None:
        """An admin pastes a first name no CRM can hold: only that field stays behind."""
        found = self._find("hub", email)
        if found is None:
            return
        self.h.edit_person(str(found), first_name=TOO_LONG)
        self.edits.setdefault((email, "first_name"), {})["hub"] = TOO_LONG

    @rule(name=st.sampled_from(["crm-person", "erp-person"]))
    def sync(self, name: str) -> None:
        self.h.run(name)

    @rule()
    def tick(self) -> None:
        """A second passes in "crm": until then every change there shares one version."""
        self.crm_clock.advance(seconds=1)

    @rule(
        name=st.sampled_from(["crm-person", "erp-person"]),
        email=st.sampled_from(EMAILS),
        field=st.sampled_from(sorted(FIELDS)),
        value=st.sampled_from(VALUES),
    )
    def sync_with_an_edit_before_its_write(
        self, name: str, email: str, field: str, value: str | None
    ) -> None:
        """A rep saves a record after the cycle read the CRM, just before it writes there."""
        connection = self.h.mappings[name].connection
        side = "crm" if connection == "crm" else "erp"
        self.before_write[connection] = lambda: self.edit(side, email, field, value)
        try:
            self.h.run(name)
        finally:
            self.before_write[connection] = None

    @rule(name=st.sampled_from(["crm-person", "erp-person"]), pages=st.integers(0, 2))
    def crash_between_pages(self, name: str, pages: int) -> None:
        connection = self.h.mappings[name].connection
        self.crash_pages[connection] = pages
        with contextlib.suppress(SimulatedCrash):
            self.h.run(name)
        self._restart(name)

    @rule(name=st.sampled_from(["crm-person", "erp-person"]))
    def crash_after_remote_write(self, name: str) -> None:
        store = self.h.stores[self.h.mappings[name].connection]
        store.crash_after_write = 1
        with contextlib.suppress(SimulatedCrash):
            self.h.run(name)
        store.crash_after_write = None
        self._restart(name)

    @rule(name=st.sampled_from(["crm-person", "erp-person"]))
    def take_title_out(self, name: str) -> None:
        """An admin removes the Title row from one mapping; it comes back before the quiesce."""
        self.without_title.add(name)
        self._load_mappings()

    @rule(email=st.sampled_from(EMAILS))
    def hard_delete(self, email: str) -> None:
        """A rep deletes a Lead and empties the recycle bin: the feed never shows it.

        The next cycle of crm-person polls for deletes (ten minutes pass for the poll), so the
        person goes from the hub and, at the next push of erp-person, from the other CRM.
        """
        found = self._find("crm", email)
        if not isinstance(found, dict):
            return
        linked = any(link.remote_id == found["Id"] for link in self.h.links())
        contact = self._find("erp", email)
        self.h.stores["crm"].hard_delete("Lead", found["Id"])
        for key in [k for k in self.edits if k[0] == email]:
            if linked:
                # The person goes everywhere, but the Contact only at erp-person's next push:
                # a person made again with this email before that links to it by email and
                # may take its values, so they stay possible outcomes (never the only one).
                del self.edits[key]
                contact_field = FIELDS[key[1]][1]
                if isinstance(contact, dict) and contact_field is not None:
                    self.edits[key] = {"erp before the delete": contact.get(contact_field)}
            else:
                # A Lead never linked (a crash after creating it) takes nobody with it: the
                # hub's and the other CRM's edits still stand.
                self.edits[key].pop("crm", None)
        self._make_polls_due()
        self.h.run("crm-person")

    def _make_polls_due(self) -> None:
        """Ten minutes pass for the hard-delete poll (it runs on its own interval)."""
        with Session(self.h.engine) as session:
            for state in session.exec(select(SyncState).where(SyncState.direction == CURSOR)):
                state.updated_at = as_utc(state.updated_at) - POLL_INTERVAL
                session.add(state)
            session.commit()

    def _restart(self, name: str) -> None:
        # A dead process's lease expires; the engine already released ours on the way out,
        # but make sure nothing else would block the next cycle.
        lease.release(self.h.engine, name, "nobody")
        self.crash_pages = {"crm": None, "erp": None}

    # -- checks -----------------------------------------------------------------------------

    @precondition(lambda self: self.steps >= 4)  # let some edits and syncs pile up first
    @rule()
    def quiesce_and_check(self) -> None:
        if self.without_title:
            # The row is back: its fingerprint is new to the mapping, so the backfill runs.
            self.without_title.clear()
            self._load_mappings()
        for _ in range(6):
            self._make_polls_due()
            reports = self.h.run_all()
            assert all(r.status in ("success", "partial") for r in reports), [
                (r.mapping, r.status, r.message) for r in reports
            ]
            if sum(r.writes for r in reports) == 0:
                break
        else:
            raise AssertionError("still writing after 6 rounds: ping-pong")
        self._check_converged()
        self.edits.clear()
        self.steps = 0

    def _check_converged(self) -> None:
        assert_cause_counts(self.h.engine)  # the grouped errors view kept up through crashes
        people = self.h.people()
        emails = [p.email for p in people]
        assert len(emails) == len(set(emails)), f"duplicate hub people: {emails}"
        leads = {str(r["Email"]).lower(): r for r in self.h.stores["crm"].all("Lead")}
        contacts = {str(r["Email"]).lower(): r for r in self.h.stores["erp"].all("Contact")}
        assert len(leads) == len(self.h.stores["crm"].all("Lead")), "duplicate Leads"
        assert len(contacts) == len(self.h.stores["erp"].all("Contact")), "duplicate Contacts"
        assert set(emails) == set(leads) == set(contacts), "everyone exists everywhere"
        links = self.h.links()
        assert len(links) == 2 * len(people), "one link per person per CRM"
        for person in people:
            lead, contact = leads[person.email], contacts[person.email]
            for field, (lead_field, contact_field) in FIELDS.items():
                hub_value = getattr(person, field)
                if hub_value == TOO_LONG:
                    # Refused by both CRMs: they keep an older name, never this one.
                    assert TOO_LONG not in (lead.get(lead_field), contact.get(contact_field))
                    continue
                lead_value = lead.get(lead_field)
                if lead_field in DEFAULTS and lead_value == DEFAULTS[lead_field]:
                    lead_value = None
                assert hub_value == lead_value, (person.email, field, hub_value, lead_value)
                if contact_field is not None:
                    assert hub_value == contact.get(contact_field), (person.email, field)
                # No lost change: if one side alone changed the field, its value stands.
                edits = self.edits.get((person.email, field), {})
                if len(edits) == 1 and "erp before the delete" not in edits:
                    assert hub_value == next(iter(edits.values())), (person.email, field, edits)
                elif edits:
                    assert hub_value in edits.values(), (person.email, field, edits)
        self._check_refusals(people)

    def _check_refusals(self, people: list[Any]) -> None:
        """An open refused-field error per CRM for each too-long name, and none for any other."""
        refused = {
            (e.mapping, e.hub_id, e.field)
            for e in self.h.errors("open", "retrying")
            if e.code == "FIELD_REFUSED"
        }
        expected = {
            (mapping, person.id, "FirstName")
            for person in people
            if person.first_name == TOO_LONG
            for mapping in ("crm-person", "erp-person")
        }
        assert refused == expected, (refused, expected)

    def teardown(self) -> None:
        if self.steps:  # every run ends converged and checked, whatever it did last
            self.steps = 4
            self.quiesce_and_check()

    @invariant()
    def nobody_is_created_twice(self) -> None:
        self.steps += 1
        emails = [p.email for p in self.h.people()]
        assert len(emails) == len(set(emails)), f"duplicate hub people: {emails}"


def _run(make: Callable[[], Engine], folder: Path, examples: int) -> None:
    SyncMachine.make_engine = staticmethod(make)  # type: ignore[assignment]
    SyncMachine.folder = folder
    run_state_machine_as_test(
        SyncMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.slow
def test_sync_machine_sqlite(_sqlite_template: Path, tmp_path: Path) -> None:
    counter = iter(range(10_000))
    engines: list[Engine] = []

    def fresh() -> Engine:
        path = tmp_path / f"example-{next(counter)}.db"
        shutil.copyfile(_sqlite_template, path)
        engines.append(make_engine(f"sqlite:///{path}"))
        return engines[-1]

    try:
        _run(fresh, tmp_path, examples=40)
    finally:
        for engine in engines:
            engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_sync_machine_postgres(_postgres_ready: Any, tmp_path: Path) -> None:
    def fresh() -> Engine:
        _postgres_ready.reset()
        return _postgres_ready.engine

    _run(fresh, tmp_path, examples=12)
