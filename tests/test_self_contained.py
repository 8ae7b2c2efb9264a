"""The repository stands on its own: no comment, docstring or document points outside it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.importgraph import ROOT, shipped_roots

#: References to notes that live next to the repository, not in it: a reader of a clone has
#: none of them, so the fact itself belongs in the comment.
OUTSIDE = re.compile(
    r"crm-api-facts|marketing-facts|style-anchors|\banchors\.md|\.\./shared/"
    r"|shared/(?:DESIGN|reference)|/work/|§"
    r"|\bfacts [A-F](?:\.\d+)?\b|\((?:[A-F]\.\d+(?:[,–-] ?)?)+\)"
)
SUFFIXES = {".py", ".md", ".yaml", ".html", ".css", ".toml", ".ini", ".lark", ".mako", ""}


def _texts() -> list[Path]:
    folders = [*shipped_roots(), "tests", "bench"]
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml"]
    for folder in folders:
        base = ROOT / folder
        if base.is_file() or (ROOT / f"{folder}.py").is_file():
            files.append(ROOT / f"{folder}.py")
            continue
        files += [p for p in base.rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    return [p for p in files if p != Path(__file__) and "__pycache__" not in p.parts]


def test_nothing_points_at_documents_outside_the_repository() -> None:
    texts = _texts()
    assert any(p.name == "DESIGN.md" for p in texts)  # the walk reaches the documents
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in texts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []
