"""What the routes of a running Zoom sandbox share, kept on its Flask app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from sandboxes.zoom.auth import Auth
from sandboxes.zoom.faults import Faults
from sandboxes.zoom.limits import RateLimits
from sandboxes.zoom.paging import Pager
from sandboxes.zoom.store import Account


@dataclass
class SandboxState:
    """Everything the routes share (``app.extensions["zoom_sandbox"]``)."""

    account: Account
    faults: Faults
    auth: Auth
    limits: RateLimits
    pager: Pager

    def reset(self) -> None:
        """No webinars, no faults, no counted calls; issued tokens stay valid."""
        self.account.reset()
        self.faults.clear()
        self.limits.reset()


def state() -> SandboxState:
    """The sandbox state of the app serving the current request."""
    return current_app.extensions["zoom_sandbox"]
