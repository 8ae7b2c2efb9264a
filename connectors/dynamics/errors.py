"""Dataverse's hex error codes in Syncline's vocabulary, and per-record errors with a fix hint."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import requests

from connectors.base import FieldInfo, ObjectInfo
from connectors.errors import (
    ConnectorError,
    ErrorKind,
    ErrorRule,
    FieldRefusal,
    PicklistRefusal,
    classify,
    picklist_hint,
)
from connectors.http import error_details
from core.redaction import redact

_V = ErrorKind.VALIDATION
_T = ErrorKind.TRANSIENT

#: Web API ``error.code`` (lower-case hex, as the docs write it) → kind and fix hint.
#: :func:`record_error` sharpens the hints with describe information. Sources, cited as:
#: "List" = Microsoft's "Web service error codes (Microsoft Dataverse)",
#: learn.microsoft.com/power-apps/developer/data-platform/reference/web-service-error-codes;
#: "Client errors" = "Troubleshoot Dataverse Web API client errors",
#: learn.microsoft.com/troubleshoot/power-platform/power-apps/dataverse/web-api-client-errors;
#: "Compose" = "Compose HTTP requests and handle errors", learn.microsoft.com/power-apps/
#: developer/data-platform/webapi/compose-http-requests-handle-errors.
ERROR_TABLE: dict[str, ErrorRule] = {
    # List: ObjectDoesNotExist (404).
    "0x80040217": ErrorRule(ErrorKind.NOT_FOUND, "the record was deleted in Dynamics"),
    # List: RecordNotFoundByEntityKey (an update-only write by alternate key).
    "0x80060891": ErrorRule(ErrorKind.NOT_FOUND, "no record holds this key in Dynamics"),
    # List: CrmHttpError; Client errors: "Resource not found for the segment" (404).
    "0x8006088a": ErrorRule(ErrorKind.CONFIG, "fix the table name in the mapping"),
    # List: DuplicateRecord; Compose: one of the 412 errors.
    "0x80040237": ErrorRule(
        ErrorKind.DUPLICATE, "another record holds this key value; link to it or change it"),
    # List: DuplicateRecordEntityKey ("Entity Key {0} violated ...").
    "0x80060892": ErrorRule(
        ErrorKind.DUPLICATE, "another record holds this key value; link to it or change it"),
    # List: CrmSQLUniqueIndexOrConstraintViolation.
    "0x80073002": ErrorRule(
        ErrorKind.DUPLICATE, "another record holds this unique value; link to it or change it"),
    # List: DuplicateRecordsFound (a duplicate detection rule).
    "0x80040333": ErrorRule(
        ErrorKind.DUPLICATE, "a Dynamics duplicate detection rule matched; merge or link them"),
    # List: ConcurrencyVersionMismatch; Compose: 412.
    "0x80060882": ErrorRule(
        ErrorKind.CONFLICT, "someone changed the record in Dynamics since it was read"),
    # List: StringLengthTooLong; CrmSQLCharLengthTooLong.
    "0x80044331": ErrorRule(_V, "add a truncate transform or shorten the value"),
    "0x80073001": ErrorRule(_V, "add a truncate transform or shorten the value"),
    # List: PicklistValueOutOfRange.
    "0x8004431a": ErrorRule(_V, "add a value_map entry to an allowed option"),
    # List: IntegerValueOutOfRange, DecimalValueOutOfRange.
    "0x8004432f": ErrorRule(_V, "the number is outside the column's range"),
    "0x80044330": ErrorRule(_V, "the number is outside the column's range"),
    # List: InvalidDateTime.
    "0x80040239": ErrorRule(_V, "send a date and time the column accepts (check the transform)"),
    # List: RequiredFieldMissing.
    "0x80040200": ErrorRule(_V, "map a value or a default for the required column"),
    # List: InvalidArgument ("Invalid argument.").
    "0x80040203": ErrorRule(_V, "convert the value to the column's type in the mapping"),
    # List: ODataClientPayloadError; Client errors: an undeclared (navigation) property.
    "0x80048d19": ErrorRule(
        _V, "the payload names an unknown column or has a wrong type; check the mapping"),
    # Client errors: "Could not find a property named ..." and "Invalid property ... was
    # found in entity" both come with code 0x0.
    "0x0": ErrorRule(ErrorKind.CONFIG, "fix the column name in the mapping (see describe)"),
    # List: InvalidPropertyInODataRequestBody.
    "0x80090801": ErrorRule(
        ErrorKind.CONFIG, "fix the column name in the mapping (see describe)"),
    # List: IsvAborted; Compose: the code of an InvalidPluginExecutionException.
    "0x80040265": ErrorRule(
        _V, "a plug-in or business rule in Dynamics refused the record; its message says why"),
    # List: LeadAlreadyInClosedState, InvalidState.
    "0x80040519": ErrorRule(
        ErrorKind.CONFLICT, "the lead is closed in Dynamics; the next read follows it"),
    "0x80040233": ErrorRule(
        ErrorKind.CONFLICT, "the record's state does not allow this change (e.g. a closed lead)"),
    # List: InvalidStateCodeStatusCode.
    "0x80048408": ErrorRule(
        _V, "map statuscode to a status reason that belongs to the record's statecode"),
    # List: PrivilegeDenied, PrincipalPrivilegeDenied; Compose: both 403.
    "0x80040220": ErrorRule(
        ErrorKind.PERMISSION, "give the application user a security role with this privilege"),
    "0x80040231": ErrorRule(
        ErrorKind.PERMISSION, "give the application user a security role with this privilege"),
    # List: UserNotAssignedRoles.
    "0x80042f09": ErrorRule(
        ErrorKind.PERMISSION, "give the application user a security role with this privilege"),
    # List: unManagedidsusernotenabled ("disabled or is not a member of any business unit").
    "0x80040225": ErrorRule(
        ErrorKind.PERMISSION,
        "the application user is disabled or in no business unit; enable it in Dynamics"),
    # List: UserNotMemberOfOrg.
    "0x80072560": ErrorRule(
        ErrorKind.PERMISSION,
        "add the app registration as an application user of this environment"),
    # List: ExpiredAuthTicket, InvalidAuthTicket, RequestIsNotAuthenticated; Compose: 401.
    "0x8004a101": ErrorRule(ErrorKind.AUTH, "the token expired and a new one was refused"),
    "0x8004a100": ErrorRule(ErrorKind.AUTH, "the token was refused; check the credentials"),
    "0x80044302": ErrorRule(ErrorKind.AUTH, "the call carried no token; check the credentials"),
    # List: Throttling* codes; "Service protection API limits": 429 with Retry-After.
    "0x80072322": ErrorRule(ErrorKind.RATE_LIMITED, "service protection: too many requests"),
    "0x80072321": ErrorRule(ErrorKind.RATE_LIMITED, "service protection: execution time"),
    "0x80072326": ErrorRule(ErrorKind.RATE_LIMITED, "service protection: concurrent requests"),
    # List: the server-side errors whose messages say to try again.
    "0x80044150": ErrorRule(_T, "a SQL error in Dynamics (often a deadlock); retried"),
    "0x80044151": ErrorRule(_T, "SQL timeout in Dynamics; retried"),
    "0x8004a001": ErrorRule(_T, "Dynamics was busy; retried"),
    "0x80073000": ErrorRule(_T, "a network error inside Dynamics; retried"),
    "0x80044339": ErrorRule(_T, "a database lock was busy in Dynamics; retried"),
    "0x8004026c": ErrorRule(_T, "a database lock was busy in Dynamics; retried"),
    "0x80048551": ErrorRule(_T, "Dynamics could not open a database transaction; retried"),
    "0x80048559": ErrorRule(_T, "Dynamics could not open a database transaction; retried"),
    "0x80048560": ErrorRule(_T, "Dynamics could not open a database transaction; retried"),
    "0x80048561": ErrorRule(_T, "Dynamics could not open a database transaction; retried"),
    "0x80048554": ErrorRule(_T, "a database operation timed out in Dynamics; retried"),
    # List: UnExpected ("An unexpected error occurred.").
    "0x80040216": ErrorRule(_T, "Dynamics reported an unexpected error; retried"),
    # List: ExpiredVersionStamp. Not retried as it is (the same link fails the same way):
    # read_changes answers it with a full re-read.
    "0x80044352": ErrorRule(
        ErrorKind.CONFIG, "the change-tracking token expired; the read starts over"),
    # List: ChangeTrackingNotEnabledForEntity / ...ForRelatedEntities.
    "0x80072491": ErrorRule(
        ErrorKind.CONFIG, "turn on Track changes for this table in Dynamics (table properties)"),
    "0x80072492": ErrorRule(
        ErrorKind.CONFIG, "turn on Track changes for both tables in Dynamics"),
    # Not in the List: the code seen for refused query options ($skip, $filter with
    # change tracking). Unverified; its message is what the change tracking page documents.
    "0x80060888": ErrorRule(ErrorKind.SYSTEM, "a query Syncline built was refused (a bug)"),
    # Entra ID (token endpoint): OAuth 2.0 error codes, RFC 6749 section 5.2.
    "invalid_client": ErrorRule(ErrorKind.AUTH, "check client_id and client_secret"),
    "unauthorized_client": ErrorRule(
        ErrorKind.AUTH, "the app registration is not allowed here; check client_id"),
    "invalid_scope": ErrorRule(ErrorKind.CONFIG, "check scope (<environment url>/.default)"),
    "invalid_request": ErrorRule(ErrorKind.AUTH, "check token_url (the tenant id) and client_id"),
}

#: ExpiredVersionStamp (the List): "Version stamp associated with the client has expired.
#: Please perform a full sync."
EXPIRED_VERSION_STAMP = "0x80044352"


def is_expired_tracking(error: ConnectorError) -> bool:
    """Whether Dataverse refused a delta link because it can no longer answer it.

    By the documented code, or by the words: the documented message, or a variant that
    speaks of an expired or invalid delta token, whatever the code (it may be empty, or the
    0x80072491 once guessed here). The List names 0x80072491 ChangeTrackingNotEnabledForEntity,
    so that code alone, with its own words, is reported rather than answered with a re-read.
    """
    if error.code == EXPIRED_VERSION_STAMP:
        return True
    text = (error.message or "").lower()
    if "perform a full sync" in text:
        return True
    stale = "expired" in text or "invalid" in text
    return stale and any(words in text for words in ("version stamp", "delta token", "deltatoken"))


#: HTTP status → kind for codes the table does not know.
_STATUS_KINDS: dict[int, ErrorKind] = {
    400: _V, 401: ErrorKind.AUTH, 403: ErrorKind.PERMISSION, 404: ErrorKind.NOT_FOUND,
    405: ErrorKind.SYSTEM, 409: ErrorKind.CONFLICT, 412: ErrorKind.CONFLICT,
    413: ErrorKind.SYSTEM, 429: ErrorKind.RATE_LIMITED,
}


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
    values = values or {}
    field = error.field or _field_in(error.message, info, values)
    if error.code == "0x8004431a" and field and error.refusal is None:
        error.refusal = option_refusal(values.get(field), info.fields.get(field) if info else None)
    hint = _hint(error.code, field, error.message, info, values)
    if error.refusal is not None and field:
        hint = picklist_hint(field, error.refusal.value, error.refusal.allowed)
    if hint:
        error.hint = redact(hint)
    if field and error.field is None:
        error.field = field
    if field and field in values and (error.code in FIELD_REFUSALS or (
            error.code == PAYLOAD_ERROR and _LITERAL.search(error.message))):
        error.refused = (FieldRefusal(field, error.message, error.code, values.get(field),
                                      error.hint, error.refusal),)
    return error


#: Codes that refuse one column for a reason of its own (the message names the column in
#: quotes): StringLengthTooLong, PicklistValueOutOfRange, IntegerValueOutOfRange,
#: DecimalValueOutOfRange, InvalidDateTime (the List). Without that column the record may go.
#: A read-only column is no refusal here: Dataverse ignores columns not valid for the
#: operation (UpdateRequest.Target, in the SDK reference), and checks no email format.
FIELD_REFUSALS = frozenset({"0x80044331", "0x8004431a", "0x8004432f", "0x80044330",
                            "0x80040239"})
#: ODataClientPayloadError (the List): a value the column's type cannot hold is one of them.
PAYLOAD_ERROR = "0x80048d19"
#: The OData library's words for such a value; they name the value and the type, no column.
_LITERAL = re.compile(r"Cannot convert the literal '(.*?)' to the expected type '(Edm\.\w+)'")
#: Edm types → the FieldInfo types whose columns take them.
_EDM_KINDS = {
    "Edm.Int32": {"integer", "picklist"}, "Edm.Int64": {"integer"},
    "Edm.Decimal": {"number"}, "Edm.Double": {"number"}, "Edm.Boolean": {"boolean"},
    "Edm.DateTimeOffset": {"datetime"}, "Edm.Date": {"datetime"}, "Edm.Guid": {"id"},
    "Edm.String": {"string", "text", "email", "url", "phone"},
}


_QUOTED = re.compile(r"'([A-Za-z0-9_]+)'")


def _field_in(message: str, info: ObjectInfo | None,
              values: Mapping[str, Any] | None = None) -> str | None:
    # Dataverse names the column in quotes: "The length of the 'subject' attribute ...".
    if info is None:
        return None
    literal = _LITERAL.search(message)
    if literal is not None:
        return _holder_of(literal.group(1), literal.group(2), info, values or {})
    for name in _QUOTED.findall(message):
        if name in info.fields:
            return name
    return None


def _holder_of(literal: str, edm_type: str, info: ObjectInfo,
               values: Mapping[str, Any]) -> str | None:
    """The one column sent ``literal`` whose type is ``edm_type``; None unless exactly one."""
    kinds = _EDM_KINDS.get(edm_type, set())
    holders = [
        name for name, value in values.items()
        if name in info.fields and info.fields[name].type in kinds
        and _as_literal(value) == literal
    ]
    return holders[0] if len(holders) == 1 else None


def _as_literal(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _hint(code: str | None, field: str | None, message: str, info: ObjectInfo | None,
          values: Mapping[str, Any]) -> str | None:
    described = info.fields.get(field) if info is not None and field else None
    if code == "0x80044331" and field:
        limit = described.length if described is not None else None
        limit_text = f" (max length {limit})" if limit else ""
        return f"add a truncate transform on {field}{limit_text} or shorten the value in the hub"
    if code == "0x80040200" and field:
        return f"map a value or a default for {field}"
    if code in ("0x80040203", "0x80048d19") and described is not None:
        return f"{field} is a {described.type} column; convert the value in the mapping"
    return None


def option_refusal(value: Any, described: FieldInfo | None) -> PicklistRefusal:
    """The refused option label (or number) and the labels the column allows."""
    return PicklistRefusal(value, tuple(described.picklist_values) if described else ())
