"""Zoom's rate limits: requests per second per category and a daily Heavy allowance → 429.

Zoom's "Rate limits" page: limits apply per account, by plan and by the endpoint's "Rate Limit
Label" (Pro: Light 30/s, Medium 20/s, Heavy 10/s, with 30,000 Heavy requests a day; Business+:
80/60/40 per second and 60,000 a day). The daily count resets at 00:00 UTC.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sandboxes.zoom.errors import RATE_LIMITED, ZoomError

LIGHT, MEDIUM, HEAVY = "Light", "Medium", "Heavy"

#: Per-second limits and the daily Heavy allowance of each plan (Zoom's table).
PLANS: dict[str, dict[str, int]] = {
    "pro": {LIGHT: 30, MEDIUM: 20, HEAVY: 10, "daily": 30_000},
    "business": {LIGHT: 80, MEDIUM: 60, HEAVY: 40, "daily": 60_000},
}

#: The message Zoom's error definitions give a per-second 429 (quoted on its developer forum).
PER_SECOND_MESSAGE = (
    "You have reached the maximum per-second rate limit for this API. Try again later."
)


@dataclass
class _Window:
    second: int = -1
    count: int = 0


class RateLimits:
    """Counts calls per category per second and Heavy calls per UTC day, for one account.

    ``clock`` returns epoch seconds; tests pass a frozen one to stay inside one second.
    """

    def __init__(self, plan: str = "pro", *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.per_second: dict[str, int] = {}
        self.daily_limit = 0
        self.set_plan(plan)
        self._windows: dict[str, _Window] = {}
        self._day = ""
        self._daily_used = 0

    def set_plan(self, plan: str) -> None:
        """Take a plan's limits (``pro`` or ``business``)."""
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; expected one of {sorted(PLANS)}")
        limits = PLANS[plan]
        self.plan = plan
        self.per_second = {name: limits[name] for name in (LIGHT, MEDIUM, HEAVY)}
        self.daily_limit = limits["daily"]

    def count(self, category: str) -> dict[str, str]:
        """Count one call of ``category``; the headers to send, or a 429 ZoomError."""
        with self._lock:
            now = self._clock()
            day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
            if day != self._day:
                self._day, self._daily_used = day, 0
            if category == HEAVY and self._daily_used >= self.daily_limit:
                reset = datetime.fromtimestamp(now, UTC).replace(
                    hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                raise ZoomError(
                    RATE_LIMITED,
                    f"You have exceeded the daily rate limit ({self.daily_limit}) of {category} "
                    "API requests permitted for this account. You may resume these requests "
                    "at GMT 00:00:00.",
                    429,
                    {
                        "X-RateLimit-Category": category,
                        "X-RateLimit-Type": "Daily-limit",
                        "X-RateLimit-Limit": str(self.daily_limit),
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                )
            window = self._windows.setdefault(category, _Window())
            second = int(now)
            if window.second != second:
                window.second, window.count = second, 0
            limit = self.per_second[category]
            if window.count >= limit:
                raise ZoomError(RATE_LIMITED, PER_SECOND_MESSAGE, 429, {
                    "X-RateLimit-Category": category,
                    "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                })
            window.count += 1
            if category == HEAVY:
                self._daily_used += 1
            return self._headers(category)

    def _headers(self, category: str) -> dict[str, str]:
        """What a successful call carries: its category, and the daily budget when it has one."""
        headers = {"X-RateLimit-Category": category}
        if category == HEAVY:
            headers["X-RateLimit-Limit"] = str(self.daily_limit)
            headers["X-RateLimit-Remaining"] = str(max(0, self.daily_limit - self._daily_used))
        return headers

    def configure(self, **settings: int) -> None:
        """Override per-second limits (``light``, ``medium``, ``heavy``) or ``daily``."""
        names = {"light": LIGHT, "medium": MEDIUM, "heavy": HEAVY}
        with self._lock:
            for key, value in settings.items():
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
                if key == "daily":
                    self.daily_limit = value
                elif key in names:
                    self.per_second[names[key]] = value
                else:
                    raise ValueError(f"unknown limit {key!r}")

    def reset(self) -> None:
        """Forget every counted call."""
        with self._lock:
            self._windows.clear()
            self._daily_used = 0

    def as_dict(self) -> dict:
        """Limits and today's Heavy usage (for the state endpoint)."""
        with self._lock:
            return {"plan": self.plan, "per_second": dict(self.per_second),
                    "daily_limit": self.daily_limit, "daily_used": self._daily_used}
