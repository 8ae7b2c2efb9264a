"""Bearer tokens from a token endpoint, kept until shortly before they expire.

Dataverse (Entra ID client credentials) and Zoom (Server-to-Server OAuth) both hand out a
token with an ``expires_in`` and no refresh token: a connector asks again before the old one
dies, and once more when the API says it is no longer valid (the HttpClient's one refresh
per request). What differs is the request and the refusal's words; a subclass supplies them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.errors import ConnectorError, ErrorKind
from core.redaction import redact

#: (connect, read) seconds for the token call: it is small or broken.
TOKEN_TIMEOUT = (10.0, 60.0)
#: Fetch a new token this long before the old one expires, so no call goes out on a token
#: that dies in flight.
EXPIRY_MARGIN_SECONDS = 120.0


class CachedToken:
    """``Authorization: Bearer`` headers from a token that ``_fetch`` obtains (an HttpClient Auth).

    ``_fetch`` returns the token and its lifetime in seconds, or raises the ConnectorError
    saying why the endpoint refused; ``redaction_key`` names the token for the redactor, which
    swaps the old one for the new one so neither ever reaches a log or an error.
    """

    def __init__(self, redaction_key: str, session: requests.Session,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redaction_key = redaction_key
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
        """Fetch a new token; a refused fetch leaves none, so the next call asks again."""
        self._token = None
        self.token_calls += 1
        token, lifetime = self._fetch()
        self._token = token
        redact.rotate(self.redaction_key, token)
        self._expires_at = self.clock() + max(lifetime - EXPIRY_MARGIN_SECONDS, 0.0)

    def _fetch(self) -> tuple[str, float]:
        raise NotImplementedError

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST to the token endpoint; a network failure is TRANSIENT, naming only the host."""
        try:
            return self.session.post(url, timeout=TOKEN_TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            host = urlsplit(url).hostname
            raise ConnectorError(
                ErrorKind.TRANSIENT, f"{type(exc).__name__} talking to {host} for a token"
            ) from None
