"""Errors the Zoom sandbox answers, in Zoom's ``{"code": …, "message": …}`` shape.

Codes and words come from Zoom's API reference (the Meeting API OpenAPI spec: the 4xx
descriptions of each endpoint) unless marked *unconfirmed*; see DESIGN.md.
"""

from __future__ import annotations

from typing import Any

#: Spec: "Invalid webinar ID." / "The next page token is invalid or expired." / validation.
INVALID = 300
#: Spec: "User {userId} does not exist or does not belong to this account."
USER_MISSING = 1001
#: Spec: "This webinar does not have registration as required: {webinarId}."
NO_REGISTRATION = 3000
#: Spec: "Webinar {webinarId} not found or has expired." / "Meeting ID is invalid or not end."
WEBINAR_MISSING = 3001
#: Spec: "Webinar is over, you cannot register now. …"
WEBINAR_OVER = 3038
#: Developer forum (several threads): ``{"code": 124, "message": "Invalid access token."}``.
INVALID_TOKEN = 124
#: Developer forum: "Invalid access token, does not contain scopes:[…]." with 4711 (4700 is
#: sometimes expected, but Zoom's OAuth error table gives 4700 to an empty token).
MISSING_SCOPE = 4711
#: The code Zoom puts in the body of a 429 (developer forum quotes).
RATE_LIMITED = 429


class ZoomError(Exception):
    """A Zoom API error: numeric ``code``, ``message`` and the HTTP ``status`` to answer."""

    def __init__(
        self,
        code: int,
        message: str,
        status: int = 400,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.headers = dict(headers or {})
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """``{"code", "message"}`` plus ``errors`` for a validation failure."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def webinar_not_found(webinar_id: str) -> ZoomError:
    """The 404 of a webinar that does not exist (or has expired)."""
    return ZoomError(WEBINAR_MISSING, f"Webinar {webinar_id} not found or has expired.", 404)


def not_ended(webinar_id: str) -> ZoomError:
    """The 404 for absentees or a report of a webinar that has not ended (or no report yet)."""
    return ZoomError(WEBINAR_MISSING, "Meeting ID is invalid or not end.", 404)


def invalid_token(message: str = "Invalid access token.") -> ZoomError:
    """The 401 of a missing, unknown or expired bearer token."""
    return ZoomError(INVALID_TOKEN, message, 401)


def validation_failed(fields: list[str]) -> ZoomError:
    """A 400 naming each invalid field (*unconfirmed* shape, seen in forum posts)."""
    return ZoomError(
        INVALID, "Validation Failed.", 400,
        errors=[{"field": field, "message": "Invalid field."} for field in fields],
    )
