"""Fault injection for the Dataverse sandbox: latency, 503s, 429s, expired tokens, one-shots."""

from __future__ import annotations

from sandboxes.dynamics.errors import (
    INVALID_AUTH_TICKET,
    REQUEST_NOT_AUTHENTICATED,
    SERVICE_PROTECTION_REQUESTS,
    UNEXPECTED,
    DataverseError,
)
from sandboxes.faults import FaultsBase


class FaultError(DataverseError):
    """A call-level fault: a DataverseError plus extra response headers (Retry-After, ...)."""

    def __init__(
        self, code: str, message: str, status: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(code, message, status)
        self.headers = dict(headers or {})


def transient_error() -> FaultError:
    """A 503 with the documented generic code and its words (the List's UnExpected)."""
    return FaultError(UNEXPECTED, "An unexpected error occurred.", 503)


def token_error(resource_url: str = "", tenant: str = "", *, missing: bool = False
                ) -> FaultError:
    """The 401 for a missing bearer token, or for one the environment does not accept.

    Both codes are among the 401 errors "Compose HTTP requests and handle errors" names
    (RequestIsNotAuthenticated, InvalidAuthTicket); an expired token does not pass
    validation either, so it gets InvalidAuthTicket too.
    """
    challenge = (
        'Bearer error="invalid_token", error_description="Error identified in Payload provided '
        'by the user. Error Details: The token is expired or invalid"'
    )
    if tenant:
        challenge += f", authorization_uri=https://login.microsoftonline.com/{tenant}/oauth2/authorize"
    if resource_url:
        challenge += f", resource_id={resource_url}"
    if missing:
        return FaultError(REQUEST_NOT_AUTHENTICATED, "Request is not authenticated.", 401,
                          {"WWW-Authenticate": challenge})
    return FaultError(
        INVALID_AUTH_TICKET,
        "The ticket specified for authentication didn't pass validation",
        401,
        {"WWW-Authenticate": challenge},
    )


def rate_limited_error(retry_after: float) -> FaultError:
    seconds = str(max(1, round(retry_after)))
    return FaultError(
        SERVICE_PROTECTION_REQUESTS,
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
