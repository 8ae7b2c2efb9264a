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
from connectors.tokens import CachedToken
from core.redaction import redact, redacted_excerpt


class TokenAuth(CachedToken):
    """Bearer headers for the Web API; ``refresh()`` after a 401 (the HttpClient's Auth)."""

    def __init__(self, credentials: Credentials, session: requests.Session,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(f"dynamics:{credentials.token_url}:{credentials.client_id}", session,
                         clock)
        self.credentials = credentials

    def _fetch(self) -> tuple[str, float]:
        """POST the client-credentials form; AUTH with Entra ID's own words when refused."""
        c = self.credentials
        form = {"grant_type": "client_credentials", "client_id": c.client_id,
                "client_secret": c.client_secret, "scope": c.scope}
        response = self._post(c.token_url, data=form)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
            lifetime = body.get("expires_in")
            seconds = float(lifetime) if isinstance(lifetime, int | float | str) and str(
                lifetime).replace(".", "", 1).isdigit() else 3599.0
            return str(body["access_token"]), seconds
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
