"""JSON on the wire for every route: bodies in and out, the REST error shape, the API version."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request

from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.faults import FaultError


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response that keeps key order (records read in field order, like Salesforce's)."""
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def no_content() -> Response:
    return Response(status=204)


def error_response(error: SalesforceError) -> Response:
    """The top-level REST error shape: a JSON list of ``{"message", "errorCode", "fields"?}``."""
    headers = error.headers if isinstance(error, FaultError) else None
    return json_response(error.rest_body(), error.status, headers)


def request_json(*, object_required: bool = True) -> Any:
    """The parsed JSON body, or 400 JSON_PARSER_ERROR like Salesforce's deserializer."""
    raw = request.get_data(cache=True, as_text=True)
    if not raw.strip():
        raise SalesforceError(
            "JSON_PARSER_ERROR",
            "The HTTP entity body is required, but this request has no entity body.",
        )
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SalesforceError(
            "JSON_PARSER_ERROR",
            f"Unexpected character at [line:{error.lineno}, column:{error.colno}]: {error.msg}",
        ) from error
    if object_required and not isinstance(body, dict):
        raise SalesforceError(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of an sObject out of a non-object JSON value",
        )
    return body


def api_version_number() -> float:
    """The API version of the current request as a number (59.0)."""
    return float(g.api_version)
