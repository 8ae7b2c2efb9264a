"""JSON in and out for every route, and Zoom's error response."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from sandboxes.zoom.errors import INVALID, ZoomError


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (``application/json;charset=UTF-8`` as Zoom sends)."""
    response = Response(json.dumps(body, ensure_ascii=False), status=status)
    response.headers["Content-Type"] = "application/json;charset=UTF-8"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def no_content() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def error_response(error: ZoomError) -> Response:
    """``{"code", "message"}`` with the error's status and headers."""
    return json_response(error.body(), error.status, error.headers)


def request_json() -> dict[str, Any]:
    """The JSON object body, or Zoom's 300 for a body that is not one."""
    raw = request.get_data(cache=True, as_text=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ZoomError(INVALID, "Request Body should be a valid JSON object.") from error
    if not isinstance(body, dict):
        raise ZoomError(INVALID, "Request Body should be a valid JSON object.")
    return body
