"""Dataverse's hex error codes in Syncline's vocabulary, and per-record errors with a fix hint."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import requests

from connectors.base import FieldInfo, ObjectInfo
from connectors.errors import ConnectorError, ErrorKind, ErrorRule, classify, redact
from connectors.http import error_details

_V = ErrorKind.VALIDATION

#: Web API ``error.code`` (lower-case hex, as the docs write it) → kind and fix hint
#: (facts C.8). :func:`record_error` sharpens the hints with describe information.
ERROR_TABLE: dict[str, ErrorRule] = {
    "0x80040217": ErrorRule(ErrorKind.NOT_FOUND, "the record was deleted in Dynamics"),
    "0x8006088a": ErrorRule(ErrorKind.CONFIG, "fix the table name in the mapping"),
    "0x80040237": ErrorRule(
        ErrorKind.DUPLICATE, "another record holds this key value; link to it or change it"),
    "0x80040333": ErrorRule(
        ErrorKind.DUPLICATE, "a Dynamics duplicate detection rule matched; merge or link them"),
    "0x80060882": ErrorRule(
        ErrorKind.CONFLICT, "someone changed the record in Dynamics since it was read"),
    "0x80044331": ErrorRule(_V, "add a truncate transform or shorten the value"),
    "0x8004431a": ErrorRule(_V, "add a value_map entry to an allowed option"),
    "0x80040200": ErrorRule(_V, "map a value or a default for the required column"),
    "0x80040203": ErrorRule(_V, "convert the value to the column's type in the mapping"),
    "0x80048d19": ErrorRule(
        _V, "the payload names an unknown column or has a wrong type; check the mapping"),
    "0x0": ErrorRule(ErrorKind.CONFIG, "fix the column name in the mapping (see describe)"),
    "0x80040265": ErrorRule(
        _V, "a plug-in or business rule in Dynamics refused the record; its message says why"),
    "0x80040225": ErrorRule(
        ErrorKind.CONFLICT, "the record's state does not allow this change (e.g. a closed lead)"),
    "0x80042f09": ErrorRule(
        ErrorKind.PERMISSION, "give the application user a security role with this privilege"),
    "0x8004a101": ErrorRule(ErrorKind.AUTH, "the token expired and a new one was refused"),
    "0x80072322": ErrorRule(ErrorKind.RATE_LIMITED, "service protection: too many requests"),
    "0x80072321": ErrorRule(ErrorKind.RATE_LIMITED, "service protection: execution time"),
    "0x80072326": ErrorRule(ErrorKind.RATE_LIMITED, "service protection: concurrent requests"),
    "0x80044150": ErrorRule(ErrorKind.TRANSIENT, "SQL deadlock in Dynamics; retried"),
    "0x80044151": ErrorRule(ErrorKind.TRANSIENT, "SQL timeout in Dynamics; retried"),
    "0x80072491": ErrorRule(
        ErrorKind.CONFIG, "the change-tracking token expired; the read starts over"),
    "0x80060888": ErrorRule(ErrorKind.SYSTEM, "a query Syncline built was refused (a bug)"),
    # Entra ID (token endpoint) codes.
    "invalid_client": ErrorRule(ErrorKind.AUTH, "check client_id and client_secret"),
    "unauthorized_client": ErrorRule(
        ErrorKind.AUTH, "the app registration is not allowed here; check client_id"),
    "invalid_scope": ErrorRule(ErrorKind.CONFIG, "check scope (<environment url>/.default)"),
    "invalid_request": ErrorRule(ErrorKind.AUTH, "check token_url (the tenant id) and client_id"),
}

#: The delta-token error; read_changes answers it with a full re-read.
DELTA_TOKEN_EXPIRED = "0x80072491"

#: HTTP status → kind for codes the table does not know.
_STATUS_KINDS: dict[int, ErrorKind] = {
    400: _V, 401: ErrorKind.AUTH, 403: ErrorKind.PERMISSION, 404: ErrorKind.NOT_FOUND,
    405: ErrorKind.SYSTEM, 409: ErrorKind.CONFLICT, 412: ErrorKind.CONFLICT,
    413: ErrorKind.SYSTEM, 429: ErrorKind.RATE_LIMITED,
}
_MAX_ALLOWED_SHOWN = 12
_MAX_VALUE_SHOWN = 60


def rule_for(code: str | None, status: int | None = None) -> ErrorRule:
    """The table's rule for a code; unknown codes fall back on the HTTP status."""
    code = code.lower() if code else code
    if status is not None and status >= 500 and (code is None or code not in ERROR_TABLE):
        return ErrorRule(ErrorKind.TRANSIENT, "Dynamics had a server error; retried")
    if status in (401, 403, 429) and (code is None or code not in ERROR_TABLE):
        return ErrorRule(_STATUS_KINDS[status])
    rule = classify(ERROR_TABLE, code, _STATUS_KINDS.get(status or 0, ErrorKind.SYSTEM))
    if status == 401 and rule.kind is not ErrorKind.AUTH:
        # Whatever the code says, a 401 means the token: refresh once, then AUTH.
        return ErrorRule(ErrorKind.AUTH, rule.hint)
    return rule


