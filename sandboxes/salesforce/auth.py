"""OAuth 2.0 token endpoint logic (password and client-credentials grants) and the token store."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sandboxes.tokens import Session, TokenStore, same_secret


@dataclass(frozen=True)
class ConnectedApp:
    """A connected app's OAuth consumer credentials."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class ApiUser:
    """A user who may log in with the password grant (password + security token)."""

    username: str
    password: str
    security_token: str
    user_id: str


class OAuthError(Exception):
    """A token-endpoint refusal, rendered as ``{"error", "error_description"}`` with HTTP 400."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class Auth(TokenStore):
    """Checks token requests against the configured apps and users; keeps issued tokens.

    ``token_lifetime_s`` of ``None`` (or 0) means tokens never expire on their own; tests
    expire them with :meth:`expire_all`. ``clock`` returns epoch seconds.
    """

    def __init__(
        self,
        *,
        apps: Iterable[ConnectedApp],
        users: Iterable[ApiUser],
        org_id: str,
        token_lifetime_s: float | None = 7200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps = {app.client_id: app for app in apps}
        self.users = list(users)
        if not self.users:
            raise ValueError("the sandbox needs at least one API user")
        self.org_id = org_id
        super().__init__(token_lifetime_s, clock)

    # -- token endpoint ---------------------------------------------------------------

    def token_response(
        self, form: Mapping[str, str], authorization: str | None, instance_url: str
    ) -> dict:
        """The success body for a token request, or :class:`OAuthError`."""
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            app = self._check_client(form.get("client_id"), form.get("client_secret"))
            user = self._check_user(form.get("username", ""), form.get("password", ""))
        elif grant_type == "client_credentials":
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if not client_id and authorization:
                client_id, client_secret = _basic_credentials(authorization)
            app = self._check_client(client_id, client_secret)
            # The flow runs as the app's "run as" user: here the first configured user.
            user = self.users[0]
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        session = self.issue(user.user_id, app.client_id)
        return self._success_body(session, app, instance_url)

    def _check_client(self, client_id: str | None, client_secret: str | None) -> ConnectedApp:
        app = self.apps.get(client_id or "")
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not same_secret(client_secret or "", app.client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")
        return app

    def _check_user(self, username: str, password: str) -> ApiUser:
        for user in self.users:
            if user.username.lower() != username.lower():
                continue
            accepted = {user.password + user.security_token}
            if not user.security_token:
                accepted.add(user.password)
            if any(same_secret(password, candidate) for candidate in accepted):
                return user
        raise OAuthError("invalid_grant", "authentication failure")

    def _success_body(self, session: Session, app: ConnectedApp, instance_url: str) -> dict:
        identity = f"{instance_url}/id/{self.org_id}/{session.user_id}"
        issued_at = str(int(session.issued_at * 1000))
        # Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
        digest = hmac.new(
            app.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": session.access_token,
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest).decode(),
            "scope": "api",
        }

    # -- token store ------------------------------------------------------------------

    def issue(self, user_id: str, client_id: str = "") -> Session:
        """Mint a token for ``user_id`` (also used by tests that skip the HTTP flow)."""
        return self._keep(f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}", user_id, client_id)

def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` (or ``OAuth <token>``) header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def _basic_credentials(authorization: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret
