"""Field history: every value the engine changes is journaled with the rule that decided it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors.memory.store import MemoryStore
from core.field_history import history_of, line
from core.models import FieldHistory
from tests.jobs.harness import Harness, mapping


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path)


def history(h: Harness, hub_id: str, field: str | None = None) -> list[FieldHistory]:
    """The record's rows, oldest first (as written)."""
    with Session(h.engine, expire_on_commit=False) as session:
        query = select(FieldHistory).where(FieldHistory.hub_id == hub_id)
        if field:
            query = query.where(FieldHistory.field == field)
        return list(session.exec(query.order_by(col(FieldHistory.id))))


def summary(rows: list[FieldHistory]) -> list[tuple[object, ...]]:
    return [(r.field, r.direction, r.source, r.old, r.new, r.mapping) for r in rows]


def test_a_pull_and_a_push_journal_each_changed_value_with_its_rule(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme", title="Manager")
    first = h.run()
    key = h.link_of(ann).remote_id
    created = history(h, ann)
    assert {(r.field, r.direction, r.new) for r in created} == {
        ("email", "to_remote", "ann@acme.com"),
        ("last_name", "to_remote", "Lee"),
        ("company", "to_remote", "Acme"),
        ("title", "to_remote", "Manager"),
    }
    assert all(r.run_id == first.run_id and r.source == "hub" for r in created)
    assert all(r.reason == "crm-person: a new Lead in crm" for r in created)

    h.crm.update("Lead", key, {"Company": "Acme Corp"})
    pulled = h.run()
    [row] = history(h, ann)[len(created):]
    assert summary([row]) == [("company", "to_hub", "crm", "Acme", "Acme Corp", "crm-person")]
    assert (row.remote_field, row.run_id) == ("Company", pulled.run_id)
    assert row.reason == "crm-person's rule two_way: only crm changed since the last sync"

    h.edit_person(ann, title="VP Marketing")
    h.run()
    [row] = history(h, ann)[len(created) + 1:]
    assert summary([row]) == [
        ("title", "to_remote", "hub", "Manager", "VP Marketing", "crm-person")
    ]
    assert row.reason == "crm-person's rule two_way: only the hub changed since the last sync"

    before = len(history(h, ann))
    assert h.run().writes == 0
    assert len(history(h, ann)) == before, "an idle cycle journals nothing"


def test_a_remote_change_the_rule_refuses_is_journaled_as_kept(h: Harness) -> None:
    h.set_mappings(mapping(rules={"title": "to_remote"}))
    ann = h.add_person(email="ann@acme.com", last_name="Lee", title="Manager")
    h.run()
    key = h.link_of(ann).remote_id

    h.crm.update("Lead", key, {"Title": "Intern"})
    h.run()

    assert h.person(ann).title == "Manager" and h.lead(key)["Title"] == "Manager"
    kept, corrected = history(h, ann, "title")[-2:]
    assert summary([kept]) == [("title", "kept", "crm", "Manager", "Intern", "crm-person")]
    assert kept.reason == "crm-person's rule to_remote: the hub's value goes to crm"
    assert "kept 'Manager'; crm said 'Intern'" in line(kept)
    assert summary([corrected]) == [
        ("title", "to_remote", "hub", "Intern", "Manager", "crm-person")
    ]


def test_a_person_created_from_the_crm_journals_its_values(h: Harness) -> None:
    h.crm.create("Lead", {"Email": "bo@beta.io", "LastName": "Ng", "Company": "Beta"})
    run = h.run()
    bo = h.person_by_email("bo@beta.io").id
    assert sorted(summary(history(h, bo))) == [
        ("company", "to_hub", "crm", None, "Beta", "crm-person"),
        ("email", "to_hub", "crm", None, "bo@beta.io", "crm-person"),
        ("last_name", "to_hub", "crm", None, "Ng", "crm-person"),
    ]
    assert {(r.reason, r.run_id) for r in history(h, bo)} == {
        ("crm-person: a new person from crm", run.run_id)}


def test_a_dry_run_journals_nothing(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.run(dry_run=True)
    assert history(h, ann) == []
    h.run()
    assert len(history(h, ann)) == 3


def test_a_conflict_held_for_an_edit_is_journaled_as_kept(h: Harness) -> None:
    h.set_mappings(mapping(conflicts="manual"))
    ann = h.add_person(email="ann@acme.com", last_name="Lee", title="Base")
    h.run()
    key = h.link_of(ann).remote_id
    h.edit_person(ann, title="Hub")
    h.crm.update("Lead", key, {"Title": "Remote"})
    h.run()

    [kept] = [r for r in history(h, ann, "title") if r.direction == "kept"]
    assert (kept.old, kept.new, kept.source) == ("Hub", "Remote", "crm")
    assert kept.reason == (
        "crm-person: both sides changed since the last sync; conflicts: manual, held until an "
        "edit decides"
    )


def test_a_push_journals_only_the_values_the_remote_accepted(h: Harness) -> None:
    data = mapping()
    data["fields"].append({"hub": "lead_source", "remote": "LeadSource"})
    h.set_mappings(data)
    ann = h.add_person(email="ann@acme.com", last_name="Lee")
    h.run()
    done = len(history(h, ann))

    # The picklist refuses one field; the other goes through in the same write.
    h.edit_person(ann, title="CMO", lead_source="UK Roadshow")
    h.run()

    assert h.lead(h.link_of(ann).remote_id)["Title"] == "CMO"
    assert summary(history(h, ann)[done:]) == [
        ("title", "to_remote", "hub", None, "CMO", "crm-person")
    ]


TWO_LEAD_MAPPINGS = (
    mapping(name="salesforce-lead", connection="salesforce",
            rules={"company": "prefer_remote_unless_blank"}),
    mapping(name="dynamics-lead", connection="dynamics",
            rules={"company": "prefer_remote_unless_blank"}),
)


def test_two_mappings_preferring_their_own_remote_say_why_an_edit_did_not_stick(
    engine: Engine, tmp_path: Path
) -> None:
    """The issue's case: a Company edited in Dynamics is overruled by Salesforce's value."""
    h = Harness(engine, tmp_path, *TWO_LEAD_MAPPINGS,
                stores={"salesforce": MemoryStore(), "dynamics": MemoryStore()})
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.run_all()
    sf, dyn = h.stores["salesforce"], h.stores["dynamics"]
    [sf_lead], [dyn_lead] = sf.all("Lead"), dyn.all("Lead")

    dyn.update("Lead", dyn_lead["Id"], {"Company": "Newco Group"})
    h.run_all()
    sf.update("Lead", sf_lead["Id"], {"Title": "CFO"})  # Salesforce's record is read again
    runs = h.run_all()
    h.run_all()

    assert h.person(ann).company == "Acme"
    assert dyn.get("Lead", dyn_lead["Id"])["Company"] == "Newco Group"
    rows = history(h, ann, "company")[2:]  # after the two creates
    assert summary(rows) == [
        ("company", "to_hub", "dynamics", "Acme", "Newco Group", "dynamics-lead"),
        ("company", "kept", "salesforce", "Newco Group", "Acme", "salesforce-lead"),
        ("company", "to_hub", "salesforce", "Newco Group", "Acme", "salesforce-lead"),
        ("company", "kept", "dynamics", "Acme", "Newco Group", "dynamics-lead"),
    ], [line(r) for r in rows]
    why = rows[-1]
    run = next(r.run_id for r in runs if r.mapping == "salesforce-lead")
    assert why.reason == (
        "dynamics-lead's rule prefer_remote_unless_blank: dynamics holds a value, so it stands; "
        "a push takes no value back from dynamics: only a change read there does; "
        f"the hub's value came from salesforce-lead in run {run} (salesforce-lead's rule "
        "prefer_remote_unless_blank: salesforce holds a value, so it stands)"
    )
    assert "company  kept 'Acme'; dynamics said 'Newco Group'" in line(why)
    with Session(h.engine) as session:
        newest_first = history_of(session, ann, "company")
    assert [r.id for r in newest_first] == [r.id for r in reversed(history(h, ann, "company"))], (
        "newest first is the order things happened, across the mappings of one run"
    )

    h.edit_person(ann, title="CEO")  # both pushes look at the record again
    h.run_all()
    assert len(history(h, ann, "company")) == 6, "a disagreement is journaled once, not per look"
    assert [r.field for r in history(h, ann)[-2:]] == ["title", "title"]


def test_a_hub_edit_two_mappings_keep_out_is_journaled_once_by_each(
    engine: Engine, tmp_path: Path
) -> None:
    h = Harness(engine, tmp_path, *TWO_LEAD_MAPPINGS,
                stores={"salesforce": MemoryStore(), "dynamics": MemoryStore()})
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.run_all()

    h.edit_person(ann, company="Acme Holdings")  # both CRMs' rules prefer their own value
    h.run_all()
    for title in ("CFO", "CEO"):  # every push looks at the record again
        h.edit_person(ann, title=title)
        h.run_all()

    kept = [r for r in history(h, ann, "company") if r.direction == "kept"]
    assert sorted((r.mapping, r.old, r.new) for r in kept) == [
        ("dynamics-lead", "Acme Holdings", "Acme"),
        ("salesforce-lead", "Acme Holdings", "Acme"),
    ]
    assert h.person(ann).company == "Acme Holdings"


def test_a_computed_field_is_journaled_by_its_remote_name(h: Harness) -> None:
    data = mapping()
    data["fields"] = [r for r in data["fields"] if r.get("hub") != "title"]
    data["fields"].append({"remote": "Title", "expr": "(company or 'n/a') ~ ' / ' ~ last_name",
                           "rule": "to_remote"})
    h.set_mappings(data)
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.run()
    key = h.link_of(ann).remote_id
    h.crm.update("Lead", key, {"Title": "edited by a rep"})
    h.run()

    assert summary(history(h, ann, "Title")) == [
        ("Title", "to_remote", "hub", None, "Acme / Lee", "crm-person"),
        ("Title", "kept", "crm", "Acme / Lee", "edited by a rep", "crm-person"),
        ("Title", "to_remote", "hub", "edited by a rep", "Acme / Lee", "crm-person"),
    ]
