"""Secrets from ``${VAR}`` never reach stdout, stderr, log lines or stored errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.conftest import Invoke
from tests.cli.helpers import CONNECTIONS, database_dump, json_lines, rows, write

SECRET = "supersecretvalue"


@pytest.fixture
def keyed(
    syncline: Invoke, ready: Engine, project: Path, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    monkeypatch.setenv("DEMO_KEY", SECRET)
    write(project / "connections.yaml", CONNECTIONS + "  api_key: ${DEMO_KEY}\n")
    people = write(project / "people.csv", "email,last_name\nann@example.com,Lee\n")
    assert syncline("import", "people", str(people)).exit_code == 0
    return ready


def set_store_key(project: Path, key: str) -> None:
    store = {"format": 1, "seq": 0, "api_key": key, "objects": {}}
    write(project / "crm.json", json.dumps(store))


def test_failed_auth_shows_no_secret_anywhere(
    syncline: Invoke, keyed: Engine, project: Path, db_url: str
) -> None:
    set_store_key(project, "the-key-the-crm-expects")
    outputs, results = [], []
    for args, exit_code in (
        (("--log-level", "INFO", "sync"), 1),
        (("--log-level", "DEBUG", "sync", "--json"), 1),
        (("--log-level", "INFO", "sync", "--dry-run"), 1),
        (("mappings", "check"), 2),
    ):
        result = syncline(*args)
        assert result.exit_code == exit_code, result.output
        outputs.append(result.stdout + result.stderr)
        results.append(result)
    sync_log = outputs[0]
    assert "event=run.failed" in sync_log and "INVALID_API_KEY" in sync_log
    assert "lead: Invalid API key" in sync_log
    assert json_lines(results[1].stdout)[0]["status"] == "failed"
    assert "event=run.started" in results[1].stderr

    listed = syncline("--log-level", "DEBUG", "errors", "list")
    assert listed.exit_code == 0
    assert "auth/INVALID_API_KEY  (job)" in listed.stdout
    assert "fix: set api_key of connection 'crm' to the key the CRM expects" in listed.stdout
    outputs.append(listed.stdout + listed.stderr)
    outputs.append(syncline("errors", "list", "--json").stdout)
    outputs.append(syncline("errors", "export").stdout)

    for output in outputs:
        assert SECRET not in output
    [error] = rows(keyed, "sync_error")
    assert error["kind"] == "auth"
    assert SECRET not in repr(database_dump(keyed))


def test_successful_sync_logs_no_secret(syncline: Invoke, keyed: Engine, project: Path) -> None:
    set_store_key(project, SECRET)
    result = syncline("--log-level", "DEBUG", "sync")
    assert result.exit_code == 0, result.output
    assert "event=run.finished" in result.stderr
    assert SECRET not in result.output
    assert SECRET not in repr(database_dump(keyed))


def test_bad_input_next_to_a_secret_does_not_echo_it(
    syncline: Invoke, keyed: Engine, project: Path
) -> None:
    write(
        project / "connections.yaml",
        CONNECTIONS + "  api_key: ${DEMO_KEY}\n  colour: ${DEMO_KEY}\n",
    )
    result = syncline("sync")
    assert result.exit_code == 2
    assert "crm.colour: unknown key 'colour'" in result.stderr
    assert SECRET not in result.output
