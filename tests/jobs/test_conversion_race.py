"""A converted Lead's person moves to its Contact while the Contact's own mapping links them.

Two cycles decide the same link: salesforce-lead follows the conversion (the Lead names its
Contact) and salesforce-contact matches the new Contact to the person by email. Whichever
commits second must find the other's link, in either order, and nobody's cycle may crash on
the link table's unique keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.memory.connector import MemoryConnector
from core.models import Audit
from jobs import pull as pull_module
from jobs.pull import PullPhase
from tests.jobs.harness import Harness, mapping
from tests.jobs.test_crm_realities import CONTACT_MAPPING, CrmConnector


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(
        engine,
        tmp_path,
        mapping(create={"remote": True, "hub": True, "unless_linked_to": ["Contact"]}),
        CONTACT_MAPPING,
    )
    CrmConnector.successors = {}

    def connect(name: str) -> MemoryConnector:
        connector = CrmConnector(name, {"type": "memory", "store": harness.stores[name]})
        harness.connectors.append(connector)
        return connector

    harness.ctx.connect = connect
    yield harness
    CrmConnector.successors = {}


def links_of(h: Harness, person: str) -> list[tuple[str, str]]:
    return sorted((link.remote_object, link.remote_id) for link in h.links(person))


def convert(h: Harness, lead: str, *, validate: bool = True) -> str:
    """Sales converts the Lead: a Contact appears and the Lead names it as its successor."""
    key = h.crm.create("Contact", {"Email": "ann@acme.com", "FirstName": "Ann",
                                   "LastName": "Lee"}, validate=validate)
    h.crm.update("Lead", lead, {"Status": "Qualified"})
    CrmConnector.successors = {lead: ("Contact", key)}
    return key


def after_planning(
    monkeypatch: pytest.MonkeyPatch, name: str, meanwhile: Callable[[], Any]
) -> list[Any]:
    """Run ``meanwhile`` once, when mapping ``name`` has planned its first page of changes
    (everything read, nothing written): the other cycle commits in between."""
    original = PullPhase._plan_page
    results: list[Any] = []

    def plan_then_let_the_other_commit(self: PullPhase, *args: Any) -> Any:
        plans = original(self, *args)
        if self.mapping.name == name and not results:
            results.append(meanwhile())
        return plans

    monkeypatch.setattr(PullPhase, "_plan_page", plan_then_let_the_other_commit)
    return results


def before_following(
    monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], Any]
) -> list[Any]:
    """Run ``meanwhile`` once, when a page naming a successor has been read, before any of
    it (the move of the link included) is applied."""
    original = pull_module.apply_relinks
    results: list[Any] = []

    def let_the_other_commit_then_follow(session: Session, cycle: Any, relinks: Any) -> Any:
        if relinks and not results:
            results.append(meanwhile())
        return original(session, cycle, relinks)

    monkeypatch.setattr(pull_module, "apply_relinks", let_the_other_commit_then_follow)
    return results


def test_the_contact_mapping_links_first_then_finds_the_moved_link(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash seen in the demo: salesforce-contact planned a new link for the person, the
    conversion's move committed meanwhile, and the insert broke the unique key."""
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme")
    h.run("crm-person")
    [(_, lead)] = links_of(h, ann)
    contact = convert(h, lead)
    moved = after_planning(monkeypatch, "crm-contact", lambda: h.run("crm-person"))

    report = h.run("crm-contact")

    assert [r.status for r in moved] == ["success"]
    assert (report.status, report.message) == ("success", None)
    assert links_of(h, ann) == [("Contact", contact)]
    assert len(h.people()) == 1 and h.errors() == []
    assert h.run("crm-contact").status == "success"
    h.edit_person(ann, title="CMO")
    assert h.run("crm-person").created_remote == 0, "no second Lead for a Contact"
    h.run("crm-contact")
    assert h.crm.get("Contact", contact)["Title"] == "CMO"


def test_the_lead_mapping_moves_second_and_finds_the_contact_linked(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme")
    h.run("crm-person")
    [(_, lead)] = links_of(h, ann)
    contact = convert(h, lead)
    linked = before_following(monkeypatch, lambda: h.run("crm-contact"))

    report = h.run("crm-person")

    assert [r.status for r in linked] == ["success"]
    assert (report.status, report.message) == ("success", None)
    assert links_of(h, ann) == [("Contact", contact)]
    assert len(h.people()) == 1 and h.errors() == []
    with Session(h.engine) as session:
        [audit] = session.exec(select(Audit).where(Audit.action.startswith("link.converted")))
    assert audit.action == "link.converted.dropped", "the Contact was linked already"
    assert audit.detail["to"] == f"Contact {contact}"


def test_a_lead_converted_into_a_second_contact_of_its_person_drops_the_lead_link(
    h: Harness,
) -> None:
    """The person is a Contact already (sales entered them twice): the Lead's link cannot
    move to the new Contact, whose own mapping reports it as a duplicate instead."""
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme")
    h.run("crm-person")
    first = h.crm.create("Contact", {"Email": "ann@acme.com", "FirstName": "Ann",
                                     "LastName": "Lee"})
    h.run("crm-contact")
    assert links_of(h, ann) == sorted([("Contact", first), ("Lead", links_of(h, ann)[1][1])])
    lead = dict(links_of(h, ann))["Lead"]
    second = convert(h, lead, validate=False)  # entered before the duplicate rule existed

    report = h.run("crm-person")

    assert (report.status, report.message) == ("success", None)
    assert links_of(h, ann) == [("Contact", first)]
    with Session(h.engine) as session:
        [audit] = session.exec(select(Audit).where(Audit.action.startswith("link.converted")))
    assert audit.action == "link.converted.dropped"
    assert audit.detail["linked_already"] == f"Contact {first}"
    assert h.run("crm-contact").status == "partial"
    [duplicate] = h.errors("open")
    assert (duplicate.code, duplicate.remote_id) == ("DUPLICATE_REMOTE_RECORD", second)
