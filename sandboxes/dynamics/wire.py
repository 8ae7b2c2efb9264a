"""JSON on the wire for every route: bodies in and out, the OData error shape, the API base."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from sandboxes.dynamics.errors import DataverseError, payload_error

API_ROOT = "/api/data/v9.2"
JSON_MIMETYPE = "application/json; odata.metadata=minimal"


def base_url() -> str:
    """The Web API base of the current request, e.g. ``http://127.0.0.1:8702/api/data/v9.2``."""
    return request.host_url.rstrip("/") + API_ROOT


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response that keeps key order (``@odata.*`` annotations first, like Dataverse)."""
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=None)
    response.headers["Content-Type"] = JSON_MIMETYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def no_content(headers: dict[str, str] | None = None) -> Response:
    response = Response(status=204)
    # A 204 has no body, so no Content-Type (Flask would otherwise add text/html).
    del response.headers["Content-Type"]
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(error: DataverseError) -> Response:
    """``{"error": {"code", "message"}}`` plus any headers the error carries (Retry-After)."""
    return json_response(error.body(), error.status, getattr(error, "headers", None))


def request_json() -> dict:
    """The parsed JSON object body, or the 400 Dataverse answers for an unreadable payload."""
    raw = request.get_data(cache=True, as_text=True)
    if not raw.strip():
        raise DataverseError("0x80040203", "Request body is empty: a JSON object is required.")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise payload_error(
            "", f"Invalid JSON. {error.msg} at line {error.lineno}, position {error.colno}."
        ) from error
    if not isinstance(body, dict):
        raise payload_error("", "A JSON object was expected.")
    return body
