"""ZoomSandbox: an Account, its Faults and rate limits, and the API app on a loopback port."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sandboxes.server import LocalSandbox, ServedApp
from sandboxes.zoom import state as persistence
from sandboxes.zoom.app import create_app
from sandboxes.zoom.auth import DEFAULT_TOKEN_LIFETIME_S, App, Auth
from sandboxes.zoom.context import SandboxState
from sandboxes.zoom.faults import Faults
from sandboxes.zoom.limits import RateLimits
from sandboxes.zoom.paging import Pager
from sandboxes.zoom.store import Account


@dataclass(frozen=True)
class SandboxConfig:
    """Credentials, host and plan of one sandbox account (the defaults suit tests and demos)."""

    account_id: str = "sbxAcct_Q3xk9ZpLr2Vw"
    client_id: str = "sbxClient7fK2mQ9x"
    client_secret: str = "sandbox-zoom-secret-4Hq8Tz"
    host_id: str = "sbxHost_u2Jd8sKq1w"
    host_email: str = "webinars@example.com"
    plan: str = "pro"
    token_lifetime_s: float | None = DEFAULT_TOKEN_LIFETIME_S


class ZoomSandbox(LocalSandbox):
    """The Zoom API emulator in this process: ``with ZoomSandbox() as sb``.

    ``sb.url`` is the host (``sb.api_url`` = ``sb.url + "/v2"``, ``sb.token_url`` the S2S
    OAuth endpoint), ``sb.account`` the data, ``sb.faults`` and ``sb.limits`` what goes wrong.
    ``clock`` (epoch seconds) drives tokens and rate limits, so tests can freeze time.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.time,
        now: Callable[[], datetime] | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.account_id = self.config.account_id
        self.client_id = self.config.client_id
        self.client_secret = self.config.client_secret
        self.faults = faults or Faults()
        self.limits = RateLimits(self.config.plan, clock=clock)
        self.auth = Auth(
            account_id=self.account_id,
            apps=[App(self.client_id, self.client_secret)],
            token_lifetime_s=self.config.token_lifetime_s,
            clock=clock,
        )
        self.state = SandboxState(
            account=Account(host_id=self.config.host_id, host_email=self.config.host_email,
                            clock=now),
            faults=self.faults, auth=self.auth, limits=self.limits, pager=Pager(),
        )
        self.app = create_app(self.state)
        self._server = ServedApp(self.app, host=host, port=port)
        self._keep_state(
            state_path,
            load=lambda path: persistence.load(self.account, path),
            save=lambda path: persistence.save(self.account, path),
        )

    @property
    def account(self) -> Account:
        """The account's webinars, registrants and ended instances."""
        return self.state.account

    @property
    def api_url(self) -> str:
        """The API base, e.g. ``http://127.0.0.1:8703/v2``."""
        return f"{self.url}/v2"

    @property
    def token_url(self) -> str:
        """The S2S OAuth token endpoint."""
        return f"{self.url}/oauth/token"

    def basic_auth(self) -> str:
        """The ``Authorization`` header value of the token request."""
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def issue_token(self) -> str:
        """A valid access token without the HTTP token flow."""
        return self.auth.issue().access_token

    def expire_tokens(self) -> None:
        """Expire every issued token (the next API call answers 401 with code 124)."""
        self.auth.expire_all()
