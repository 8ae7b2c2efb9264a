"""Service protection: requests per user over a 5-minute sliding window → 429 + Retry-After."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from sandboxes.dynamics.errors import DataverseError

WINDOW_SECONDS = 300
DEFAULT_REQUESTS_PER_WINDOW = 6000
#: The execution-time allowance per window (20 minutes), reported in a diagnostic header only.
EXECUTION_TIME_MS_PER_WINDOW = 1_200_000
#: What the real service suggests as parallelism in ``x-ms-dop-hint`` on a trial environment.
DEFAULT_DOP_HINT = 4
REQUEST_COUNT_EXCEEDED = "0x80072322"


class ServiceProtectionError(DataverseError):
    """The 429 of a service protection limit, with its ``Retry-After`` header."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(REQUEST_COUNT_EXCEEDED, message, 429)
        self.headers = {"Retry-After": str(retry_after_s)}


class ServiceProtection:
    """Counts requests per user over a sliding :data:`WINDOW_SECONDS` window.

    ``clock`` returns seconds (monotonic by default); tests may pass a fake clock to move the
    window without waiting five minutes.
    """

    def __init__(
        self,
        requests_per_window: int = DEFAULT_REQUESTS_PER_WINDOW,
        *,
        dop_hint: int = DEFAULT_DOP_HINT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_window = requests_per_window
        self.dop_hint = dop_hint
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, user_id: str, now: float) -> deque[float]:
        calls = self._calls.setdefault(user_id, deque())
        while calls and calls[0] <= now - WINDOW_SECONDS:
            calls.popleft()
        return calls

    def count(self, user_id: str) -> None:
        """Count one request of ``user_id``, or refuse it with 429 when the window is full.

        A refused request is not counted, so a client that waits ``Retry-After`` gets in.
        """
        with self._lock:
            now = self._clock()
            calls = self._window(user_id, now)
            if len(calls) >= self.requests_per_window:
                # The oldest counted call leaves the window first: that is when room appears.
                retry_after = max(1, math.ceil(calls[0] + WINDOW_SECONDS - now))
                raise ServiceProtectionError(
                    f"Number of requests exceeded the limit of {self.requests_per_window} "
                    f"over time window of {WINDOW_SECONDS} seconds.",
                    retry_after,
                )
            calls.append(now)

    def remaining(self, user_id: str) -> int:
        """Requests ``user_id`` may still send in the current window (never negative)."""
        with self._lock:
            return max(0, self.requests_per_window - len(self._window(user_id, self._clock())))

    def headers(self, user_id: str | None) -> dict[str, str]:
        """The diagnostic headers every API response carries."""
        headers = {"x-ms-dop-hint": str(self.dop_hint)}
        if user_id is not None:
            headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(self.remaining(user_id))
            headers["x-ms-ratelimit-time-remaining-xrm-requests"] = (
                f"{EXECUTION_TIME_MS_PER_WINDOW:,}.00"
            )
        return headers

    def reset(self) -> None:
        """Forget every counted request."""
        with self._lock:
            self._calls.clear()

    def as_dict(self) -> dict:
        """Usage for the sandbox's state endpoint."""
        with self._lock:
            now = self._clock()
            used = {user: len(self._window(user, now)) for user in list(self._calls)}
        return {"requests_per_window": self.requests_per_window, "window_s": WINDOW_SECONDS,
                "used": used}
