"""CSV files people open in a spreadsheet: one writer for every export, formulas neutralised.

CRM values are text anyone who can edit a CRM record (or fill a web form) controls. A cell such
as ``=HYPERLINK("http://evil","click")`` or ``+cmd|' /C calc'!A0`` is evaluated by Excel,
LibreOffice and Google Sheets when the file is opened (CSV injection). Every CSV the product
writes for people goes through :func:`writer`, which prefixes such cells with a single quote:
spreadsheets then show the text as it was. :func:`restore` undoes it when Syncline reads its
own export back, so export → import round-trips.

Wire formats (the Salesforce Bulk API's upload) are not spreadsheets and keep values verbatim.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

#: Characters that make a spreadsheet treat a cell as a formula (or, for tab and carriage
#: return, let one smuggle a formula past a naive check of the first character).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Plain numbers start with + or - too, and are never formulas: ``-5`` stays ``-5``.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_QUOTE = "'"


class RowWriter(Protocol):
    """What :func:`writer` returns: ``writerow`` and ``writerows`` like ``csv.writer``."""

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one row of cells."""
        ...

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write many rows."""
        ...


def neutralise(value: Any) -> str:
    """One cell as text a spreadsheet shows rather than evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return _QUOTE + text
    return text


def restore(text: str) -> str:
    """The value :func:`neutralise` was given (reading our own export back)."""
    if text.startswith(_QUOTE) and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


class _NeutralisingWriter:
    """A ``csv.writer`` whose every cell passes through :func:`neutralise`."""

    def __init__(self, out: Any, lineterminator: str) -> None:
        self._rows = csv.writer(out, lineterminator=lineterminator)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._rows.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, lineterminator: str = "\r\n") -> RowWriter:
    """A CSV writer for a file people open: RFC 4180 quoting, formula-like cells neutralised."""
    return _NeutralisingWriter(out, lineterminator)


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One non-blank row of a CSV file: its line and cells by column, or why it cannot be read."""

    line: int
    values: dict[str, str]
    problem: str | None = None


def read_records(
    handle: Iterable[str], on_header: Callable[[list[str]], None]
) -> Iterator[CsvRecord]:
    """The rows of a CSV file an admin hands an import, after ``on_header`` saw its header.

    Blank rows are skipped; a row with values beyond the header is a problem, not a record.
    """
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        return
    on_header(header)
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        # line_num is the physical line where the record ended (quoted fields may span lines).
        if any(value.strip() for value in values[len(header) :]):
            yield CsvRecord(reader.line_num, {},
                            f"{len(values)} values but the header has {len(header)} columns")
            continue
        # Our own export quotes formula-like cells for spreadsheets: read them back as they were.
        cells = [restore(value) for value in values]
        yield CsvRecord(reader.line_num, dict(zip(header, cells, strict=False)))


def plain(value: Any) -> Any:
    """A value as an export writes it in JSON: dates and times in ISO 8601, the rest as is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def cell(value: Any) -> str:
    """A value as an export writes it in CSV: blank for none, true/false, JSON for structures."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(plain(value))
