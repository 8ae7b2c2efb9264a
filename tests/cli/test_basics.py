"""``syncline --help`` and every command's help; ``syncline init``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from cli.web import DashboardServer
from tests.cli.conftest import Invoke
from tests.cli.helpers import CONNECTIONS, count

COMMANDS = [
    (),
    ("init",),
    ("sync",),
    ("scheduler",),
    ("web",),
    ("demo",),
    ("mappings",),
    ("mappings", "check"),
    ("errors",),
    ("errors", "list"),
    ("errors", "retry"),
    ("errors", "ignore"),
    ("errors", "reopen"),
    ("errors", "export"),
    ("import",),
    ("import", "people"),
    ("export",),
    ("export", "people"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "syncline")
def test_help_works_for_every_command(syncline: Invoke, command: tuple[str, ...]) -> None:
    result = syncline(*command, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage:")
    assert result.stderr == ""


def test_top_level_help_lists_the_commands(syncline: Invoke) -> None:
    result = syncline("-h")
    assert result.exit_code == 0
    for name in ("init", "sync", "scheduler", "web", "demo", "mappings", "errors", "import"):
        assert f"  {name}" in result.stdout


def test_help_needs_no_database_or_connections(
    syncline: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody:pw@127.0.0.1:1/x")
    assert syncline("sync", "--help").exit_code == 0
    assert list(tmp_path.iterdir()) == []


def test_init_creates_the_schema_and_a_second_init_keeps_the_data(
    syncline: Invoke, project: Path, hub: Engine, db_url: str
) -> None:
    result = syncline("init")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("database ready: ")
    assert "(schema " in result.stdout

    people = project / "people.csv"
    people.write_text("email,first_name\nann@example.com,Ann\n", encoding="utf-8")
    assert syncline("import", "people", str(people)).exit_code == 0
    assert count(hub, "person") == 1

    again = syncline("init")
    assert again.exit_code == 0, again.output
    assert again.stdout == result.stdout
    assert count(hub, "person") == 1


def test_commands_before_init_say_to_run_init(syncline: Invoke, project: Path) -> None:
    result = syncline("sync")
    assert result.exit_code == 2
    assert result.stderr == "error: database: not initialised — run `syncline init`\n"
    assert result.stdout == ""


def test_version(syncline: Invoke) -> None:
    result = syncline("--version")
    assert result.exit_code == 0
    assert "version" in result.stdout


@pytest.mark.parametrize(
    ("setup", "expected"),
    [("connections.yaml", "connections.yaml"),
     ("instance/connections.yaml", "instance/connections.yaml"),
     (None, "connections.yaml")],
    ids=["here", "demo's", "none yet"],
)
def test_web_serves_the_connections_file_the_other_commands_use(
    syncline: Invoke, ready: Engine, project: Path, monkeypatch: pytest.MonkeyPatch,
    setup: str | None, expected: str,
) -> None:
    served: dict[str, object] = {}
    monkeypatch.setattr(DashboardServer, "run", lambda server: served.update(server.app_config))
    (project / "connections.yaml").unlink()
    if setup is not None:
        (project / setup).parent.mkdir(exist_ok=True)
        (project / setup).write_text(CONNECTIONS, encoding="utf-8")
    result = syncline("web")
    assert result.exit_code == 0, result.output
    assert served["CONNECTIONS"] == expected
