"""The test's hand on the remote behind a connector: what a conformance test needs of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol


class RemoteControl(Protocol):
    """The test's hand on the remote behind the connector (a sandbox, a store)."""

    def seed(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create records directly on the remote (not through the connector); return keys."""
        ...

    def edit(self, key: str, fields: Mapping[str, Any]) -> None:
        """Change a record as a user of the remote system would."""
        ...

    def delete(self, key: str) -> None:
        """Delete a record as a user of the remote system would."""
        ...

    def set_page_size(self, n: int) -> None:
        """Make reads return at most ``n`` records per page."""
        ...

    def purge(self, key: str) -> None:
        """Delete a record for good, past any recycle bin (remotes with ``hard_deletes``)."""
        ...

    def later(self, minutes: int) -> datetime:
        """Let ``minutes`` pass on the remote's clock; return the time then (a ``now``)."""
        ...

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        """Fail the next ``times`` calls: ``transient``, ``rate_limited`` or ``auth_expired``.

        ``echo_token_request`` (remotes with a token endpoint): the next ``times`` token
        requests are refused in the remote's error shape, the request quoted back in it
        (credentials included), as a misbehaving proxy in front of the endpoint does.
        """
        ...

    def patch_sleep(self) -> list[float]:
        """Stop the connector's retries from sleeping; return the list of requested waits."""
        ...
