"""Salesforce's error codes in Syncline's vocabulary, and per-record errors with a fix hint."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import ObjectInfo
from connectors.errors import (
    ConnectorError,
    ErrorKind,
    ErrorRule,
    FieldRefusal,
    PicklistRefusal,
    classify,
    picklist_hint,
    shown_value,
)
from core.redaction import redact, redacted_excerpt

_V = ErrorKind.VALIDATION

#: errorCode (top-level REST errors) / statusCode (per-record results) → kind and fix hint.
#: Hints here are generic; :func:`record_error` sharpens them with describe information.
#: Sources, cited as: "StatusCode" / "ExceptionCode" = the enumerations of the org's WSDL,
#: which "Core Data Types Used in API Calls" (SOAP API Developer Guide, developer.salesforce
#: .com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm) names
#: as the list of codes; "REST" = "Status Codes and Error Responses", REST API Developer Guide
#: (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm); "Bulk" =
#: "Errors", Bulk API 2.0 and Bulk API Developer Guide (developer.salesforce.com/docs/
#: atlas.en-us.api_asynch.meta/api_asynch/bulk_api_2_0_errors.htm); "RFC 6749" = the OAuth 2.0
#: token error codes (section 5.2). The kinds and hints are ours: the documents name the
#: codes, they do not say what a sync should do about them.
ERROR_TABLE: dict[str, ErrorRule] = {
    # -- sessions, limits, availability
    # ExceptionCode; REST: 401, "the session ID or OAuth token used has expired or is invalid".
    "INVALID_SESSION_ID": ErrorRule(
        ErrorKind.AUTH, "the session expired and a new token was refused; check the credentials"),
    # ExceptionCode.
    "INVALID_AUTH_HEADER": ErrorRule(ErrorKind.AUTH, "check the connection's credentials"),
    # ExceptionCode.
    "INVALID_OPERATION_WITH_EXPIRED_PASSWORD": ErrorRule(
        ErrorKind.AUTH, "the integration user's password expired; reset it in Salesforce"),
    # RFC 6749.
    "invalid_grant": ErrorRule(
        ErrorKind.AUTH, "check username, password and security token (or the connected app)"),
    # Salesforce's OAuth error for an unknown consumer key (its OAuth pages; not checked here).
    "invalid_client_id": ErrorRule(ErrorKind.AUTH, "check client_id (the consumer key)"),
    # RFC 6749.
    "invalid_client": ErrorRule(ErrorKind.AUTH, "check client_id and client_secret"),
    # RFC 6749.
    "unsupported_grant_type": ErrorRule(
        ErrorKind.CONFIG, "enable this OAuth flow on the connected app, or change auth"),
    # ExceptionCode; REST: a 403 with this code means the org's API request limit is spent.
    "REQUEST_LIMIT_EXCEEDED": ErrorRule(
        ErrorKind.RATE_LIMITED,
        "the org's API limit is spent; syncs resume as the rolling 24-hour window frees calls"),
    # Bulk: ExceededQuota (the job or batch count of the past 24 hours).
    "EXCEEDED_QUOTA": ErrorRule(
        ErrorKind.RATE_LIMITED, "the daily Bulk API job or batch allowance is spent; retried"),
    # ExceptionCode.
    "SERVER_UNAVAILABLE": ErrorRule(ErrorKind.TRANSIENT, "Salesforce is unavailable; retried"),
    # StatusCode and ExceptionCode.
    "UNABLE_TO_LOCK_ROW": ErrorRule(
        ErrorKind.TRANSIENT, "another process held the record; retried automatically"),
    # StatusCode.
    "ALL_OR_NONE_OPERATION_ROLLED_BACK": ErrorRule(
        ErrorKind.TRANSIENT, "rolled back because another record failed; resent"),
    # StatusCode and ExceptionCode.
    "QUERY_TIMEOUT": ErrorRule(ErrorKind.TRANSIENT, "the query took too long; retried"),
    "REQUEST_RUNNING_TOO_LONG": ErrorRule(ErrorKind.TRANSIENT, "the call took too long; retried"),
    # StatusCode and ExceptionCode.
    "INVALID_QUERY_LOCATOR": ErrorRule(
        ErrorKind.TRANSIENT, "a query page expired before it was read; the read restarts"),
    # ExceptionCode.
    "API_DISABLED_FOR_ORG": ErrorRule(
        ErrorKind.PERMISSION, "this Salesforce edition or org has API access turned off"),
    "API_CURRENTLY_DISABLED": ErrorRule(
        ErrorKind.PERMISSION, "give the integration user the 'API Enabled' permission"),
    # Bulk: FeatureNotEnabled.
    "FEATURE_NOT_ENABLED": ErrorRule(
        ErrorKind.PERMISSION, "Bulk API 2.0 is not enabled for this org; ask Salesforce"),
    # StatusCode.
    "STORAGE_LIMIT_EXCEEDED": ErrorRule(
        ErrorKind.CONFIG, "the org's data storage is full; free space or buy more"),
    # -- permissions
    # ExceptionCode.
    "INSUFFICIENT_ACCESS": ErrorRule(
        ErrorKind.PERMISSION, "grant the integration user access to this object"),
    # StatusCode.
    "INSUFFICIENT_ACCESS_OR_READONLY": ErrorRule(
        ErrorKind.PERMISSION, "grant the integration user edit access to this record"),
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": ErrorRule(
        ErrorKind.PERMISSION, "grant the integration user access to the referenced record"),
    # -- configuration: the mapping names something Salesforce does not have or allow
    # StatusCode and ExceptionCode.
    "INVALID_FIELD": ErrorRule(
        ErrorKind.CONFIG, "fix the field name in the mapping (see describe)"),
    # StatusCode.
    "INVALID_FIELD_FOR_INSERT_UPDATE": ErrorRule(
        ErrorKind.CONFIG, "this field is read-only; remove it from the push mapping"),
    # StatusCode and ExceptionCode.
    "INVALID_TYPE": ErrorRule(ErrorKind.CONFIG, "fix the object name in the mapping"),
    # REST: 404, "the requested resource couldn't be found".
    "NOT_FOUND": ErrorRule(ErrorKind.NOT_FOUND, "the record was deleted in Salesforce"),
    # -- data the record carries (all StatusCode, JSON_PARSER_ERROR an ExceptionCode)
    "REQUIRED_FIELD_MISSING": ErrorRule(_V, "map a value or a default for the required field"),
    "STRING_TOO_LONG": ErrorRule(_V, "add a truncate transform or shorten the value"),
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": ErrorRule(
        _V, "add a value_map entry to an allowed picklist value"),
    "INVALID_EMAIL_ADDRESS": ErrorRule(_V, "fix the address in the hub or filter it out"),
    "INVALID_TYPE_ON_FIELD_IN_RECORD": ErrorRule(
        _V, "convert the value to the field's type in the mapping"),
    "JSON_PARSER_ERROR": ErrorRule(_V, "convert the value to the field's type in the mapping"),
    "NUMBER_OUTSIDE_VALID_RANGE": ErrorRule(_V, "the number is too large for the field"),
    "INVALID_CROSS_REFERENCE_KEY": ErrorRule(
        _V, "the referenced record does not exist (or is of another type)"),
    "MALFORMED_ID": ErrorRule(_V, "the value is not a Salesforce record id"),
    "INVALID_ID_FIELD": ErrorRule(_V, "the value is not a Salesforce record id"),
    "FIELD_INTEGRITY_EXCEPTION": ErrorRule(_V, "the value breaks a field dependency"),
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": ErrorRule(
        _V, "a Salesforce validation rule refused the record; fix the data or the rule"),
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY": ErrorRule(
        _V, "a trigger or flow in Salesforce refused the record; its message says why"),
    "DELETE_FAILED": ErrorRule(_V, "Salesforce refused the delete; its message says why"),
    # -- duplicates, state conflicts (StatusCode unless said otherwise)
    "DUPLICATE_VALUE": ErrorRule(
        ErrorKind.DUPLICATE, "another record holds this unique value; link to it or change it"),
    "DUPLICATES_DETECTED": ErrorRule(
        ErrorKind.DUPLICATE, "a Salesforce duplicate rule blocked it; merge or link the records"),
    "DUPLICATE_EXTERNAL_ID": ErrorRule(
        ErrorKind.DUPLICATE, "several records share this external id; de-duplicate them"),
    # The sandbox's code for a 300 answer; REST documents the 300 (a list of matching
    # records), and the ExceptionCode list has MULTIPLE_RECORDS_FOUND.
    "MULTIPLE_RECORDS": ErrorRule(
        ErrorKind.DUPLICATE, "several records share this external id; de-duplicate them"),
    "MULTIPLE_RECORDS_FOUND": ErrorRule(
        ErrorKind.DUPLICATE, "several records share this external id; de-duplicate them"),
    "ENTITY_IS_DELETED": ErrorRule(ErrorKind.NOT_FOUND, "the record was deleted in Salesforce"),
    "ENTITY_IS_LOCKED": ErrorRule(
        ErrorKind.CONFLICT, "the record is locked (an approval process); unlock it to sync"),
    "CANNOT_UPDATE_CONVERTED_LEAD": ErrorRule(
        ErrorKind.CONFLICT,
        "the lead was converted and is read-only; the next read moves the link to its contact"),
    # ExceptionCode; getUpdated/getDeleted in the SOAP API Developer Guide: a window that
    # starts too far back (30 days, a purged delete log) or ends too soon after its start.
    "INVALID_REPLICATION_DATE": ErrorRule(
        ErrorKind.CONFIG,
        "the window asked for deleted records is outside what Salesforce lists; check that "
        "this machine's clock is right"),
    # -- our own bugs
    # ExceptionCode.
    "MALFORMED_QUERY": ErrorRule(ErrorKind.SYSTEM, "a query Syncline built was refused (a bug)"),
    "INVALID_QUERY_FILTER_OPERATOR": ErrorRule(
        ErrorKind.SYSTEM, "a query Syncline built was refused (a bug)"),
    # ExceptionCode ("too many ids"); REST documents only the 400 for a Collections call
    # over 200 records, so this code there is inferred.
    "EXCEEDED_ID_LIMIT": ErrorRule(ErrorKind.SYSTEM, "a batch was too large (a bug)"),
    # Bulk: InvalidJob, InvalidJobState (REST bodies carry them upper-case: INVALIDJOB).
    "INVALIDJOB": ErrorRule(ErrorKind.SYSTEM, "a Bulk API job Syncline built was refused (a bug)"),
    "INVALIDJOBSTATE": ErrorRule(
        ErrorKind.SYSTEM, "a Bulk API job was moved to a state it cannot take (a bug)"),
}

#: Per-record statusCodes that refuse one field for a reason of its own (each error names the
#: field in ``fields``): without that field the record may go through. INVALID_FIELD names a
#: field only in Bulk results, where a value its type cannot hold is "Failed to deserialize
#: field"; unnamed (an unknown column) it is the mapping's fault, not a field's value.
FIELD_REFUSALS = frozenset({
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "STRING_TOO_LONG", "INVALID_EMAIL_ADDRESS",
    "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_TYPE_ON_FIELD_IN_RECORD",
    "NUMBER_OUTSIDE_VALID_RANGE", "JSON_PARSER_ERROR", "INVALID_FIELD",
})

#: HTTP status → kind for REST errors whose code the table does not know.
_STATUS_KINDS: dict[int, ErrorKind] = {
    300: ErrorKind.DUPLICATE, 400: _V, 401: ErrorKind.AUTH, 403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND, 409: ErrorKind.CONFLICT, 412: ErrorKind.CONFLICT,
    429: ErrorKind.RATE_LIMITED,
}


def rule_for(code: str | None, status: int | None = None) -> ErrorRule:
    """The table's rule for a code; unknown codes fall back on the HTTP status."""
    code = _known(code)
    if status is not None and status >= 500 and (code is None or code not in ERROR_TABLE):
        return ErrorRule(ErrorKind.TRANSIENT, "Salesforce had a server error; retried")
    default = _STATUS_KINDS.get(status or 0, ErrorKind.SYSTEM)
    return classify(ERROR_TABLE, code, default)


