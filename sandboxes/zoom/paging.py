"""Zoom's paging: ``page_size`` (default 30, at most 300) and an opaque ``next_page_token``.

A token is good for 15 minutes (the spec's wording); an unknown or expired one is Zoom's 300.
The last page carries ``next_page_token: ""``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sandboxes.zoom.errors import INVALID, ZoomError

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 300
TOKEN_LIFETIME_S = 15 * 60


class Pager:
    """Issues and redeems next-page tokens: each remembers the query it continues and where."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, int, float]] = {}

    def page(self, query: str, rows: Sequence[Any], page_size: Any, token: str | None
             ) -> tuple[list[Any], dict[str, Any]]:
        """One page of ``rows`` and Zoom's paging fields; ``query`` ties a token to its list."""
        size = page_size_of(page_size)
        offset = 0
        if token:
            with self._lock:
                found = self._tokens.pop(token, None)
            if found is None or found[0] != query or found[2] < self._clock():
                raise ZoomError(INVALID, "The next page token is invalid or expired.")
            offset = found[1]
        chunk = list(rows[offset:offset + size])
        next_token = ""
        if offset + size < len(rows):
            next_token = secrets.token_urlsafe(24)
            now = self._clock()
            with self._lock:
                # Clients that stop paging leave tokens behind: drop the expired ones.
                for stale in [t for t, kept in self._tokens.items() if kept[2] < now]:
                    del self._tokens[stale]
                self._tokens[next_token] = (query, offset + size, now + TOKEN_LIFETIME_S)
        total = len(rows)
        return chunk, {
            "page_count": max(1, -(-total // size)) if total else 0,
            "page_size": size,
            "total_records": total,
            "next_page_token": next_token,
        }


def page_size_of(value: Any) -> int:
    """The page size asked for, capped at 300 (Zoom does not refuse a larger one)."""
    if value in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except (TypeError, ValueError) as error:
        raise ZoomError(INVALID, f"Invalid field: page_size {value!r}") from error
    return DEFAULT_PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)
