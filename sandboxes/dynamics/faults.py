"""Fault injection for the Dataverse sandbox: latency, 503s, 429s, expired tokens, one-shots."""

from __future__ import annotations

from sandboxes.dynamics.errors import DataverseError
from sandboxes.faults import FaultsBase


class FaultError(DataverseError):
    """A call-level fault: a DataverseError plus extra response headers (Retry-After, ...)."""

    def __init__(
        self, code: str, message: str, status: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(code, message, status)
        self.headers = dict(headers or {})


def transient_error() -> FaultError:
    return FaultError(
        "0x80040216",
        "The service is temporarily unavailable. Please try again later.",
        503,
    )


def token_error(resource_url: str = "", tenant: str = "") -> FaultError:
    """The 401 Dataverse answers for a missing, unknown or expired bearer token."""
    challenge = (
        'Bearer error="invalid_token", error_description="Error identified in Payload provided '
        'by the user. Error Details: The token is expired or invalid"'
    )
    if tenant:
        challenge += f", authorization_uri=https://login.microsoftonline.com/{tenant}/oauth2/authorize"
    if resource_url:
        challenge += f", resource_id={resource_url}"
    return FaultError(
        "0x80072560",
        "The user is not authenticated: the access token is missing, invalid or expired.",
        401,
        {"WWW-Authenticate": challenge},
    )


def rate_limited_error(retry_after: float) -> FaultError:
    seconds = str(max(1, round(retry_after)))
    return FaultError(
        "0x80072322",
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
        429,
        {"Retry-After": seconds},
    )


class Faults(FaultsBase):
    """Dataverse's faults: 503s, 429s with Retry-After, expired tokens (the shared set)."""

    def _unavailable(self) -> FaultError:
        return transient_error()

    def _unauthenticated(self) -> FaultError:
        return token_error()

    def _throttled(self, retry_after: float) -> FaultError:
        return rate_limited_error(retry_after)
