"""A per-source token bucket: at most ``rate_per_minute`` requests, in bursts up to that many.

In-process: each web worker process keeps its own buckets, so with ``--workers N`` a source
may send up to N times its rate in all. That bounds a runaway sender cheaply, without a
database write per request; an exact cluster-wide limit would need a shared counter.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by source; ``take`` answers 0 (go) or the seconds to wait."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def take(self, source: str, per_minute: int) -> int:
        """Spend one of ``source``'s tokens: 0 if there was one, else whole seconds to wait."""
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(source)
            if bucket is None:
                bucket = self._buckets[source] = _Bucket(float(per_minute), now)
            bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))
