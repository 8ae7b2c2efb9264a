"""The Zoom sandbox's faults: the shared set (latency, 5xx, 429, expired tokens) in Zoom's words."""

from __future__ import annotations

from sandboxes.faults import FaultsBase
from sandboxes.zoom.errors import RATE_LIMITED, ZoomError, invalid_token
from sandboxes.zoom.limits import MEDIUM, PER_SECOND_MESSAGE


class Faults(FaultsBase):
    """Zoom's faults: a 503 now and then, per-second 429s, tokens that stop working."""

    def _unavailable(self) -> ZoomError:
        # Zoom documents no body for 5xx; clients must not depend on one (*unconfirmed*).
        return ZoomError(503, "Service unavailable, please try again later.", 503)

    def _unauthenticated(self) -> ZoomError:
        return invalid_token("Access token is expired.")

    def _throttled(self, retry_after: float) -> ZoomError:
        # Zoom documents no Retry-After for per-second limits: the headers name the limit hit.
        return ZoomError(RATE_LIMITED, PER_SECOND_MESSAGE, 429, {
            "X-RateLimit-Category": MEDIUM,
            "X-RateLimit-Type": "QPS",
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
        })
