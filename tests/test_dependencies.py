"""Every third-party package the code imports is declared in pyproject.toml, not inherited.

A package that only arrives as another one's dependency can disappear, or change major
version, when that other package moves on; an install then breaks without any change here.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions

from tests.importgraph import ROOT, Import, all_imports, imports_of, project_modules

#: Shipped code that runs only under pytest (a connector's conformance tests) may also use
#: the ``test`` extra; the rest of the shipped code only the main dependencies.
TEST_EXTRA_USERS = ("connectors.conformance",)


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (``PyJWT[crypto]>=2`` → ``pyjwt``)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    main = {_name(r) for r in project["dependencies"]}
    test = {_name(r) for r in project["optional-dependencies"]["test"]}
    return main, test


def _bench_imports() -> Iterator[Import]:
    for path in sorted((ROOT / "bench").glob("*.py")):
        yield from imports_of(f"bench.{path.stem}", path)


def _third_party(imports: list[Import]) -> list[Import]:
    ours = {name.split(".")[0] for name in project_modules()} | {"bench", "__future__"}
    return [i for i in imports if i.top_level not in sys.stdlib_module_names | ours]


def test_every_imported_package_is_declared() -> None:
    main, test = _declared()
    providers = {
        module: {_name(d) for d in dists} for module, dists in packages_distributions().items()
    }
    imports = _third_party([*all_imports(), *_bench_imports()])
    assert {i.top_level for i in imports} >= {"flask", "sqlmodel", "yaml"}  # the walk works
    undeclared = []
    for item in imports:
        allowed = main | test if item.importer.startswith(("bench", *TEST_EXTRA_USERS)) else main
        if not providers.get(item.top_level, set()) & allowed:
            undeclared.append(f"{item.where()}: {item.target} (from {item.top_level})")
    assert undeclared == [], "declare these in pyproject.toml:\n" + "\n".join(undeclared)
