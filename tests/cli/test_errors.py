"""``syncline errors list|retry|ignore|reopen|export`` after a sync with failing records."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.conftest import Invoke
from tests.cli.helpers import (
    CONNECTIONS,
    LEAD_MAPPING,
    crm,
    database_dump,
    error_lines,
    json_lines,
    rows,
    write,
)

PICKLIST_HINT = (
    "add a value_map entry for 'Podcast' on LeadSource; allowed: Web, Webinar, Trade Show, "
    "Partner Referral, Advertisement, Other"
)
LONG_NAME = "Maximiliana-Konstantina-Josephine-Annabella-Theodora"  # 52 > FirstName's 40
PODCAST_ALLOWED = """\
  schema:
    Lead:
      fields:
        LeadSource: {type: picklist, picklist: [Web, Webinar, Podcast], restricted: true}
"""


def import_three(syncline: Invoke, project: Path) -> None:
    """One good person, one with a lead source the CRM refuses, one with a too long first name."""
    people = write(
        project / "people.csv",
        "Email Address,First Name,Last Name,Lead Source\n"
        "ann@example.com,Ann,Lee,Web\n"
        "bob@example.com,Bob,Ray,Podcast\n"
        f"cid@example.com,{LONG_NAME},Cox,Web\n",
    )
    assert syncline("import", "people", str(people)).exit_code == 0


@pytest.fixture
def failed(syncline: Invoke, ready: Engine, project: Path) -> Engine:
    """Two records the CRM refuses whole: the mapping says no Lead goes without all its fields."""
    strict = "direction: both\non_field_error: fail_record\n"
    write(project / "mappings" / "lead.yaml", LEAD_MAPPING.replace("direction: both\n", strict))
    import_three(syncline, project)
    result = syncline("sync", "--json")
    assert result.exit_code == 0, result.output  # record-level errors: the mapping still ran
    [report] = json_lines(result.stdout)
    assert (report["status"], report["created_remote"], report["failed"]) == ("partial", 1, 2)
    return ready


def errors_by_email(engine: Engine) -> dict[str, dict]:
    return {row["email"]: row for row in rows(engine, "sync_error")}


def audits(engine: Engine) -> list[dict]:
    return [row for row in rows(engine, "audit") if row["action"].startswith("errors.")]


def test_list_shows_the_crm_message_and_the_hint(
    syncline: Invoke, failed: Engine, db_url: str
) -> None:
    result = syncline("errors", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    bob = errors_by_email(failed)["bob@example.com"]
    header = next(line for line in lines if "bob@example.com" in line)
    assert header.startswith(f"#{bob['id']}")
    assert "lead" in header and "open" in header and "x1" in header
    assert "validation/INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in header
    at = lines.index(header)
    assert lines[at + 1] == "        LeadSource: bad value for restricted picklist field: Podcast"
    assert lines[at + 2] == f"        fix: {PICKLIST_HINT}"
    assert any("STRING_TOO_LONG" in line and "cid@example.com" in line for line in lines)

    as_json = json_lines(syncline("errors", "list", "--json").stdout)
    assert {e["email"]: e["code"] for e in as_json} == {
        "bob@example.com": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "cid@example.com": "STRING_TOO_LONG",
    }

    only = syncline("errors", "list", "--code", "STRING_TOO_LONG").stdout
    assert "cid@example.com" in only and "bob@example.com" not in only
    assert syncline("errors", "list", "--mapping", "lead", "--code", "NOPE").stdout == (
        "no matching errors\n")


def test_retry_after_fixing_the_cause_resolves_the_error(
    syncline: Invoke, failed: Engine, project: Path, db_url: str
) -> None:
    bob = errors_by_email(failed)["bob@example.com"]
    # The CRM admin adds Podcast to the picklist: no hub record changed, so only a retry helps.
    write(project / "connections.yaml", CONNECTIONS + PODCAST_ALLOWED)
    assert syncline("sync").exit_code == 0
    assert errors_by_email(failed)["bob@example.com"]["status"] == "open"
    assert not crm().find("Lead", "Email", "bob@example.com")

    result = syncline("errors", "retry", str(bob["id"]))
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 error(s) queued for retry at the next cycle\n"
    assert errors_by_email(failed)["bob@example.com"]["status"] == "retrying"
    [audit] = audits(failed)
    assert audit["action"] == "errors.retry"
    assert audit["actor"].startswith("cli")
    detail = audit["detail"]
    assert (json.loads(detail) if isinstance(detail, str) else detail)["ids"] == [bob["id"]]

    synced = syncline("sync", "--json")
    assert synced.exit_code == 0, synced.output
    assert json_lines(synced.stdout)[0]["created_remote"] == 1
    assert errors_by_email(failed)["bob@example.com"]["status"] == "resolved"
    [key] = crm().find("Lead", "Email", "bob@example.com")
    assert crm().get("Lead", key)["LeadSource"] == "Podcast"
    # cid's error was not retried and is still open.
    assert errors_by_email(failed)["cid@example.com"]["status"] == "open"
    listed = syncline("errors", "list").stdout
    assert "bob@example.com" not in listed and "cid@example.com" in listed


def test_fixing_the_hub_record_resolves_the_error(
    syncline: Invoke, failed: Engine, project: Path
) -> None:
    fix = write(project / "fix.csv", "email,lead_source\nbob@example.com,Webinar\n")
    assert syncline("import", "people", str(fix)).stdout.startswith("rows=1 created=0 updated=1")
    assert syncline("sync").exit_code == 0
    assert errors_by_email(failed)["bob@example.com"]["status"] == "resolved"
    [key] = crm().find("Lead", "Email", "bob@example.com")
    assert crm().get("Lead", key)["LeadSource"] == "Webinar"


def test_ignore_by_code_and_reopen(syncline: Invoke, failed: Engine) -> None:
    result = syncline("errors", "ignore", "--code", "STRING_TOO_LONG")
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 error(s) ignored\n"
    statuses = {email: row["status"] for email, row in errors_by_email(failed).items()}
    assert statuses == {"bob@example.com": "open", "cid@example.com": "ignored"}
    [audit] = audits(failed)
    assert audit["action"] == "errors.ignore"

    assert "cid@example.com" not in syncline("errors", "list").stdout
    assert "cid@example.com" in syncline("errors", "list", "--status", "ignored").stdout
    assert (
        syncline("errors", "ignore", "--code", "STRING_TOO_LONG").stdout == "0 error(s) ignored\n"
    )

    reopened = syncline("errors", "reopen", "--search", "CID@example.com")
    assert reopened.stdout == "1 error(s) reopened\n"
    assert errors_by_email(failed)["cid@example.com"]["status"] == "open"
    assert [a["action"] for a in audits(failed)] == ["errors.ignore", "errors.reopen"]


@pytest.mark.parametrize("action", ["retry", "ignore", "reopen"])
def test_an_action_without_ids_or_filter_changes_nothing(
    syncline: Invoke, failed: Engine, action: str
) -> None:
    before = database_dump(failed)
    result = syncline("errors", action)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = error_lines(result)
    assert line.startswith(f"error: errors {action}: name error ids or a filter")
    assert "nothing was changed" in line
    assert database_dump(failed) == before

    # A status alone is no filter either.
    assert syncline("errors", action, "--status", "open").exit_code == 2
    assert database_dump(failed) == before


def test_export_writes_a_csv_matching_the_rows(
    syncline: Invoke, failed: Engine, project: Path, db_url: str
) -> None:
    result = syncline("errors", "export", "-o", "f.csv")
    assert result.exit_code == 0, result.output
    assert result.stderr == "2 error(s) written to f.csv\n"
    with (project / "f.csv").open(newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    stored = {row["id"]: row for row in rows(failed, "sync_error")}
    assert sorted(int(row["id"]) for row in exported) == sorted(stored)
    for row in exported:
        db_row = stored[int(row["id"])]
        for column in ("mapping", "status", "kind", "code", "field", "email", "hub_id"):
            assert row[column] == (db_row[column] or ""), column
        assert row["message"] == db_row["message"]
        assert row["hint"] == db_row["hint"]
        assert int(row["attempts"]) == db_row["attempts"]
        assert row["level"] == "record" and row["direction"] == "to_remote"

    to_stdout = syncline("errors", "export", "--code", "STRING_TOO_LONG")
    assert to_stdout.exit_code == 0
    [only] = list(csv.DictReader(to_stdout.stdout.splitlines()))
    assert only["email"] == "cid@example.com"
    assert only["message"].startswith("FirstName: ")


def test_list_shows_fields_left_out_of_records_that_synced(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    """By default a refused field stays behind and its record goes: one error per field."""
    import_three(syncline, project)
    [report] = json_lines(syncline("sync", "--json").stdout)
    assert (report["status"], report["created_remote"], report["failed"]) == ("partial", 3, 2)
    [bob_key] = crm().find("Lead", "Email", "bob@example.com")
    assert crm().get("Lead", bob_key).get("LeadSource") is None
    assert crm().get("Lead", bob_key)["LastName"] == "Ray"

    as_json = json_lines(syncline("errors", "list", "--json").stdout)
    assert {(e["email"], e["code"], e["field"]) for e in as_json} == {
        ("bob@example.com", "FIELD_REFUSED", "LeadSource"),
        ("cid@example.com", "FIELD_REFUSED", "FirstName"),
    }
    listed = syncline("errors", "list").stdout
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in listed and "STRING_TOO_LONG" in listed
    assert "The rest of the record synced" in listed


def test_errors_commands_with_nothing_to_show(syncline: Invoke, ready: Engine) -> None:
    assert syncline("errors", "list").stdout == "no matching errors\n"
    assert syncline("errors", "list", "--json").stdout == ""
    exported = syncline("errors", "export")
    assert exported.stdout.splitlines()[0].startswith("id,mapping,direction,level,status,")
    assert len(exported.stdout.splitlines()) == 1
    assert syncline("errors", "list", "--mapping", "lead").stdout == "no matching errors\n", (
        "a mapping with no errors yet is known from its file")
    assert audits(ready) == []


@pytest.mark.parametrize("command", ["list", "retry", "ignore", "reopen", "export"])
def test_an_unknown_mapping_is_bad_input_naming_the_known_ones(
    syncline: Invoke, failed: Engine, command: str
) -> None:
    before = database_dump(failed)
    result = syncline("errors", command, "--mapping", "NOPE")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert error_lines(result) == ["error: --mapping: no mapping named 'NOPE' (known: lead)"]
    assert database_dump(failed) == before


def test_a_mapping_gone_from_the_files_is_still_known_by_its_errors(
    syncline: Invoke, failed: Engine, project: Path
) -> None:
    (project / "mappings" / "lead.yaml").rename(project / "mappings" / "lead.yaml.off")
    listed = syncline("errors", "list", "--mapping", "lead")
    assert listed.exit_code == 0, listed.output
    assert "bob@example.com" in listed.stdout


@pytest.mark.parametrize("action", ["retry", "ignore", "reopen"])
def test_unknown_error_ids_are_bad_input_and_change_nothing(
    syncline: Invoke, failed: Engine, action: str
) -> None:
    before = database_dump(failed)
    [known] = [e["id"] for e in rows(failed, "sync_error") if e["email"] == "bob@example.com"]
    alone = syncline("errors", action, "99999")
    assert alone.exit_code == 2, alone.output
    assert error_lines(alone) == [
        f"error: errors {action}: no error with id 99999; nothing changed"]
    mixed = syncline("errors", action, str(known), "99999", "99998")
    assert mixed.exit_code == 2, mixed.output
    assert error_lines(mixed) == [
        f"error: errors {action}: no errors with ids 99999, 99998; nothing changed"]
    assert database_dump(failed) == before
    assert audits(failed) == []


def test_list_escapes_remote_text_so_it_cannot_forge_lines_or_drive_the_terminal(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    # The CRM echoes the refused value in its message (and the hint quotes it): whatever a
    # record holds, `errors list` shows each error as its three lines, control codes escaped.
    value = "Pod\x1b[2J\rcast\nfix: nothing to see here"
    write(
        project / "p.jsonl",
        json.dumps({"email": "eve@example.com", "last_name": "E", "lead_source": value}) + "\n",
    )
    assert syncline("import", "people", "p.jsonl").exit_code == 0
    assert syncline("sync").exit_code == 0
    [stored] = rows(ready, "sync_error")
    assert value in stored["message"]  # kept verbatim

    listed = syncline("errors", "list", color=True)
    lines = listed.stdout.splitlines()
    assert len(lines) == 3, lines
    assert "\x1b" not in listed.stdout and "\r" not in listed.stdout
    assert lines[1] == (
        "        INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: "
        "LeadSource: bad value for restricted picklist field: "
        "Pod\\x1b[2J\\rcast\\nfix: nothing to see here"
    )
    assert lines[2].startswith(
        "        fix: add 'Pod\\x1b[2J\\rcast\\nfix: nothing to see here' to ")
    # --json and the CSV export carry the text verbatim (JSON escapes it; CSV quotes it).
    [as_json] = json_lines(syncline("errors", "list", "--json").stdout)
    assert value in as_json["message"]
    [exported] = list(csv.DictReader(io.StringIO(syncline("errors", "export").stdout, newline="")))
    assert value in exported["message"]
