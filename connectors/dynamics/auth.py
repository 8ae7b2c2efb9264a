"""Access tokens from Microsoft Entra ID (client credentials, v2 endpoint) with plain requests.

msal and azure-identity insist on an https authority, which a local sandbox is not, and the
token request is one form POST (``grant_type=client_credentials``, the client id and secret,
``scope=<environment>/.default``): we make it ourselves, to a configurable URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from connectors.dynamics.errors import rule_for
from connectors.dynamics.settings import Credentials
from connectors.errors import ConnectorError, ErrorKind
from core.redaction import redact, redacted_excerpt

#: (connect, read) seconds for the token call: it is small or broken.
TOKEN_TIMEOUT = (10.0, 60.0)
#: Fetch a new token this long before the old one expires, so no call goes out on a token
#: that dies in flight.
EXPIRY_MARGIN_SECONDS = 120.0


class TokenAuth:
    """Bearer headers for the Web API; ``refresh()`` after a 401 (the HttpClient's Auth)."""

    def __init__(self, credentials: Credentials, session: requests.Session,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.credentials = credentials
        self.session = session
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0

    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer ...``, fetching a token first when there is none (or old)."""
        if self._token is None or self.clock() >= self._expires_at:
            self.refresh()
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> None:
        """POST the client-credentials form; AUTH with Entra ID's own words when refused."""
        c = self.credentials
        form = {"grant_type": "client_credentials", "client_id": c.client_id,
                "client_secret": c.client_secret, "scope": c.scope}
        try:
            response = self.session.post(c.token_url, data=form, timeout=TOKEN_TIMEOUT)
        except (requests.ConnectionError, requests.Timeout) as exc:
            host = urlsplit(c.token_url).hostname
            raise ConnectorError(
                ErrorKind.TRANSIENT, f"{type(exc).__name__} talking to {host} for a token"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
            self._token = str(body["access_token"])
            redact.rotate(f"dynamics:{c.token_url}:{c.client_id}", self._token)
            lifetime = body.get("expires_in")
            seconds = float(lifetime) if isinstance(lifetime, int | float | str) and str(
                lifetime).replace(".", "", 1).isdigit() else 3599.0
            self._expires_at = self.clock() + max(seconds - EXPIRY_MARGIN_SECONDS, 0.0)
            return
        self._token = None
        raise token_error(response, body)

    def __repr__(self) -> str:
        return f"<TokenAuth {urlsplit(self.credentials.token_url).hostname}>"


def token_error(response: requests.Response, body: object) -> ConnectorError:
    """A refused token request: ``invalid_client: AADSTS7000215: ...``, redacted."""
    status = response.status_code
    if status >= 500 or status == 429:
        kind = ErrorKind.TRANSIENT if status >= 500 else ErrorKind.RATE_LIMITED
        return ConnectorError(kind, f"token request answered HTTP {status}", status=status)
    if isinstance(body, dict) and body.get("error"):
        code = str(body["error"])
        description = str(body.get("error_description") or code)
        rule = rule_for(code)
        kind = rule.kind if rule.kind in (ErrorKind.AUTH, ErrorKind.CONFIG) else ErrorKind.AUTH
        return ConnectorError(kind, redact(f"{code}: {description}"), code=code, status=status,
                              hint=rule.hint or "check the connection's credentials")
    text = json.dumps(body) if body is not None else response.text
    return ConnectorError(
        ErrorKind.AUTH, f"token request answered HTTP {status}: {redacted_excerpt(text, 200)}",
        status=status,
        hint="check token_url: https://login.microsoftonline.com/<tenant-id>/oauth2/v2.0/token",
    )
