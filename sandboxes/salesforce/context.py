"""What the routes of a running Salesforce sandbox share, kept on its Flask app."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

from sandboxes.salesforce.auth import Auth
from sandboxes.salesforce.bulk import BulkJobs
from sandboxes.salesforce.cursors import QueryCursors
from sandboxes.salesforce.faults import Faults
from sandboxes.salesforce.ids import IdMinter
from sandboxes.salesforce.limits import ApiLimits

if TYPE_CHECKING:
    from sandboxes.salesforce.org import Org


@dataclass
class SandboxState:
    """Everything the routes share, kept on the Flask app (``app.extensions``)."""

    org: Org
    faults: Faults
    auth: Auth
    limits: ApiLimits
    api_versions: tuple[str, ...]
    # Writes through the Org are serialised: the werkzeug server is threaded and bulk jobs
    # run in their own threads, while the Org is a plain in-memory structure.
    org_lock: threading.RLock = field(default_factory=threading.RLock)
    minter: IdMinter = field(default_factory=IdMinter)
    cursors: QueryCursors | None = None
    bulk: BulkJobs | None = None
    # Builds a fresh Org for `POST /__sandbox__/reset` (None: reset keeps the data).
    org_factory: Callable[[], Org] | None = None

    def reset(self) -> None:
        """A fresh org, no faults, a fresh day, no cursors or bulk jobs; tokens stay valid."""
        with self.org_lock:
            if self.org_factory is not None:
                self.org = self.org_factory()
            self.faults.clear()
            self.limits.reset()
            self.cursors = QueryCursors(self.minter)
            self.bulk = BulkJobs(self)


def state() -> SandboxState:
    """The sandbox state of the app serving the current request."""
    return current_app.extensions["salesforce_sandbox"]
