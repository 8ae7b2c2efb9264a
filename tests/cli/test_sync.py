"""``syncline sync``: JSON lines, choosing mappings, dry runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cli import sync as cli_sync
from jobs.report import JSON_KEYS
from tests.cli.conftest import Invoke
from tests.cli.helpers import (
    CONNECTIONS,
    CONTACT_MAPPING,
    count,
    crm,
    database_dump,
    error_lines,
    files,
    json_lines,
    rows,
    write,
)

KEYS = [
    "mapping",
    "status",
    "read",
    "created_hub",
    "updated_hub",
    "created_remote",
    "updated_remote",
    "deleted",
    "skipped",
    "failed",
    "api_calls",
]
WRITES = ("created_hub", "updated_hub", "created_remote", "updated_remote")


def import_people(syncline: Invoke, folder: Path, content: str, name: str = "people.csv") -> None:
    result = syncline("import", "people", str(write(folder / name, content)))
    assert result.exit_code == 0, result.output


def test_documented_json_keys_are_the_contract() -> None:
    assert list(JSON_KEYS) == KEYS


def test_sync_json_reports_each_mapping_and_a_second_sync_writes_nothing(
    syncline: Invoke, ready: Engine, project: Path, db_url: str
) -> None:
    import_people(
        syncline,
        project,
        "email,first_name,last_name,company\n"
        "ann@example.com,Ann,Lee,Acme\n"
        "bob@example.com,Bob,Ray,Initech\n",
    )
    crm().create("Lead", {"Email": "carol@example.com", "LastName": "Cole", "Company": "Globex"})

    result = syncline("sync", "--json")
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    [report] = json_lines(line)
    assert list(report)[: len(KEYS)] == KEYS
    assert report["mapping"] == "lead"
    assert report["status"] == "success"
    assert report["read"] == 1
    assert (report["created_hub"], report["created_remote"]) == (1, 2)
    assert report["failed"] == 0
    assert report["api_calls"] > 0

    # The records really landed: Leads in the store file, Carol in the hub, three links, a run.
    leads = {lead["Email"]: lead for lead in crm().all("Lead")}
    assert set(leads) == {"ann@example.com", "bob@example.com", "carol@example.com"}
    assert leads["ann@example.com"]["Company"] == "Acme"
    assert "ann@example.com" in (project / "crm.json").read_text(encoding="utf-8")
    people = {p["email"]: p for p in rows(ready, "person")}
    assert people["carol@example.com"]["last_name"] == "Cole"
    assert count(ready, "link") == 3
    [run] = rows(ready, "sync_run")
    assert run["mapping"] == "lead" and run["status"] == "success"

    again = syncline("sync", "--json")
    assert again.exit_code == 0, again.output
    [second] = json_lines(again.stdout)
    assert list(second)[: len(KEYS)] == KEYS
    assert {key: second[key] for key in WRITES} == dict.fromkeys(WRITES, 0)
    assert second["failed"] == 0
    assert count(ready, "person") == 3
    assert crm().count("Lead") == 3


def test_sync_without_json_prints_a_summary_table(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    import_people(syncline, project, "email,last_name\nann@example.com,Lee\n")
    result = syncline("sync")
    assert result.exit_code == 0, result.output
    header, line = result.stdout.splitlines()
    assert header.split()[:3] == ["mapping", "status", "read"]
    assert line.split()[:2] == ["lead", "success"]
    assert line.split()[5] == "1"  # +remote


def test_sync_runs_only_the_named_mapping(syncline: Invoke, ready: Engine, project: Path) -> None:
    write(project / "mappings" / "contact.yaml", CONTACT_MAPPING)
    import_people(syncline, project, "email,last_name\nann@example.com,Lee\n")

    result = syncline("sync", "contact", "--json")
    assert result.exit_code == 0, result.output
    [report] = json_lines(result.stdout)
    assert report["mapping"] == "contact"
    assert report["created_remote"] == 1
    assert [run["mapping"] for run in rows(ready, "sync_run")] == ["contact"]
    assert crm().count("Contact") == 1
    assert crm().count("Lead") == 0

    both = syncline("sync", "--json")
    assert sorted(r["mapping"] for r in json_lines(both.stdout)) == ["contact", "lead"]


def test_sync_of_an_unknown_mapping_is_one_error_line(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    import_people(syncline, project, "email,last_name\nann@example.com,Lee\n")
    result = syncline("sync", "lead", "nope", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = error_lines(result)
    assert line.startswith("error: ")
    assert "'nope'" in line and "lead" in line
    assert count(ready, "sync_run") == 0
    assert not (project / "crm.json").exists()


def test_dry_run_prints_the_plan_and_writes_nothing(
    syncline: Invoke, ready: Engine, project: Path, db_url: str
) -> None:
    import_people(
        syncline,
        project,
        "email,first_name,last_name\nann@example.com,Ann,Lee\nbob@example.com,Bob,Ray\n",
    )
    carol = crm().create("Lead", {"Email": "carol@example.com", "LastName": "Cole", "Company": "G"})
    assert syncline("sync").exit_code == 0
    # Then: a hub edit, a CRM edit, a new hub person.
    import_people(
        syncline,
        project,
        "email,first_name\nann@example.com,Annie\ndave@example.com,Dave\n",
        "more.csv",
    )
    crm().update("Lead", carol, {"FirstName": "Caroline"})
    before_db, before_files = database_dump(ready), files(project)

    result = syncline("sync", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "lead (dry run, nothing written)" in out
    plan = [line.split() for line in out.splitlines() if line.startswith("  to_")]
    assert ["to_remote", "create", "dave@example.com"] in [p[:3] for p in plan]
    assert ["to_remote", "update", "ann@example.com"] in [p[:3] for p in plan]
    assert ["to_hub", "update", "carol@example.com"] in [p[:3] for p in plan]
    assert "FirstName: 'Ann' → 'Annie'" in out
    assert "first_name: None → 'Caroline'" in out
    assert "write call(s) planned" in out and "API calls: " in out
    assert database_dump(ready) == before_db
    assert files(project) == before_files

    as_json = syncline("sync", "--dry-run", "--json")
    assert as_json.exit_code == 0, as_json.output
    [report] = json_lines(as_json.stdout)
    assert list(report)[: len(KEYS)] == KEYS
    assert report["dry_run"] is True
    assert report["run_id"] is None
    assert report["planned_write_calls"] >= 1
    planned = {(p["direction"], p["action"], p["email"]) for p in report["planned"]}
    assert {
        ("to_remote", "create", "dave@example.com"),
        ("to_remote", "update", "ann@example.com"),
        ("to_hub", "update", "carol@example.com"),
    } <= planned
    assert (report["created_remote"], report["updated_remote"], report["updated_hub"]) == (1, 1, 1)
    assert database_dump(ready) == before_db
    assert files(project) == before_files

    # The real run does what was planned.
    done = json_lines(syncline("sync", "--json").stdout)[0]
    assert (done["created_remote"], done["updated_remote"], done["updated_hub"]) == (1, 1, 1)


def test_dry_run_on_a_fresh_project_creates_no_store_file(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    import_people(syncline, project, "email,last_name\nann@example.com,Lee\n")
    before = database_dump(ready)
    result = syncline("sync", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json_lines(result.stdout)[0]["created_remote"] == 1
    assert database_dump(ready) == before
    assert not (project / "crm.json").exists()


def test_a_failing_dry_run_records_no_run_and_no_error(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    import_people(syncline, project, "email,last_name\nann@example.com,Lee\n")
    write(project / "connections.yaml", CONNECTIONS + "  api_key: wrong\n")
    write(project / "crm.json", '{"format": 1, "seq": 0, "api_key": "right", "objects": {}}')
    before_db, before_files = database_dump(ready), files(project)
    result = syncline("sync", "--dry-run", "--json")
    assert result.exit_code == 1
    [report] = json_lines(result.stdout)
    assert report["status"] == "failed"
    assert report["message"] == "Invalid API key"
    assert database_dump(ready) == before_db
    assert files(project) == before_files

    real = syncline("sync")
    assert real.exit_code == 1
    assert real.stderr == "lead: Invalid API key\n"
    assert [run["status"] for run in rows(ready, "sync_run")] == ["failed"]
    assert count(ready, "sync_error") == 1


def test_a_disabled_mapping_runs_only_when_named_and_then_says_so(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    write(project / "mappings" / "contact.yaml", CONTACT_MAPPING + "enabled: false\n")
    import_people(syncline, project, "email,last_name\nann@example.com,Lee\n")
    every = syncline("sync", "--json")
    assert [r["mapping"] for r in json_lines(every.stdout)] == ["lead"]

    named = syncline("sync", "contact", "--json")
    assert named.exit_code == 0, named.output
    [report] = json_lines(named.stdout)
    assert (report["status"], report["message"]) == (
        "disabled",
        "mapping is disabled (enabled: false)",
    )
    assert crm().count("Contact") == 0
    assert [run["mapping"] for run in rows(ready, "sync_run")] == ["lead"]


def test_a_dry_run_whose_snapshot_went_stale_starts_over_then_says_so_in_one_line(
    syncline: Invoke, ready: Engine, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite refuses a dry run's first write when a scheduler committed since it began."""
    import_people(syncline, project, "email,first_name,last_name\nann@example.com,Ann,Lee\n")
    real, attempts = cli_sync.run_all, []

    def busy_then_real(*args: Any, busy: int, **kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) <= busy:
            raise OperationalError("UPDATE sync_error ...", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(cli_sync, "run_all", lambda *a, **k: busy_then_real(*a, busy=2, **k))
    retried = syncline("sync", "--dry-run")
    assert retried.exit_code == 0, retried.output
    assert len(attempts) == 3 and "lead (dry run, nothing written)" in retried.stdout

    attempts.clear()
    monkeypatch.setattr(cli_sync, "run_all", lambda *a, **k: busy_then_real(*a, busy=9, **k))
    busy = syncline("sync", "--dry-run")
    assert busy.exit_code == 2
    assert error_lines(busy) == [
        "error: sync --dry-run: the database stayed busy with other syncs (3 tries); try again, "
        "or stop the scheduler"]
    assert "Traceback" not in busy.output
