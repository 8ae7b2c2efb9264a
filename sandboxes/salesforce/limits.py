"""The org's daily API allocation: a rolling 24-hour call counter, its header and /limits body."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from sandboxes.salesforce.errors import SalesforceError

ROLLING_WINDOW_SECONDS = 24 * 60 * 60
DEVELOPER_EDITION_DAILY_MAX = 15_000


class ApiLimits:
    """Counts API calls over a rolling 24 hours against ``daily_max``.

    ``clock`` returns seconds (monotonic by default); tests may pass a fake clock to move the
    window without waiting a day.
    """

    def __init__(
        self,
        daily_max: int = DEVELOPER_EDITION_DAILY_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.daily_max = daily_max
        self._clock = clock
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def _forget_old_calls(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - ROLLING_WINDOW_SECONDS:
            self._calls.popleft()

    @property
    def used(self) -> int:
        """Calls counted in the last 24 hours."""
        with self._lock:
            self._forget_old_calls(self._clock())
            return len(self._calls)

    @property
    def remaining(self) -> int:
        """Calls still allowed in the current window (never negative)."""
        return max(0, self.daily_max - self.used)

    def count_call(self) -> None:
        """Count one API call, or refuse it with 403 REQUEST_LIMIT_EXCEEDED when over the max.

        A refused call is not counted: Salesforce stops serving, it does not keep charging.
        """
        with self._lock:
            now = self._clock()
            self._forget_old_calls(now)
            if len(self._calls) >= self.daily_max:
                raise SalesforceError(
                    "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403
                )
            self._calls.append(now)

    def reset(self) -> None:
        """Forget every counted call (a fresh day)."""
        with self._lock:
            self._calls.clear()

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` header value, e.g. ``api-usage=18/15000``."""
        return f"api-usage={self.used}/{self.daily_max}"

    def limits_body(self) -> dict:
        """The ``GET /limits/`` body: DailyApiRequests plus the Bulk API 2.0 allocations."""
        return {
            "DailyApiRequests": {"Max": self.daily_max, "Remaining": self.remaining},
            "DailyBulkV2QueryJobs": {"Max": 10_000, "Remaining": 10_000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976_562, "Remaining": 976_562},
            "DailyBulkApiBatches": {"Max": 15_000, "Remaining": 15_000},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
        }

    def as_dict(self) -> dict:
        """Usage for the sandbox's state endpoint."""
        return {"used": self.used, "daily_max": self.daily_max}
