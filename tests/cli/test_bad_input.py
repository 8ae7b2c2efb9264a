"""Bad input: one clear ``error:`` line naming what and where, exit code 2, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.conftest import Invoke
from tests.cli.helpers import (
    CONNECTIONS,
    CONTACT_MAPPING,
    LEAD_MAPPING,
    count,
    crm,
    database_dump,
    error_lines,
    files,
    write,
)

MAPPING = Path("mappings/lead.yaml")


@pytest.fixture
def populated(syncline: Invoke, ready: Engine, project: Path) -> Iterator[Engine]:
    """A project with a hub person and a CRM Lead that no command has synced yet.

    After the test: the database and every file are exactly as before.
    """
    people = write(project / "people.csv", "email,last_name\nann@example.com,Lee\n")
    assert syncline("import", "people", str(people)).exit_code == 0
    crm().create("Lead", {"Email": "carol@example.com", "LastName": "Cole", "Company": "G"})
    before = database_dump(ready)
    store = (project / "crm.json").read_bytes()
    yield ready
    assert count(ready, "sync_run") == 0
    assert count(ready, "link") == 0
    assert database_dump(ready) == before
    assert (project / "crm.json").read_bytes() == store


def fails(result_of: Invoke, *args: str) -> list[str]:
    """Run a command that must fail on bad input; return its error lines."""
    result = result_of(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = error_lines(result)
    assert lines, "no error message"
    assert all(line.startswith("error: ") for line in lines), lines
    return lines


def edit_mapping(old: str, new: str) -> None:
    text = MAPPING.read_text(encoding="utf-8")
    assert old in text
    MAPPING.write_text(text.replace(old, new), encoding="utf-8")


COMMANDS = [("sync",), ("sync", "--dry-run"), ("sync", "lead", "--json")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_malformed_yaml_names_file_and_line(
    syncline: Invoke, populated: Engine, command: tuple[str, ...]
) -> None:
    edit_mapping("  - {hub: first_name, remote: FirstName}", "  - {hub: first_name, remote: [")
    [line] = fails(syncline, *command)
    assert line.startswith(f"error: {MAPPING}:")
    assert "not valid YAML" in line
    line_number = int(line.split(":")[2])
    assert line_number in (9, 10, 11)  # the broken row or the one after it


def test_unknown_hub_field_suggests_the_right_one(syncline: Invoke, populated: Engine) -> None:
    edit_mapping("{hub: email, remote: Email", "{hub: emial, remote: Email")
    lines = fails(syncline, "sync")
    assert (
        f"error: {MAPPING}:8 fields.emial.hub: 'emial' is not a field of hub object 'person' "
        "(did you mean 'email'?)"
    ) in lines


def test_unknown_hub_field_is_the_only_error_when_nothing_else_refers_to_it(
    syncline: Invoke, populated: Engine
) -> None:
    edit_mapping("{hub: first_name,", "{hub: frist_name,")
    [line] = fails(syncline, "sync")
    assert line.startswith(f"error: {MAPPING}:9 fields.frist_name.hub: ")
    assert "did you mean 'first_name'" in line


def test_unknown_rule_lists_the_rules(syncline: Invoke, populated: Engine) -> None:
    edit_mapping("remote: FirstName}", "remote: FirstName, rule: sideways}")
    [line] = fails(syncline, "sync")
    assert line.startswith(f"error: {MAPPING}:9 fields.first_name.rule: 'sideways' is not a rule")
    assert "two_way" in line and "hub_wins" in line


def test_mapping_naming_a_missing_connection(syncline: Invoke, populated: Engine) -> None:
    edit_mapping("connection: crm", "connection: salesforce")
    [line] = fails(syncline, "sync")
    assert line.startswith(f"error: {MAPPING}:2 connection: ")
    assert "'salesforce'" in line and "crm" in line


def test_unset_environment_variable_names_file_line_and_variable(
    syncline: Invoke, populated: Engine, project: Path
) -> None:
    write(project / "connections.yaml", CONNECTIONS + "  api_key: ${SYNCLINE_TEST_UNSET_VAR}\n")
    [line] = fails(syncline, "sync")
    assert line == (
        "error: connections.yaml:4 crm.api_key: "
        "environment variable SYNCLINE_TEST_UNSET_VAR is not set"
    )


def test_missing_connections_file(syncline: Invoke, populated: Engine, project: Path) -> None:
    (project / "connections.yaml").unlink()
    [line] = fails(syncline, "sync")
    assert line.startswith("error: connections.yaml: file not found")
    assert "--config" in line

    [line] = fails(syncline, "--config", "elsewhere.yaml", "sync")
    assert line == "error: elsewhere.yaml: file not found"


def test_missing_mappings_directory(syncline: Invoke, populated: Engine) -> None:
    [line] = fails(syncline, "--mappings", "nowhere", "sync")
    assert line == "error: nowhere: mappings directory not found"


def test_unknown_connector_type(syncline: Invoke, populated: Engine, project: Path) -> None:
    write(project / "connections.yaml", CONNECTIONS.replace("type: memory", "type: hubspotty"))
    [line] = fails(syncline, "sync")
    assert line.startswith("error: connections.yaml:2 crm.type: unknown connector type 'hubspotty'")


@pytest.mark.parametrize(
    "command",
    [
        ("sync",),
        ("init",),
        ("errors", "list"),
        ("errors", "retry", "1"),
        ("import", "people", "people.csv"),
        ("export", "people"),
        ("demo", "--once"),
    ],
    ids=" ".join,
)
def test_unreachable_database_names_database_url_and_hides_the_password(
    syncline: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    write(project / "people.csv", "email\nann@example.com\n")
    before = files(project)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres:secretpw@127.0.0.1:1/x")
    result = syncline(*command)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    assert line.startswith("error: DATABASE_URL: cannot connect to ")
    assert "127.0.0.1:1/x" in line
    assert "secretpw" not in result.output
    assert files(project) == before


def test_unknown_setting_in_a_connection(
    syncline: Invoke, populated: Engine, project: Path
) -> None:
    write(project / "connections.yaml", CONNECTIONS + "  colour: blue\n")
    [line] = fails(syncline, "sync")
    assert line.startswith("error: connections.yaml:4 crm.colour: unknown key 'colour' (known: ")
    assert "page_size" in line  # the known settings


def test_a_bad_connection_stops_every_mapping_before_any_write(
    syncline: Invoke, populated: Engine, project: Path
) -> None:
    # lead.yaml (on the good crm) sorts before contact.yaml's connection problem is found.
    write(
        project / "connections.yaml",
        CONNECTIONS + "other:\n  type: memory\n  path: other.json\n  page_size: lots\n",
    )
    write(project / "mappings" / "zz-contact.yaml", CONTACT_MAPPING.replace("crm", "other"))
    [line] = fails(syncline, "sync")
    assert line == "error: connections.yaml:7 other.page_size: expected a whole number"
    assert not (project / "other.json").exists()


def test_a_store_path_that_is_not_a_store(
    syncline: Invoke, populated: Engine, project: Path
) -> None:
    write(project / "connections.yaml", CONNECTIONS.replace("crm.json", "people.csv"))
    [line] = fails(syncline, "sync")
    assert line.startswith("error: connections.yaml:1 crm: ")
    assert "not a memory store file" in line


def test_every_problem_in_every_mapping_is_listed_at_once(
    syncline: Invoke, populated: Engine, project: Path
) -> None:
    edit_mapping("remote: FirstName}", "remote: FirstName, rule: sideways}")
    edit_mapping("direction: both", "direction: sideways")
    write(
        project / "mappings" / "contact.yaml",
        CONTACT_MAPPING.replace("hub: last_name", "hub: surname"),
    )
    lines = fails(syncline, "sync")
    assert len(lines) == 3, lines
    assert f"error: {MAPPING}:5 direction: 'sideways' is not a direction" in "\n".join(lines)
    assert any(line.startswith(f"error: {MAPPING}:9 fields.first_name.rule:") for line in lines)
    assert any(
        line.startswith("error: mappings/contact.yaml:9 fields.surname.hub:") for line in lines
    ), lines


def test_good_project_still_syncs_after_the_fixes(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    # The control for this file: the same project, untouched, syncs.
    assert MAPPING.read_text(encoding="utf-8") == LEAD_MAPPING
    assert syncline("sync").exit_code == 0
    assert count(ready, "sync_run") == 1


def test_a_mappings_folder_without_mapping_files_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    (tmp_path / "empty").mkdir()
    (tmp_path / "connections.yaml").write_text("crm: {type: memory}\n")
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    result = runner.invoke(main, ["--mappings", "empty", "sync"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: empty: no mapping files (*.yaml besides hub.yaml)"