def error_of(status: int, body: Any, fallback: str | None = None) -> ConnectorError:
    """A Web API error body (``{"error": {"code", "message"}}``) as a ConnectorError."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        code = str(error.get("code")) if error.get("code") is not None else None
        message = str(error.get("message") or fallback or f"HTTP {status}")
    else:
        code, message = None, fallback or f"HTTP {status}"
    rule = rule_for(code, status)
    return ConnectorError(rule.kind, redact(message), code=code.lower() if code else None,
                          status=status, hint=rule.hint or None)


def classify_response(response: requests.Response) -> ConnectorError:
    """The HttpClient classifier: the table first, the status when the code is unknown."""
    try:
        body = json.loads(response.text) if response.text else None
    except ValueError:
        body = None
    message, _code = error_details(response)
    return error_of(response.status_code, body, message)


def record_error(
    error: ConnectorError,
    info: ObjectInfo | None = None,
    values: Mapping[str, Any] | None = None,
) -> ConnectorError:
    """Sharpen one failed record's error with what describe knows (allowed options, lengths)."""
    field = error.field or _field_in(error.message, info)
    hint = _hint(error.code, field, error.message, info, values or {})
    if hint:
        error.hint = redact(hint)
    if field and error.field is None:
        error.field = field
    return error


_QUOTED = re.compile(r"'([A-Za-z0-9_]+)'")


def _field_in(message: str, info: ObjectInfo | None) -> str | None:
    # Dataverse names the column in quotes: "The length of the 'subject' attribute ...".
    if info is None:
        return None
    for name in _QUOTED.findall(message):
        if name in info.fields:
            return name
    return None


def _hint(code: str | None, field: str | None, message: str, info: ObjectInfo | None,
          values: Mapping[str, Any]) -> str | None:
    described = info.fields.get(field) if info is not None and field else None
    if code == "0x8004431a" and field:
        return option_hint(field, values.get(field), described)
    if code == "0x80044331" and field:
        limit = described.length if described is not None else None
        limit_text = f" (max length {limit})" if limit else ""
        return f"add a truncate transform on {field}{limit_text} or shorten the value in the hub"
    if code == "0x80040200" and field:
        return f"map a value or a default for {field}"
    if code in ("0x80040203", "0x80048d19") and described is not None:
        return f"{field} is a {described.type} column; convert the value in the mapping"
    return None


def option_hint(field: str, value: Any, described: FieldInfo | None) -> str:
    """``add a value_map entry for 'X' on field; allowed: A, B, …``."""
    hint = f"add a value_map entry for {_shown(value)} on {field}"
    allowed = list(described.picklist_values) if described is not None else []
    if allowed:
        shown = ", ".join(allowed[:_MAX_ALLOWED_SHOWN])
        more = len(allowed) - _MAX_ALLOWED_SHOWN
        if more > 0:
            shown += f", … ({more} more)"
        hint += f"; allowed: {shown}"
    return hint


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_VALUE_SHOWN else text[: _MAX_VALUE_SHOWN - 1] + "…"
