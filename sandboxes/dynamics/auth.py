"""The sandbox's Microsoft identity platform token endpoint: client credentials, expiring tokens."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sandboxes.tokens import Session, TokenStore, same_secret

#: What Entra ID reports as ``expires_in`` for a default access token.
DEFAULT_TOKEN_LIFETIME_S = 3599


@dataclass(frozen=True)
class AppRegistration:
    """An app registration (client id + secret) with an application user in the environment."""

    client_id: str
    client_secret: str
    #: The application user's systemuserid in Dataverse (whom service protection counts).
    user_id: str


class AadError(Exception):
    """A token-endpoint refusal in the Entra ID (AADSTS) shape."""

    def __init__(self, error: str, aadsts: int, description: str, status: int) -> None:
        super().__init__(f"{error}: AADSTS{aadsts}")
        self.error = error
        self.aadsts = aadsts
        self.description = description
        self.status = status

    def body(self) -> dict:
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace_id} "
                f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
            ),
            "error_codes": [self.aadsts],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }


class Auth(TokenStore):
    """Checks token requests against the registered apps of one tenant; keeps issued tokens.

    ``token_lifetime_s`` of ``None`` (or 0) means tokens never expire on their own; tests
    expire them with :meth:`expire_all`. ``clock`` returns epoch seconds.
    """

    def __init__(
        self,
        *,
        tenant: str,
        apps: list[AppRegistration],
        token_lifetime_s: float | None = DEFAULT_TOKEN_LIFETIME_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not apps:
            raise ValueError("the sandbox needs at least one app registration")
        self.tenant = tenant
        self.apps = {app.client_id: app for app in apps}
        super().__init__(token_lifetime_s, clock)

    # -- token endpoint ---------------------------------------------------------------

    def token_response(self, tenant: str, form: Mapping[str, str]) -> dict:
        """The success body of ``POST /{tenant}/oauth2/v2.0/token``, or :class:`AadError`."""
        if tenant.lower() != self.tenant.lower() and tenant not in ("organizations", "common"):
            raise AadError(
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant "
                "ID and are signing into the correct cloud.",
                400,
            )
        if form.get("grant_type") != "client_credentials":
            raise AadError(
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type "
                f"'{form.get('grant_type', '')}'.",
                400,
            )
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            raise AadError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
                400,
            )
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:
            raise AadError(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant}'. This can happen if the application has not been installed "
                "by the administrator of the tenant or consented to by any user in the tenant. "
                "You may have sent your authentication request to the wrong tenant.",
                400,
            )
        if not same_secret(form.get("client_secret", ""), app.client_secret):
            raise AadError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{client_id}'.",
                401,
            )
        session = self.issue(app)
        lifetime = int(self.token_lifetime_s or DEFAULT_TOKEN_LIFETIME_S)
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": session.access_token,
        }

    # -- token store ------------------------------------------------------------------

    def issue(self, app: AppRegistration | None = None) -> Session:
        """Mint a token for ``app`` (default: the first one); tests may skip the HTTP flow."""
        app = app or next(iter(self.apps.values()))
        # Real tokens are JWTs ("eyJ0eXAi..."); clients only pass them back, so opaque will do.
        token = "eyJ0eXAiOiJKV1QiLCJzYW5kYm94Ijp0cnVlfQ." + secrets.token_urlsafe(48)
        return self._keep(token, app.user_id, app.client_id)

def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
