"""OAuth tokens for Salesforce: our own POST to ``/services/oauth2/token``, three grants.

simple-salesforce's login helpers build ``https://{domain}.salesforce.com`` URLs, which
reach neither a My Domain login host given as a URL nor a local sandbox, so the token is
fetched here and handed to simple-salesforce as ``session_id`` + ``instance_url``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import jwt
import requests

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import check_url
from connectors.salesforce.errors import rule_for
from connectors.tokens import TOKEN_TIMEOUT
from core.redaction import redact, redacted_excerpt

#: A JWT assertion only needs to outlive the request; Salesforce allows at most 3 minutes.
JWT_LIFETIME_SECONDS = 180


class Grant(StrEnum):
    """The OAuth flows a connection can use (``auth:`` setting)."""

    PASSWORD = "password"
    CLIENT_CREDENTIALS = "client_credentials"
    JWT = "jwt"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the token request needs; secrets included, so never logged or shown."""

    login_url: str
    grant: Grant
    client_id: str | None = None
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    private_key: str | None = None

    def __repr__(self) -> str:
        return f"<Credentials {self.grant} {urlsplit(self.login_url).hostname}>"

    def missing(self) -> list[str]:
        """Settings this grant needs but that are not set."""
        needed = {
            Grant.PASSWORD: ("client_id", "client_secret", "username", "password"),
            Grant.CLIENT_CREDENTIALS: ("client_id", "client_secret"),
            Grant.JWT: ("client_id", "username", "private_key"),
        }[self.grant]
        return [name for name in needed if not getattr(self, name)]


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and where to use it."""

    access_token: str
    instance_url: str
    #: The integration user's id (from the identity URL), when the response names it.
    user_id: str | None = None

    def __repr__(self) -> str:
        return f"<Token for {urlsplit(self.instance_url).hostname}>"


def token_url(login_url: str) -> str:
    """The token endpoint under a login URL (``https://login.salesforce.com``, a My Domain)."""
    return login_url.rstrip("/") + "/services/oauth2/token"


def token_form(credentials: Credentials, now: float | None = None) -> dict[str, str]:
    """The form body of the token request for the credentials' grant."""
    c = credentials
    if c.grant is Grant.PASSWORD:
        return {
            "grant_type": "password",
            "client_id": c.client_id or "",
            "client_secret": c.client_secret or "",
            "username": c.username or "",
            # Salesforce wants the security token appended to the password (when one is set).
            "password": (c.password or "") + (c.security_token or ""),
        }
    if c.grant is Grant.CLIENT_CREDENTIALS:
        return {
            "grant_type": "client_credentials",
            "client_id": c.client_id or "",
            "client_secret": c.client_secret or "",
        }
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": c.client_id,
        "sub": c.username,
        "aud": c.login_url.rstrip("/"),
        "exp": issued + JWT_LIFETIME_SECONDS,
    }
    try:
        assertion = jwt.encode(claims, c.private_key or "", algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        # The key's text must not reach the message: only what kind of problem it is.
        raise ConnectorError(
            ErrorKind.CONFIG,
            f"private_key is not a usable RSA private key ({type(exc).__name__})",
            hint="paste the PEM text of the connected app's certificate key",
        ) from None
    return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}


def fetch_token(credentials: Credentials, session: requests.Session) -> Token:
    """POST the token request; AUTH with Salesforce's own words when it refuses."""
    url = token_url(credentials.login_url)
    try:
        response = session.post(url, data=token_form(credentials), timeout=TOKEN_TIMEOUT)
    except (requests.ConnectionError, requests.Timeout) as exc:
        host = urlsplit(url).hostname
        raise ConnectorError(
            ErrorKind.TRANSIENT, f"{type(exc).__name__} talking to {host} for a token"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
        return _token(body)
    raise _token_error(response, body)


def _token(body: dict) -> Token:
    instance_url = str(body.get("instance_url") or "")
    check_url(instance_url)  # an http:// instance is only acceptable on loopback
    identity = str(body.get("id") or "")
    # ".../id/00Dxx0000000001/005xx0000000001" → the user id is the last segment.
    user_id = identity.rstrip("/").rsplit("/", 1)[-1] if "/id/" in identity else None
    # One slot per org: each refresh replaces the token before last, not adds to them all.
    redact.rotate(f"salesforce:{instance_url}", str(body["access_token"]))
    return Token(str(body["access_token"]), instance_url.rstrip("/"), user_id or None)


def _token_error(response: requests.Response, body: object) -> ConnectorError:
    status = response.status_code
    if isinstance(body, dict) and body.get("error"):
        code = str(body["error"])
        description = str(body.get("error_description") or code)
        kind = ErrorKind.TRANSIENT if status >= 500 else rule_for(code, 401).kind
        if kind is ErrorKind.SYSTEM:
            kind = ErrorKind.AUTH
        return ConnectorError(
            kind,
            redact(f"{code}: {description}"),
            code=code,
            status=status,
            hint=rule_for(code).hint or "check the connection's credentials",
        )
    if status >= 500 or status == 429:
        kind = ErrorKind.TRANSIENT if status >= 500 else ErrorKind.RATE_LIMITED
        return ConnectorError(kind, f"token request answered HTTP {status}", status=status)
    text = json.dumps(body) if body is not None else response.text
    return ConnectorError(
        ErrorKind.AUTH,
        f"token request answered HTTP {status}: {redacted_excerpt(text, 200)}",
        status=status,
        hint="check login_url: it should be https://login.salesforce.com or your My Domain",
    )
