"""Who may import whom: the layers a newcomer can rely on, checked on the source."""

from __future__ import annotations

from tests.importgraph import all_imports, project_modules, resolve


def _crossings(importers: str, imported: tuple[str, ...]) -> list[str]:
    """Imports from modules under ``importers`` of project modules under ``imported``."""
    found = []
    for item in all_imports():
        if item.importer.split(".")[0] != importers:
            continue
        target = resolve(item.target)
        if target is not None and target.split(".")[0] in imported:
            found.append(f"{item.where()}: {item.importer} imports {item.target}")
    return found


def test_the_graph_sees_the_project() -> None:
    """A guard for the checks below: they would pass vacuously on an empty graph."""
    modules = project_modules()
    assert {"core.db", "cli.users", "jobs.engine", "dashboard.auth.guard", "app"} <= set(modules)
    assert any(resolve(i.target) == "core.accounts" for i in all_imports())


def test_the_core_imports_only_the_core() -> None:
    """core/ is the bottom layer: logs, accounts, sessions and models know no connector,
    engine, dashboard or command line."""
    outside = tuple(root for root in {m.split(".")[0] for m in project_modules()} if root != "core")
    assert _crossings("core", outside) == []


def test_the_command_line_does_not_reach_into_the_dashboard() -> None:
    """Accounts and sessions live in the core; the CLI only starts the web app (``app``)."""
    assert _crossings("cli", ("dashboard",)) == []
