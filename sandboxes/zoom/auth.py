"""Server-to-Server OAuth: ``POST /oauth/token?grant_type=account_credentials`` and scopes."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sandboxes.tokens import Session, TokenStore, same_secret
from sandboxes.zoom.errors import MISSING_SCOPE, ZoomError, invalid_token

#: What Zoom reports as ``expires_in`` for a S2S access token (one hour minus a second).
DEFAULT_TOKEN_LIFETIME_S = 3599

#: Classic scopes: what each API family needs (any one of a tuple suffices), from the spec.
WEBINAR_READ = ("webinar:read:admin", "webinar:read")
WEBINAR_WRITE = ("webinar:write:admin", "webinar:write")
REPORT_READ = ("report:read:admin",)
ALL_SCOPES = (*WEBINAR_READ, *WEBINAR_WRITE, *REPORT_READ, "user:read:admin")


class OAuthError(Exception):
    """A token-endpoint refusal: ``{"reason", "error"}`` (the shape Zoom's OAuth server uses)."""

    def __init__(self, error: str, reason: str, status: int) -> None:
        super().__init__(f"{error}: {reason}")
        self.error = error
        self.reason = reason
        self.status = status

    def body(self) -> dict[str, str]:
        return {"reason": self.reason, "error": self.error}


@dataclass
class App:
    """A Server-to-Server OAuth app of the account: credentials and the scopes it was given."""

    client_id: str
    client_secret: str
    scopes: list[str] = field(default_factory=lambda: list(ALL_SCOPES))


@dataclass(frozen=True)
class ScopedSession:
    """A live token and the scopes it carries."""

    session: Session
    scopes: frozenset[str]


class Auth(TokenStore):
    """Checks token requests of one account's apps; keeps tokens with their scopes."""

    def __init__(
        self,
        *,
        account_id: str,
        apps: list[App],
        token_lifetime_s: float | None = DEFAULT_TOKEN_LIFETIME_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self.apps = {app.client_id: app for app in apps}
        self._scopes: dict[str, frozenset[str]] = {}
        super().__init__(token_lifetime_s, clock)

    def token_response(self, args: Mapping[str, str], authorization: str | None) -> dict:
        """The success body of the token request, or :class:`OAuthError`."""
        client_id, client_secret = _basic_credentials(authorization)
        grant_type = args.get("grant_type", "")
        if not grant_type:
            raise OAuthError("invalid_request", "Missing grant type", 400)
        if grant_type != "account_credentials":
            raise OAuthError("unsupported_grant_type", "unsupported grant type", 400)
        if client_id is None:
            raise OAuthError("invalid_client", "Invalid client_id or client_secret", 401)
        app = self.apps.get(client_id)
        if app is None or not same_secret(client_secret or "", app.client_secret):
            raise OAuthError("invalid_client", "Invalid client_id or client_secret", 401)
        if args.get("account_id", "") != self.account_id:
            raise OAuthError("invalid_request", "Invalid account_id", 400)
        session = self.issue(app)
        return {
            "access_token": session.access_token,
            "token_type": "bearer",
            "expires_in": int(self.token_lifetime_s or DEFAULT_TOKEN_LIFETIME_S),
            "scope": " ".join(sorted(app.scopes)),
            "api_url": "https://api.zoom.us",
        }

    def issue(self, app: App | None = None) -> Session:
        """Mint a token for ``app`` (the first app by default) without the HTTP flow."""
        app = app or next(iter(self.apps.values()))
        session = self._keep(secrets.token_urlsafe(48), self.account_id, app.client_id)
        self._scopes[session.access_token] = frozenset(app.scopes)
        return session

    def check(self, authorization: str | None, needed: tuple[str, ...]) -> ScopedSession:
        """The session of a request's bearer token having one of ``needed``, else ZoomError."""
        token = bearer_token(authorization)
        if not token:
            raise invalid_token()
        known = token in self._scopes
        session = self.session_for(token)
        if session is None:
            # Zoom words an expired token differently from an unknown one (*unconfirmed*).
            raise invalid_token("Access token is expired." if known else "Invalid access token.")
        scopes = self._scopes.get(token, frozenset())
        if needed and not scopes.intersection(needed):
            raise ZoomError(
                MISSING_SCOPE,
                f"Invalid access token, does not contain scopes:[{', '.join(needed)}].",
                400,
            )
        return ScopedSession(session, scopes)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    """Client id and secret from ``Authorization: Basic base64(id:secret)``."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)
