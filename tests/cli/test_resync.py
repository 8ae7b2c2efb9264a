"""``syncline sync NAME --resync [--fields a,b] [--since DATE]``: a backfill on demand."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from tests.cli.conftest import Invoke
from tests.cli.helpers import LEAD_MAPPING, count, crm, error_lines, rows, write


def _leads(syncline: Invoke, project: Path) -> None:
    """Three people made Leads. Cat comes last: the pull's inclusive cursor reads her again
    every cycle, so the tests change only Ann and Bob, whom only a backfill reaches."""
    people = write(project / "people.csv",
                   "email,first_name,last_name,company\n"
                   "ann@example.com,Ann,Lee,Acme\nbob@example.com,Bob,Ray,Initech\n"
                   "cat@example.com,Cat,Po,Umbrella\n")
    assert syncline("import", "people", str(people)).exit_code == 0
    first = syncline("sync")
    assert first.exit_code == 0, first.output
    assert crm().count("Lead") == 3


def _drift(hub: Engine, email: str, **values: str) -> None:
    """Change a hub row behind the engine's back (a restore, a script): no change_seq moves."""
    sets = ", ".join(f"{name} = :{name}" for name in values)
    with hub.begin() as connection:
        connection.execute(text(f"UPDATE person SET {sets} WHERE email = :email"),
                           {**values, "email": email})


def _first_names(project: Path) -> dict[str, str]:
    return {lead["Email"]: lead["FirstName"] for lead in crm().all("Lead")}


def test_resync_of_one_field_sends_it_to_every_linked_record(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    _leads(syncline, project)
    _drift(ready, "ann@example.com", first_name="Annie", company="Acme Ltd")
    assert syncline("sync").exit_code == 0
    assert _first_names(project)["ann@example.com"] == "Ann", "nothing the engine could see"

    result = syncline("sync", "lead", "--resync", "--fields", "first_name")

    assert result.exit_code == 0, result.output
    assert _first_names(project) == {"ann@example.com": "Annie", "bob@example.com": "Bob",
                                     "cat@example.com": "Cat"}
    companies = {lead["Email"]: lead["Company"] for lead in crm().all("Lead")}
    assert companies["ann@example.com"] == "Acme", "--fields: only FirstName went out"
    assert "lead: backfill: 3 records × fields [FirstName] done" in error_lines(result)
    [request] = rows(ready, "resync_request")
    assert request["mapping"] == "lead" and request["done_at"] is not None
    assert request["fields"] in (["FirstName"], '["FirstName"]')


def test_resync_since_a_date_leaves_older_records_alone(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    # A field that only goes out: whether a record counts as changed since the date is the
    # hub's to say (a field that pulls also takes the records the CRM changed since).
    write(project / "mappings" / "lead.yaml",
          LEAD_MAPPING + "  - {hub: title, remote: Title, rule: to_remote}\n")
    _leads(syncline, project)
    _drift(ready, "ann@example.com", title="CEO", updated_at="2020-01-01 00:00:00")
    _drift(ready, "bob@example.com", title="CFO")

    result = syncline("sync", "lead", "--resync", "--fields", "title", "--since", "2024-06-01")

    assert result.exit_code == 0, result.output
    titles = {lead["Email"]: lead.get("Title") for lead in crm().all("Lead")}
    assert titles == {"ann@example.com": None, "bob@example.com": "CFO",
                      "cat@example.com": None}


def test_a_dry_run_shows_the_backfill_and_its_cost_and_stores_no_request(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    _leads(syncline, project)
    _drift(ready, "ann@example.com", first_name="Annie")

    result = syncline("sync", "lead", "--resync", "--fields", "FirstName,last_name", "--dry-run")

    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert ("backfill: 3 records × fields [FirstName, LastName] ≈ 2 API calls — "
            "resync asked for") in lines
    assert count(ready, "resync_request") == 0
    assert _first_names(project)["ann@example.com"] == "Ann"


def test_an_unknown_field_names_the_mapping_file_and_the_valid_fields(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    result = syncline("sync", "lead", "--resync", "--fields", "first_name,shoe_size")

    assert result.exit_code == 2
    [line] = error_lines(result)
    assert "mappings/lead.yaml" in line and "'shoe_size'" in line
    assert "valid: Email (email), FirstName (first_name), LastName (last_name)" in line
    assert count(ready, "resync_request") == 0


def test_resync_needs_a_mapping_and_fields_need_resync(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    without_name = syncline("sync", "--resync")
    assert without_name.exit_code == 2
    assert "--resync needs the mapping(s) to resync" in without_name.stderr
    without_resync = syncline("sync", "lead", "--fields", "email")
    assert without_resync.exit_code == 2
    assert "--fields and --since go with --resync" in without_resync.stderr
    unknown = syncline("sync", "nope", "--resync")
    assert unknown.exit_code == 2 and "no mapping named 'nope'" in unknown.stderr
