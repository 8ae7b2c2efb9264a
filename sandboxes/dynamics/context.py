"""What the routes of a running Dataverse sandbox share, kept on its Flask app."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import current_app

from sandboxes.dynamics.auth import Auth
from sandboxes.dynamics.faults import Faults
from sandboxes.dynamics.limits import ServiceProtection

if TYPE_CHECKING:
    from sandboxes.dynamics.store import Environment


@dataclass
class SandboxState:
    """Everything the routes share, kept on the Flask app (``app.extensions``)."""

    env: Environment
    faults: Faults
    auth: Auth
    limits: ServiceProtection
    # The Environment is plain in-memory data while the werkzeug server is threaded: every
    # request that touches it holds this lock (re-entrant, so $batch parts can nest).
    env_lock: threading.RLock = field(default_factory=threading.RLock)
    #: The time delta tokens are stamped and checked with (the Environment's clock).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def reset(self) -> None:
        """Empty the environment (older delta tokens stop working), drop faults and counts.

        Access tokens stay valid.
        """
        with self.env_lock:
            self.env.reset()
            self.faults.clear()
            self.limits.reset()


def state() -> SandboxState:
    """The sandbox state of the app serving the current request."""
    return current_app.extensions["dynamics_sandbox"]
