"""DynamicsSandbox: an Environment, its Faults and the Web API app on a loopback port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sandboxes.dynamics import state
from sandboxes.dynamics.app import create_app
from sandboxes.dynamics.auth import DEFAULT_TOKEN_LIFETIME_S, AppRegistration, Auth
from sandboxes.dynamics.context import SandboxState
from sandboxes.dynamics.faults import Faults
from sandboxes.dynamics.limits import DEFAULT_REQUESTS_PER_WINDOW, ServiceProtection
from sandboxes.dynamics.store import Environment
from sandboxes.server import LocalSandbox, ServedApp


@dataclass(frozen=True)
class SandboxConfig:
    """Credentials and limits of one sandbox environment (the defaults suit tests and demos)."""

    tenant: str = "7f3c2b1a-0d4e-4c5b-9a8f-5e6d7c8b9a01"
    client_id: str = "51f81489-12ee-4a9e-aaae-a2591f45987d"
    client_secret: str = "sandbox~secret.Dataverse-2027"
    #: The application user's systemuserid (service protection counts per user).
    user_id: str = "a1b2c3d4-0000-4000-8000-00000000a001"
    token_lifetime_s: float | None = DEFAULT_TOKEN_LIFETIME_S
    requests_per_window: int = DEFAULT_REQUESTS_PER_WINDOW


class DynamicsSandbox(LocalSandbox):
    """The Dataverse Web API emulator in this process: ``with DynamicsSandbox() as sb``.

    ``sb.url`` is the environment URL (``sb.url + "/api/data/v9.2"`` the Web API),
    ``sb.token_url`` the token endpoint, ``sb.env`` the data, ``sb.faults`` what goes wrong,
    ``sb.limits`` service protection.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        clock: Callable[[], datetime] | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.tenant = self.config.tenant
        self.client_id = self.config.client_id
        self.client_secret = self.config.client_secret
        self.faults = faults or Faults()
        self.limits = ServiceProtection(self.config.requests_per_window)
        self.auth = Auth(
            tenant=self.tenant,
            apps=[AppRegistration(self.client_id, self.client_secret, self.config.user_id)],
            token_lifetime_s=self.config.token_lifetime_s,
        )
        self.app = create_app(
            Environment(clock=clock),
            self.faults,
            auth=self.auth,
            limits=self.limits,
            clock=clock,
        )
        self._server = ServedApp(self.app, host=host, port=port)
        #: Where the environment is kept across restarts (loaded on start, saved every 5 s).
        self._keep_state(
            state_path,
            load=lambda path: state.load(self.env, path),
            save=lambda path: state.save(self.env, path),
        )

    @property
    def state(self) -> SandboxState:
        return self.app.extensions["dynamics_sandbox"]

    @property
    def env(self) -> Environment:
        """The environment's data (replaced by a fresh one on ``POST /__sandbox__/reset``)."""
        return self.state.env

    @property
    def api_url(self) -> str:
        """The Web API base, e.g. ``http://127.0.0.1:54321/api/data/v9.2``."""
        return f"{self.url}/api/data/v9.2"

    @property
    def token_url(self) -> str:
        """Where client credentials are exchanged for a token."""
        return f"{self.url}/{self.tenant}/oauth2/v2.0/token"

    @property
    def scope(self) -> str:
        """The scope a client asks for: the environment URL plus ``/.default``."""
        return f"{self.url}/.default"

    def token_form(self) -> dict[str, str]:
        """The client-credentials form for the registered app."""
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
        }

    def issue_token(self) -> str:
        """A valid access token without the HTTP token flow."""
        return self.auth.issue().access_token

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next API call answers 401)."""
        self.auth.expire_all()