def _known(code: str | None) -> str | None:
    # The Bulk guide writes its codes in CamelCase (InvalidJob, ExceededQuota); bodies carry
    # them upper-case, with or without underscores: accept every spelling.
    if not code or code in ERROR_TABLE:
        return code
    for spelling in (code.upper(), re.sub(r"(?<=[a-z])(?=[A-Z])", "_", code).upper()):
        if spelling in ERROR_TABLE:
            return spelling
    return code


def rest_error(status: int | None, content: Any) -> ConnectorError:
    """A top-level REST error body (``[{"message","errorCode"}]`` or text) as a ConnectorError."""
    entries = content if isinstance(content, list) else [content]
    first = entries[0] if entries and isinstance(entries[0], Mapping) else None
    if first is None:
        text = str(content).strip() if content else ""
        message = f"HTTP {status}: {redacted_excerpt(text, 300)}" if text else f"HTTP {status}"
        code = None
        fields: Sequence[str] = ()
    else:
        message = "; ".join(
            str(e.get("message", "")) for e in entries if isinstance(e, Mapping)
        ) or f"HTTP {status}"
        code = first.get("errorCode") or first.get("statusCode")
        fields = first.get("fields") or ()
    rule = rule_for(code, status)
    return ConnectorError(
        rule.kind,
        redact(message),
        code=code,
        status=status,
        field=fields[0] if fields else None,
        hint=rule.hint or None,
    )


