"""Server-to-Server OAuth tokens for Zoom: one POST with the app's client id and secret.

``POST <token_url>?grant_type=account_credentials&account_id=<id>`` with HTTP Basic
credentials answers ``{access_token, token_type, expires_in: 3599, scope}``. There is no
refresh token: a new token is fetched before the old one expires, and once more when Zoom
answers 124 (the HttpClient's one refresh per request).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import check_url
from connectors.zoom.errors import classify_zoom
from core.redaction import redact

#: (connect, read) seconds for the token call.
TOKEN_TIMEOUT = (10.0, 60.0)
#: A new token this long before the old one expires: no call goes out on a dying token.
EXPIRY_MARGIN_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """A Server-to-Server OAuth app: where to ask, for which account, as whom."""

    token_url: str
    account_id: str
    client_id: str
    client_secret: str


class ZoomTokenAuth:
    """Bearer headers for the API; ``refresh()`` fetches a new token (the HttpClient's Auth)."""

    def __init__(self, app: AppCredentials, session: requests.Session,
                 clock: Callable[[], float] = time.monotonic) -> None:
        check_url(app.token_url)
        self.app = app
        self.session = session
        self.clock = clock
        self.token_calls = 0
        self._token: str | None = None
        self._expires_at = 0.0

    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer ...``, fetching a token first when there is none (or old)."""
        if self._token is None or self.clock() >= self._expires_at:
            self.refresh()
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> None:
        """Ask for a new token; AUTH (or CONFIG) with Zoom's own words when refused."""
        app = self.app
        self.token_calls += 1
        try:
            response = self.session.post(
                app.token_url,
                params={"grant_type": "account_credentials", "account_id": app.account_id},
                auth=(app.client_id, app.client_secret),
                timeout=TOKEN_TIMEOUT,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            host = urlsplit(app.token_url).hostname
            raise ConnectorError(
                ErrorKind.TRANSIENT, f"{type(exc).__name__} talking to {host} for a token"
            ) from None
        if response.status_code != 200:
            error = classify_zoom(response)
            error.message = redact(error.message)
            error.args = (error.message,)
            raise error
        try:
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3599))
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(ErrorKind.SYSTEM,
                                 "Zoom's token answer has no access_token") from None
        self._token = token
        # Never in a log or an error, should a remote echo it back.
        redact.rotate(f"zoom:{app.token_url}:{app.client_id}", token)
        self._expires_at = self.clock() + max(lifetime - EXPIRY_MARGIN_SECONDS, 0.0)
