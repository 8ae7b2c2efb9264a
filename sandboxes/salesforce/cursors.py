"""Query cursors: snapshots of query results behind ``nextRecordsUrl`` locators, expiring."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.ids import IdMinter

#: Salesforce drops a query cursor after 15 minutes without use.
CURSOR_IDLE_SECONDS = 15 * 60
MAX_OPEN_CURSORS = 500


@dataclass
class _Cursor:
    records: list[dict]
    batch_size: int
    last_used: float


class QueryCursors:
    """Snapshots of query results behind ``nextRecordsUrl`` locators (``01g...-offset``)."""

    def __init__(self, minter: IdMinter, clock: Any = time.monotonic) -> None:
        self._minter = minter
        self._clock = clock
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, records: list[dict], batch_size: int) -> str:
        """Keep ``records`` for paging; returns the locator id."""
        locator = self._minter.mint("01g")
        with self._lock:
            self._expire()
            self._cursors[locator] = _Cursor(records, batch_size, self._clock())
            while len(self._cursors) > MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)
        return locator

    def get(self, locator: str) -> _Cursor:
        """The cursor of ``locator``, or 400 INVALID_QUERY_LOCATOR when unknown or expired."""
        with self._lock:
            self._expire()
            cursor = self._cursors.get(locator)
            if cursor is None:
                raise SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = self._clock()
            self._cursors.move_to_end(locator)
            return cursor

    def _expire(self) -> None:
        cutoff = self._clock() - CURSOR_IDLE_SECONDS
        for locator in [key for key, c in self._cursors.items() if c.last_used < cutoff]:
            del self._cursors[locator]