def record_error(
    error: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    info: ObjectInfo | None = None,
    values: Mapping[str, Any] | None = None,
) -> ConnectorError:
    """One failed record's errors (``[{"statusCode","message","fields"}]``) as a ConnectorError.

    The first error decides kind, code and field; every message is kept. ``info`` (describe)
    and ``values`` (what was sent) turn the generic hint into the precise fix.
    """
    errors = [error] if isinstance(error, Mapping) else list(error)
    if not errors:
        return ConnectorError(ErrorKind.SYSTEM, "Salesforce reported a failure without errors")
    first = errors[0]
    code = first.get("statusCode") or first.get("errorCode")
    fields = list(first.get("fields") or ())
    field = fields[0] if fields else None
    message = "; ".join(str(e.get("message", "")) for e in errors)
    rule = rule_for(code)
    values = values or {}
    refusal = _refusal(code, field, first, info, values)
    hint = _hint(code, field, first, info, values, refusal) or rule.hint or None
    return ConnectorError(
        rule.kind,
        redact(message),
        code=code,
        field=field,
        hint=redact(hint) if hint else None,
        refusal=refusal,
        refused=refused_fields(errors, info, values),
    )


def refused_fields(
    errors: Sequence[Mapping[str, Any]], info: ObjectInfo | None, values: Mapping[str, Any]
) -> tuple[FieldRefusal, ...]:
    """Every field the errors refuse, when each error refuses named fields and nothing else.

    One error that is the record's own (a validation rule, a missing required field, a
    duplicate) and the record fails as a whole: nothing is returned.
    """
    refused: list[FieldRefusal] = []
    for error in errors:
        code = error.get("statusCode") or error.get("errorCode")
        names = fields_of(error)
        if code not in FIELD_REFUSALS or not names:
            return ()
        for name in names:
            picklist = _refusal(code, name, error, info, values)
            hint = _hint(code, name, error, info, values, picklist) or rule_for(code).hint
            refused.append(FieldRefusal(
                name, redact(str(error.get("message", ""))), code, values.get(name),
                redact(hint) if hint else None, picklist))
    return tuple(refused)


