"""A small process-level cache of Zoom listings, so objects read in one cycle pay once.

The ``registrant`` and ``person`` objects (and ``webinar``) read the same listings: the
webinars, each webinar's registrants and its report. An entry is kept ``TTL`` seconds after the
read that used it ended, and serves each reader once: the first read of an object fetches, a
read of another object in the same cycle takes the entry, and the next read of the first
object (the next cycle, or a test reading twice) fetches again, so a read never misses what
changed since that object's last read.
Keyed by the connection's identity (API address, account, app, user: never a secret).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: Seconds an entry lives: longer than the reads of one cycle, shorter than a cycle's interval.
TTL = 20.0
#: Entries at most; past it the oldest go first (a bench with thousands of webinars).
MAX_ENTRIES = 20_000

@dataclass(slots=True)
class _Entry:
    at: float
    value: Any
    used: set[str] = field(default_factory=set)


class ListingCache:
    """Values by key, each served at most once per reader within ``TTL`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry] = {}

    def get(self, key: Hashable, reader: str | None, fetch: Callable[[], Any]) -> Any:
        """The cached value if ``reader`` has not used it yet (None: any reader), else fetch."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry.at < TTL and (
                    reader is None or reader not in entry.used):
                if reader is not None:
                    entry.used.add(reader)
                return entry.value
        value = fetch()
        self.put(key, value, reader)
        return value

    def put(self, key: Hashable, value: Any, reader: str | None = None) -> None:
        """Store a freshly fetched value (already used by ``reader``)."""
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                for old in sorted(self._entries, key=lambda k: self._entries[k].at)[
                        :MAX_ENTRIES // 10]:
                    del self._entries[old]
            self._entries[key] = _Entry(self.clock(), value, {reader} if reader else set())

    def touch(self, keys: Iterable[Hashable]) -> None:
        """Restart the TTL of these entries: a long read keeps what it read for the next object.

        Called when a read ends, so the entries it fetched early (a read of 100,000
        registrants takes minutes at Zoom's latency) are still there for the other objects
        read right after it in the same cycle.
        """
        now = self.clock()
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.at = now

    def forget(self, match: Callable[[Hashable], bool]) -> None:
        """Drop the entries whose key ``match``es (after a write changed them)."""
        with self._lock:
            for key in [k for k in self._entries if match(k)]:
                del self._entries[key]

    def clear(self) -> None:
        """Drop everything (tests start from scratch)."""
        with self._lock:
            self._entries.clear()


#: The process's cache, shared by every Zoom connector instance.
LISTINGS = ListingCache()
