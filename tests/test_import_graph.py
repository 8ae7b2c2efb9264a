"""Who may import whom: the layers a newcomer can rely on, checked on the source."""

from __future__ import annotations

from tests.importgraph import (
    ROOT,
    all_imports,
    cycles,
    describe,
    project_modules,
    resolve,
    shipped_roots,
)


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


#: Circles left on purpose, each with why. Each is one concept kept in two files (both would
#: pass 600 lines as one); the helper module names the other only as a type.
ALLOWED_CYCLES: dict[tuple[str, ...], str] = {
    ("sandboxes.dynamics.qualification", "sandboxes.dynamics.store"): (
        "QualifyLead and list membership are Environment operations kept in their own file; "
        "they take the Environment as a type only and call its public methods"
    ),
    ("sandboxes.salesforce.config", "sandboxes.salesforce.schema"): (
        "loading a config checks its cross-references by building the Schema from it, and the "
        "Schema reads that config: the org's metadata, parsed and then resolved"
    ),
    (
        "sandboxes.salesforce.conversion",
        "sandboxes.salesforce.influence",
        "sandboxes.salesforce.org",
        "sandboxes.salesforce.recycle",
    ): (
        "lead conversion and merge, emptying the Recycle Bin, and campaign influence are Org "
        "operations kept in their own files; they take the Org as a type only and work on its "
        "tables"
    ),
}


def test_no_import_cycles_among_the_projects_modules() -> None:
    """A circle makes import order matter and hides which module is the lower layer; break a
    new one with a narrow interface (a Protocol) or by moving the shared part down."""
    found = {tuple(group): group for group in cycles()}
    new = [describe(group) for key, group in found.items() if key not in ALLOWED_CYCLES]
    assert not new, "new import cycles:\n" + "\n\n".join(new)
    gone = sorted(set(ALLOWED_CYCLES) - set(found))
    assert not gone, f"no longer cycles, remove them from ALLOWED_CYCLES: {gone}"


def test_no_script_folder_shadows_a_package() -> None:
    """``python bench/x.py`` puts bench/ first on sys.path: a bench/dashboard.py there would be
    imported instead of the dashboard package (as it once was)."""
    shipped = set(shipped_roots())
    shadows = [
        str(path.relative_to(ROOT))
        for folder in ("bench",)
        for path in sorted((ROOT / folder).iterdir())
        if path.stem in shipped and (path.suffix == ".py" or path.is_dir())
    ]
    assert shadows == []