def _refusal(code: str | None, field: str | None, error: Mapping[str, Any],
             info: ObjectInfo | None, values: Mapping[str, Any]) -> PicklistRefusal | None:
    if code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" or not field:
        return None
    described = info.fields.get(field) if info is not None else None
    allowed = tuple(described.picklist_values) if described is not None else ()
    return PicklistRefusal(values.get(field, _value_from(error)), allowed)


def _hint(
    code: str | None,
    field: str | None,
    error: Mapping[str, Any],
    info: ObjectInfo | None,
    values: Mapping[str, Any],
    refusal: PicklistRefusal | None,
) -> str | None:
    described = info.fields.get(field) if info is not None and field else None
    if refusal is not None and field:
        return picklist_hint(field, refusal.value, refusal.allowed)
    if code == "STRING_TOO_LONG" and field:
        limit = described.length if described is not None else None
        limit_text = f" (max length {limit})" if limit else ""
        return f"add a truncate transform on {field}{limit_text} or shorten the value in the hub"
    if code == "REQUIRED_FIELD_MISSING" and fields_of(error):
        names = ", ".join(fields_of(error))
        return f"map a value or a default for {names}"
    if code == "FIELD_CUSTOM_VALIDATION_EXCEPTION":
        return ("a Salesforce validation rule refused the record (its message above); "
                "fix the data in the hub or the rule in Salesforce")
    if code == "INVALID_FIELD_FOR_INSERT_UPDATE" and field:
        return f"{field} is read-only in Salesforce; remove it from the push mapping"
    if code in ("INVALID_TYPE_ON_FIELD_IN_RECORD", "JSON_PARSER_ERROR") and described:
        return f"{field} is a {described.type} field; convert the value in the mapping"
    if code == "INVALID_EMAIL_ADDRESS" and field:
        shown = shown_value(values.get(field))
        return f"fix the address {shown} in the hub, or filter such records out of the mapping"
    return None


def fields_of(error: Mapping[str, Any]) -> list[str]:
    """The ``fields`` list of one error entry (empty when absent)."""
    return [str(f) for f in error.get("fields") or ()]


def _value_from(error: Mapping[str, Any]) -> str | None:
    # "Lead Source: bad value for restricted picklist field: Foo" → "Foo"
    message = str(error.get("message", ""))
    marker = "picklist field: "
    return message.split(marker, 1)[1] if marker in message else None
