"""The Zoom HTTP client: the shared HttpClient, except that the daily limit is never waited out.

A per-second 429 is retried a second later (the HttpClient's retry). A daily-limit 429 lifts at
00:00 UTC: waiting for it would park the cycle for hours, so it is raised at once as
RATE_LIMITED with its ``retry_after``, and the engine pauses the connection. Heavy calls carry
the day's allowance (``X-RateLimit-Limit`` / ``-Remaining``): kept for ``usage()``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from connectors.base import ApiUsage
from connectors.errors import ConnectorError
from connectors.http import HttpClient
from connectors.zoom.errors import is_daily_limit


class _DailyLimit(Exception):  # noqa: N818 - a carrier, never seen outside this module
    """Carries the daily limit's error past the retry loop (which retries ConnectorErrors)."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(str(error))
        self.error = error


class ZoomHttp(HttpClient):
    """HttpClient that raises the daily limit at once and remembers the daily Heavy usage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, on_response=self._observe, **kwargs)
        #: (limit, remaining, when seen) of the daily Heavy allowance, from the last Heavy call.
        self.daily: tuple[int, int, datetime] | None = None

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        """As HttpClient's, but a daily-limit 429 raises RATE_LIMITED without retrying."""
        try:
            return super().request(method, path_or_url, **kwargs)
        except _DailyLimit as limit:
            raise limit.error from None

    def _error(self, response: requests.Response) -> ConnectorError:
        error = super()._error(response)
        if is_daily_limit(response):
            raise _DailyLimit(error)
        return error

    def _observe(self, response: requests.Response) -> None:
        headers = response.headers
        heavy = headers.get("X-RateLimit-Category", "").lower() == "heavy"
        if not (heavy or is_daily_limit(response)):
            return  # a per-second 429 names its per-second limit in the same headers
        limit, remaining = headers.get("X-RateLimit-Limit"), headers.get("X-RateLimit-Remaining")
        if limit and remaining and limit.isdigit() and remaining.isdigit():
            self.daily = (int(limit), int(remaining), datetime.now(UTC))

    def usage(self, now: datetime | None = None) -> ApiUsage | None:
        """The daily Heavy allowance as last seen; a new UTC day starts it from nothing used."""
        if self.daily is None:
            return None
        limit, remaining, seen = self.daily
        today = (now or datetime.now(UTC)).date()
        if seen.date() < today:
            # Zoom resets the count at 00:00 UTC; without this a paused connection (no Heavy
            # calls, so no fresh headers) would stay paused for good.
            return ApiUsage(0, limit)
        return ApiUsage(max(limit - remaining, 0), limit)
