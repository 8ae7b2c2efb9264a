"""SalesforceSandbox: an Org, its Faults and the REST app on a loopback port (tests, demos)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from sandboxes.salesforce import state
from sandboxes.salesforce.app import create_app
from sandboxes.salesforce.auth import ApiUser, Auth, ConnectedApp, Session
from sandboxes.salesforce.config import SandboxConfig
from sandboxes.salesforce.context import SandboxState
from sandboxes.salesforce.faults import Faults
from sandboxes.salesforce.limits import ApiLimits
from sandboxes.salesforce.org import Org
from sandboxes.server import LocalSandbox, ServedApp

_DEFAULT_CONFIG: SandboxConfig | None = None


def default_config() -> SandboxConfig:
    """The shipped default.yaml, read once per process (tests start many sandboxes)."""
    global _DEFAULT_CONFIG
    if _DEFAULT_CONFIG is None:
        _DEFAULT_CONFIG = SandboxConfig.load()
    return _DEFAULT_CONFIG


class HttpsToHttpAdapter(HTTPAdapter):
    """Sends ``https://`` requests as ``http://``: simple-salesforce hard-codes the scheme."""

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        if request.url and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://") :]
        return super().send(request, **kwargs)  # type: ignore[arg-type]


def https_to_http_session(base_url: str) -> requests.Session:
    """A requests Session that reaches the plain-HTTP sandbox at ``base_url`` via ``https://``.

    Only the sandbox's host:port is rewritten, so no other address is ever downgraded.
    """
    host = base_url.split("://", 1)[-1].rstrip("/")
    session = requests.Session()
    session.mount(f"https://{host}", HttpsToHttpAdapter())
    return session


class SalesforceSandbox(LocalSandbox):
    """The Salesforce REST API emulator in this process: ``with SalesforceSandbox() as sb``.

    ``sb.url`` is the instance URL, ``sb.org`` the data, ``sb.faults`` what goes wrong,
    ``sb.limits`` the daily API counter; the credentials of the default connected app and
    integration user are ``client_id``, ``client_secret``, ``username``, ``password`` and
    ``security_token``. ``clock`` (aware UTC, default the wall clock) is the org's time: it
    stamps every change and answers in the ``Date`` header.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        state_path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or default_config()
        #: Where the org is kept across restarts (loaded on start, saved every few seconds).
        self.state_path = state_path
        self._keep_state(
            state_path,
            load=lambda path: state.load(self.org, path),
            save=lambda path: state.save(self.org, path),
        )
        self.faults = faults or Faults()
        self.limits = ApiLimits(self.config.daily_api_limit)
        org = Org(self.config, clock)
        app = self.config.connected_app
        user = self.config.api_user
        self.client_id = app.client_id
        self.client_secret = app.client_secret
        self.username = user.username
        self.password = user.password or ""
        self.security_token = user.security_token
        self.auth = Auth(
            apps=[
                ConnectedApp(item.client_id, item.client_secret)
                for item in self.config.connected_apps
            ],
            users=_api_users(org),
            org_id=org.organization_id,
            token_lifetime_s=self.config.token_lifetime_seconds,
        )
        self.app = create_app(
            org,
            self.faults,
            auth=self.auth,
            limits=self.limits,
            api_versions=self.config.api_versions,
            org_factory=lambda: Org(self.config, clock),
        )
        self._server = ServedApp(self.app, host=host, port=port)

    @property
    def state(self) -> SandboxState:
        return self.app.extensions["salesforce_sandbox"]

    @property
    def org(self) -> Org:
        """The org's data (replaced by a fresh one on ``POST /__sandbox__/reset``)."""
        return self.state.org

    @property
    def api_version(self) -> str:
        """The default API version of the config (what clients should ask for)."""
        return self.config.default_api_version


    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next API call answers 401)."""
        self.auth.expire_all()

    def issue_token(self) -> str:
        """A valid access token for the integration user, without the HTTP token flow."""
        session: Session = self.auth.issue(self.auth.users[0].user_id, self.client_id)
        return session.access_token

    def token_form(self) -> dict[str, str]:
        """The password-grant form for the default app and user."""
        return {
            "grant_type": "password",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.username,
            "password": self.password + self.security_token,
        }

    def session(self) -> requests.Session:
        """A requests Session whose ``https://`` calls to this sandbox go out as ``http://``."""
        return https_to_http_session(self.url)


def _api_users(org: Org) -> list[ApiUser]:
    """Users who can log in (they have a password), with the ids the Org gave them."""
    return [
        ApiUser(user.username, user.password, user.security_token, user.user_id)
        for user in org.users
        if user.password
    ]
