"""One rule for "no value": every place that asks agrees, for every kind of value."""

from __future__ import annotations

from typing import Any

import pytest

from core import values
from jobs import compare
from mappings import expressions

CASES: list[tuple[Any, bool]] = [
    (None, True), ("", True), ("   ", True), ("\t\n", True),
    ("a", False), (" a ", False), (0, False), (False, False), ([], False), ({}, False),
]


@pytest.mark.parametrize(("value", "expected"), CASES, ids=[repr(v) for v, _ in CASES])
def test_every_blank_check_agrees(value: Any, expected: bool) -> None:
    assert values.blank(value) is expected
    assert compare.blank(value) is expected, "the merge"
    assert expressions.blank(value) is expected, "blank() in sync rules"


def test_the_merge_and_expressions_add_only_their_own_markers() -> None:
    assert compare.blank(compare.MISSING)
    assert expressions.blank(expressions.Undefined())
