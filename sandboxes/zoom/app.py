"""The Zoom sandbox's Flask app: the token endpoint, the ``/v2`` API, control routes, errors."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from sandboxes.faults import ECHO_TOKEN_REQUEST, echoed_request
from sandboxes.zoom.auth import OAuthError
from sandboxes.zoom.context import SandboxState, state
from sandboxes.zoom.errors import ZoomError
from sandboxes.zoom.routes_api import api_blueprint
from sandboxes.zoom.routes_control import control_blueprint
from sandboxes.zoom.wire import error_response, json_response


def create_app(sandbox_state: SandboxState) -> Flask:
    """The sandbox's Flask app over ``sandbox_state``."""
    app = Flask(__name__)
    app.url_map.strict_slashes = False
    app.extensions["zoom_sandbox"] = sandbox_state
    app.register_blueprint(api_blueprint(), url_prefix="/v2")
    app.register_blueprint(control_blueprint(), url_prefix="/__sandbox__")
    app.add_url_rule("/oauth/token", view_func=_token, methods=["POST"])
    app.after_request(_rate_headers)
    app.register_error_handler(ZoomError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _token() -> Response:
    """``POST /oauth/token?grant_type=account_credentials&account_id=…`` with HTTP Basic.

    Zoom reads the grant from the query string or from a form body; both are accepted.
    """
    args = request.args.to_dict() | request.form.to_dict()
    try:
        if state().faults.token_fault() == ECHO_TOKEN_REQUEST:
            raise OAuthError("invalid_request", echoed_request(request), 400)
        body = state().auth.token_response(args, request.headers.get("Authorization"))
    except OAuthError as refusal:
        return json_response(refusal.body(), refusal.status, {"Cache-Control": "no-store"})
    return json_response(body, 200, {"Cache-Control": "no-store"})


def _rate_headers(response: Response) -> Response:
    for name, value in (g.get("rate_headers") or {}).items():
        response.headers.setdefault(name, value)
    return response


def _http_error(error: HTTPException) -> Response:
    if isinstance(error, NotFound):
        # Zoom's gateway answers an unknown API path with a 404 and code 404 (*unconfirmed*).
        return error_response(ZoomError(404, "Not Found", 404))
    if isinstance(error, MethodNotAllowed):
        return error_response(ZoomError(405, "Method Not Allowed", 405))
    return error_response(ZoomError(error.code or 500, error.description or error.name,
                                    error.code or 500))


def _unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("sandbox bug while serving %s %s", request.method, request.path)
    return error_response(ZoomError(500, f"Internal error: {type(error).__name__}: {error}", 500))
