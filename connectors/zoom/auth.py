"""Server-to-Server OAuth tokens for Zoom: one POST with the app's client id and secret.

``POST <token_url>?grant_type=account_credentials&account_id=<id>`` with HTTP Basic
credentials answers ``{access_token, token_type, expires_in: 3599, scope}``. There is no
refresh token: a new token is fetched before the old one expires, and once more when Zoom
answers 124 (the HttpClient's one refresh per request).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import check_url
from connectors.tokens import CachedToken
from connectors.zoom.errors import classify_zoom
from core.redaction import redact


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """A Server-to-Server OAuth app: where to ask, for which account, as whom."""

    token_url: str
    account_id: str
    client_id: str
    client_secret: str = field(repr=False)


def basic_auth(client_id: str, client_secret: str) -> str:
    """HTTP Basic of the app's id and secret, UTF-8 encoded.

    requests encodes a ``(user, password)`` pair as Latin-1 and fails on any other character;
    a secret may hold any (RFC 7617 names UTF-8).
    """
    pair = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class ZoomTokenAuth(CachedToken):
    """Bearer headers for the API; ``refresh()`` fetches a new token (the HttpClient's Auth)."""

    def __init__(self, app: AppCredentials, session: requests.Session,
                 clock: Callable[[], float] = time.monotonic) -> None:
        check_url(app.token_url)
        super().__init__(f"zoom:{app.token_url}:{app.client_id}", session, clock)
        self.app = app

    def _fetch(self) -> tuple[str, float]:
        """Ask for a token; AUTH (or CONFIG) with Zoom's own words when refused."""
        app = self.app
        response = self._post(
            app.token_url,
            params={"grant_type": "account_credentials", "account_id": app.account_id},
            headers={"Authorization": basic_auth(app.client_id, app.client_secret)},
        )
        if response.status_code != 200:
            error = classify_zoom(response)
            error.message = redact(error.message)
            error.args = (error.message,)
            raise error
        try:
            body = response.json()
            return str(body["access_token"]), float(body.get("expires_in", 3599))
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(ErrorKind.SYSTEM,
                                 "Zoom's token answer has no access_token") from None
