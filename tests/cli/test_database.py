"""Opening the hub database: a command before ``init`` leaves nothing behind; init says how."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.cli.conftest import Invoke
from tests.cli.helpers import error_lines, write
from tests.conftest import PostgresServer

NOT_INITIALISED = "error: database: not initialised — run `syncline init`"


@pytest.mark.parametrize(
    "command",
    [
        ("sync",),
        ("errors", "list"),
        ("errors", "retry", "1"),
        ("import", "people", "people.csv"),
        ("export", "people"),
        ("users", "list"),
    ],
    ids=" ".join,
)
def test_a_command_before_init_leaves_no_empty_database_file(
    syncline: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    write(project / "people.csv", "email\nann@example.com\n")
    target = project / "data" / "hub.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    result = syncline(*command)
    assert result.exit_code == 2, result.output
    assert error_lines(result) == [NOT_INITIALISED]
    assert not target.exists(), "no empty database for the next command to trip over"
    assert not target.parent.exists()


def test_the_default_database_is_made_only_by_init(
    syncline: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    result = syncline("errors", "list")
    assert error_lines(result) == [NOT_INITIALISED]
    assert not (project / "instance").exists()

    made = syncline("init")
    assert made.exit_code == 0, made.output
    assert (project / "instance" / "syncline.db").stat().st_size > 0
    assert syncline("errors", "list").stdout == "no matching errors\n"


def test_init_makes_a_new_sqlite_file_and_its_folders(
    syncline: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = project / "deep" / "er" / "hub.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    result = syncline("init")
    assert result.exit_code == 0, result.output
    assert target.is_file()
    assert syncline("export", "people").exit_code == 0


@pytest.mark.postgres
def test_init_against_a_missing_postgres_database_says_how_to_create_it(
    syncline: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer,
) -> None:
    admin = postgres_server.admin.url
    missing = admin.set(database=f"{postgres_server.prefix}_missing", password="pg-secret-pw")
    monkeypatch.setenv("DATABASE_URL", missing.render_as_string(hide_password=False))
    result = syncline("init")
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    name = make_url(str(missing)).database
    assert line.startswith("error: DATABASE_URL: cannot connect to postgresql+psycopg://")
    assert f'database "{name}" does not exist' in line
    port = f" -p {admin.port}" if admin.port else ""
    assert f"create it with `createdb -h {admin.host}{port} -U {admin.username} {name}`" in line
    assert f'CREATE DATABASE "{name}";' in line
    assert line.endswith("then run `syncline init`")
    assert "pg-secret-pw" not in result.output
