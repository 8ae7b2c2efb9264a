"""Zoom's ``{code, message}`` errors in Syncline's vocabulary.

Zoom answers errors with an HTTP status and a body ``{"code": <int>, "message": "..."}``; its
token endpoint answers ``{"reason": "...", "error": "invalid_client"}``. The table maps the
codes a webinar sync meets. Sources: Zoom's API reference (the OpenAPI document's per-call
error lists: 300, 3000, 3001, 3038), its "Rate limits" page (429 and its ``X-RateLimit-*`` and
``Retry-After`` headers), its "OAuth error messages" page (4700 and the 47xx token codes), and
developer-forum reports (124 "Invalid access token.", 4711 for a token without a scope).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.errors import ConnectorError, ErrorKind, ErrorRule, classify
from connectors.http import error_details, parse_retry_after

#: The code of "webinar not found or expired", which is also how a report not ready yet is
#: answered: callers reading a report treat it as "later", not as an error.
NOT_FOUND_OR_NOT_READY = "3001"
#: "This webinar does not have registration as required."
NO_REGISTRATION = "3000"

ERROR_TABLE: dict[str, ErrorRule] = {
    "124": ErrorRule(ErrorKind.AUTH, "the access token is invalid or expired; check the app's "
                     "account id, client id and secret"),
    "300": ErrorRule(ErrorKind.VALIDATION, "Zoom refused a value of this request"),
    "3000": ErrorRule(ErrorKind.VALIDATION, "this webinar takes no registration (its approval "
                      "type): turn registration on in Zoom"),
    "3001": ErrorRule(ErrorKind.NOT_FOUND, "the webinar is gone from Zoom, or its report is not "
                      "ready yet"),
    "3038": ErrorRule(ErrorKind.VALIDATION, "the webinar is over: Zoom takes no registration "
                      "for it"),
    "4700": ErrorRule(ErrorKind.PERMISSION, "the token carries no scope for this call: add the "
                      "scopes in the Server-to-Server OAuth app"),
    "4711": ErrorRule(ErrorKind.PERMISSION, "the app lacks a scope this call needs: add it in "
                      "the Server-to-Server OAuth app, then reactivate the app"),
    "invalid_client": ErrorRule(ErrorKind.AUTH, "check client_id and client_secret"),
    "invalid_request": ErrorRule(ErrorKind.AUTH, "check account_id: the app belongs to another "
                                 "account"),
    "unsupported_grant_type": ErrorRule(ErrorKind.CONFIG, "the app is not a Server-to-Server "
                                        "OAuth app"),
}


def _payload(response: requests.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.text) if response.text else None
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def classify_zoom(response: requests.Response) -> ConnectorError:
    """A non-2xx Zoom answer as a ConnectorError: the table, else the HTTP status."""
    status = response.status_code
    body = _payload(response)
    if "reason" in body and "error" in body:  # the token endpoint's shape
        message, code = str(body["reason"]), str(body["error"])
    else:
        message, code = error_details(response)
    if status == 429:
        return ConnectorError(ErrorKind.RATE_LIMITED, message, code=code, status=status,
                              retry_after=_rate_limit_wait(response),
                              hint=_rate_limit_hint(response))
    default = ErrorKind.TRANSIENT if status >= 500 else {
        400: ErrorKind.VALIDATION, 401: ErrorKind.AUTH, 403: ErrorKind.PERMISSION,
        404: ErrorKind.NOT_FOUND}.get(status, ErrorKind.SYSTEM)
    rule = classify(ERROR_TABLE, code, default)
    return ConnectorError(rule.kind, message, code=code, status=status, hint=rule.hint or None)


def _rate_limit_wait(response: requests.Response) -> float:
    """Seconds until the limit lifts: the daily limit's Retry-After, else one second."""
    header = response.headers.get("Retry-After")
    waited = parse_retry_after(header)
    if waited is None and header:
        # Zoom's daily limit names the next 00:00 UTC as an ISO time, not an HTTP-date.
        waited = _seconds_until_iso(header)
    # The per-second limits send no Retry-After: the next second is the next window.
    return waited if waited is not None else 1.0


def _seconds_until_iso(value: str) -> float | None:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def is_daily_limit(response: requests.Response) -> bool:
    """Whether a 429 is the daily limit (wait for 00:00 UTC), not a per-second one."""
    return (response.status_code == 429
            and response.headers.get("X-RateLimit-Type", "").lower() == "daily-limit")


def _rate_limit_hint(response: requests.Response) -> str:
    kind = response.headers.get("X-RateLimit-Type", "")
    if kind.lower() == "daily-limit":
        return "Zoom's daily limit for this kind of call is spent; it resets at 00:00 UTC"
    return "Zoom's per-second limit; the call is retried in a moment"
