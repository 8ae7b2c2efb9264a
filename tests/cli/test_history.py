"""``syncline history EMAIL|HUB_ID [--field F] [--json]``: why a value is what it is."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from core.models import Person
from tests.cli.conftest import Invoke
from tests.cli.helpers import crm, database_dump, error_lines


def add(engine: Engine, person: Person) -> str:
    with Session(engine) as db:
        db.add(person)
        db.commit()
        return person.id


def synced_twice(syncline: Invoke, engine: Engine) -> tuple[str, str]:
    """Ann created in the CRM by one sync; her Company edited there and pulled by a second."""
    ann = add(engine, Person(email="ann@example.com", last_name="Ng", company="Acme"))
    assert syncline("sync").exit_code == 0
    [lead] = crm().all("Lead")
    crm().update("Lead", lead["Id"], {"Company": "Newco <b>Group</b>"})
    assert syncline("sync").exit_code == 0
    return ann, lead["Id"]


def test_history_lists_changes_newest_first_with_mapping_run_and_rule(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    ann, _ = synced_twice(syncline, ready)

    result = syncline("history", "Ann@Example.com")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"person {ann} ann@example.com"
    newest = lines[1]
    change = "  company  'Acme' → 'Newco <b>Group</b>'  from crm Company (lead)  run 2: "
    assert " UTC" + change in newest
    assert newest.endswith("lead's rule two_way: only crm changed since the last sync")
    created = lines[2:]
    assert len(created) == 3 and all("from the hub to" in line for line in created)
    assert all("run 1: lead: a new Lead in crm" in line for line in created)
    assert {line.split("  ")[2] for line in created} == {"company", "email", "last_name"}


def test_history_of_one_field_by_hub_id_and_as_json(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    ann, _ = synced_twice(syncline, ready)

    text = syncline("history", ann, "--field", "company")
    rows = syncline("history", ann, "--field", "company", "--json")

    assert text.exit_code == 0 and rows.exit_code == 0, text.output + rows.output
    assert len(text.output.splitlines()) == 3  # the heading, the pull, the create
    newest, created = (json.loads(line) for line in rows.output.splitlines())
    assert {k: newest[k] for k in ("hub_id", "field", "remote_field", "old", "new", "source",
                                   "direction", "mapping", "run_id")} == {
        "hub_id": ann, "field": "company", "remote_field": "Company", "old": "Acme",
        "new": "Newco <b>Group</b>", "source": "crm", "direction": "to_hub", "mapping": "lead",
        "run_id": 2}
    assert newest["reason"] == "lead's rule two_way: only crm changed since the last sync"
    assert (created["old"], created["new"], created["direction"]) == (None, "Acme", "to_remote")


def test_a_person_without_changes_says_so(syncline: Invoke, project: Path, ready: Engine) -> None:
    ann = add(ready, Person(email="ann@example.com", last_name="Ng"))
    result = syncline("history", "ann@example.com")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"person {ann} ann@example.com",
        "  no changes recorded (the history keeps the retention period's days)",
    ]


def test_an_unknown_person_or_field_is_bad_input_and_writes_nothing(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    add(ready, Person(email="ann@example.com", last_name="Ng"))
    before = database_dump(ready)

    nobody = syncline("history", "bob@example.com")
    no_field = syncline("history", "ann@example.com", "--field", "compnay")

    assert nobody.exit_code == 2 and no_field.exit_code == 2
    assert error_lines(nobody) == ["error: history: no person with email 'bob@example.com'"]
    [message] = error_lines(no_field)
    assert message.startswith("error: history --field: person has no field 'compnay' (fields: ")
    assert "company" in message
    assert database_dump(ready) == before
