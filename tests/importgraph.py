"""The project's own import graph, read from the source with ``ast`` (nothing is imported).

Every import statement counts, wherever it is: at the top of a module, inside a function (a
deferred import still makes one module depend on another) or under ``if TYPE_CHECKING:``
(a type named in a signature is a dependency too, and the usual way a cycle hides).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Import:
    """One imported name: who imports it, the module it names, where, and how."""

    importer: str
    target: str  # the dotted name as written (resolved if relative), e.g. ``core.db.session``
    path: Path
    line: int
    deferred: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:``

    @property
    def top_level(self) -> str:
        """The first part of the imported name (``flask`` for ``flask.json``)."""
        return self.target.split(".")[0]

    def where(self) -> str:
        """``path:line``, relative to the repository."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@cache
def shipped_roots() -> tuple[str, ...]:
    """The top-level packages and modules pyproject.toml ships (what ``pip install`` installs)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    packages = [p.rstrip("*") for p in setuptools["packages"]["find"]["include"]]
    return tuple(sorted({*packages, *setuptools.get("py-modules", [])}))


@cache
def project_modules() -> dict[str, Path]:
    """Every shipped module by dotted name (a package by its own name, not ``__init__``)."""
    modules: dict[str, Path] = {}
    for root in shipped_roots():
        single = ROOT / f"{root}.py"
        if single.is_file():
            modules[root] = single
            continue
        for path in sorted((ROOT / root).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """Every name the module imports, ``from a import b`` giving ``a.b``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(node: ast.AST, deferred: bool, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(name, alias.name, path, child.lineno, deferred, type_only)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    module = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    module = child.module or ""
                for alias in child.names:
                    target = f"{module}.{alias.name}" if alias.name != "*" else module
                    yield Import(name, target, path, child.lineno, deferred, type_only)
            else:
                yield from walk(
                    child,
                    deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef),
                    type_only or (isinstance(child, ast.If) and _is_type_checking(child)),
                )

    yield from walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), False, False)


@cache
def all_imports() -> tuple[Import, ...]:
    """The imports of every shipped module."""
    return tuple(i for name, path in project_modules().items() for i in imports_of(name, path))


def resolve(target: str) -> str | None:
    """The project module an imported name lives in (``core.db.session`` → ``core.db``)."""
    modules = project_modules()
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


@cache
def graph() -> dict[str, dict[str, Import]]:
    """Module → the project modules it imports, each with one import that makes the edge."""
    edges: dict[str, dict[str, Import]] = {name: {} for name in project_modules()}
    for item in all_imports():
        target = resolve(item.target)
        if target is not None and target != item.importer:
            edges[item.importer].setdefault(target, item)
    return edges


def cycles() -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(group: list[str]) -> str:
    """The imports that tie a group together, one per line with ``path:line``."""
    members = set(group)
    lines = [
        f"  {a} -> {b} ({item.where()})"
        for a in group
        for b, item in sorted(graph()[a].items())
        if b in members
    ]
    return "\n".join([" ↔ ".join(group), *lines])
