"""``syncline explain EMAIL|HUB_ID``: the person page's verdicts on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from core.models import Account, Person
from tests.cli.conftest import Invoke
from tests.cli.helpers import LEAD_MAPPING, crm, database_dump, error_lines, write

RULE = "email and not unsubscribed and (score >= 40 or lifecycle_stage in ['MQL', 'SQL'])"


def add(engine: Engine, record: Person | Account) -> str:
    with Session(engine) as db:
        db.add(record)
        db.commit()
        return record.id


def with_rule(project: Path) -> None:
    text = LEAD_MAPPING.replace("direction: both\n", f'direction: both\nsync_rule: "{RULE}"\n')
    write(project / "mappings" / "lead.yaml", text)


def test_explain_names_the_failing_clause_with_the_values(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    with_rule(project)
    ann = add(ready, Person(email="ann@example.com", last_name="Ng", score=12,
                            lifecycle_stage="Lead"))
    result = syncline("explain", "Ann@Example.com ")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"person {ann} ann@example.com, change 1"
    assert "lead  (crm Lead, both)" in lines
    assert "  out: does not go out" in lines
    assert f"    - the sync_rule `{RULE}` is false, so it does not go out" in lines
    assert "        `score >= 40` was false: score is 12" in lines
    assert ("        `lifecycle_stage in ['MQL', 'SQL']` was false: lifecycle_stage is 'Lead'"
            in lines)
    assert "  in:  does not come in" in lines
    assert "  open errors: none" in lines
    # Worked out from the hub alone: nothing was sent to the CRM.
    assert crm().count("Lead") == 0


def test_explain_by_hub_id_after_a_sync(syncline: Invoke, project: Path, ready: Engine) -> None:
    ann = add(ready, Person(email="ann@example.com", last_name="Ng"))
    assert syncline("sync").exit_code == 0
    [lead] = crm().all("Lead")
    result = syncline("explain", ann)
    assert result.exit_code == 0, result.output
    assert "  out: goes out" in result.output
    assert f"    - linked to Lead {lead['Id']}: its changes go out as updates" in result.output
    assert "    - nothing waiting: lead has pushed up to" in result.output


def test_explain_json_is_the_same_structure(syncline: Invoke, project: Path, ready: Engine) -> None:
    with_rule(project)
    ann = add(ready, Person(email="ann@example.com", last_name="Ng", score=12))
    result = syncline("explain", "ann@example.com", "--json")
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    data = json.loads(line)
    assert (data["hub_object"], data["hub_id"], data["label"]) == ("person", ann,
                                                                    "ann@example.com")
    [lead] = data["mappings"]
    assert lead["mapping"] == "lead" and lead["out"]["verdict"] == "no"
    [reason] = lead["out"]["reasons"]
    assert reason["code"] == "sync_rule"
    assert [c["sentence"] for c in reason["clauses"]] == [
        "`score >= 40` was false: score is 12",
        "`lifecycle_stage in ['MQL', 'SQL']` was false: lifecycle_stage is blank",
    ]
    assert reason["clauses"][0]["values"] == {"score": 12}
    assert lead["pending"] == {"change_seq": 1, "push_cursor": None}


def test_explain_other_hub_objects_by_prefix(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    acme = add(ready, Account(name="Acme"))
    result = syncline("explain", f"account:{acme}")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"account {acme} Acme, change 1",
        "  no mapping syncs account records",
    ]


def test_explain_unknown_people_exit_2_naming_what_was_looked_for(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    before = database_dump(ready)
    for args, message in [
        (("nobody@example.com",), "error: explain: no person with email 'nobody@example.com'"),
        (("account:" + "0" * 32,), f"error: explain: no account with id '{'0' * 32}'"),
        (("0" * 32, "--json"),
         f"error: explain: no person with email or hub id '{'0' * 32}' (for other records: "
         "account:<id>, campaign:<id>, campaign_member:<id>, touch:<id>, opportunity:<id>, "
         "opportunity_contact_role:<id>, campaign_influence:<id>)"),
    ]:
        result = syncline("explain", *args)
        assert result.exit_code == 2, result.output
        assert error_lines(result) == [message]
        assert result.stdout == ""
    assert database_dump(ready) == before
