"""The Dataverse sandbox's Flask app: its routes, the request pipeline, headers, the token route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from sandboxes.dynamics.auth import AadError, Auth, bearer_token
from sandboxes.dynamics.batch import BATCH_INNER
from sandboxes.dynamics.context import SandboxState, state
from sandboxes.dynamics.errors import RESOURCE_NOT_FOUND, UNEXPECTED, DataverseError
from sandboxes.dynamics.faults import Faults, token_error
from sandboxes.dynamics.limits import ServiceProtection
from sandboxes.dynamics.routes_control import control_blueprint
from sandboxes.dynamics.routes_data import api_resource, service_document
from sandboxes.dynamics.wire import API_ROOT, error_response, json_response
from sandboxes.faults import ECHO_TOKEN_REQUEST, echoed_request
from sandboxes.record_page import record_page

if TYPE_CHECKING:
    from sandboxes.dynamics.store import Environment

#: Blueprints/endpoints whose routes are the real API surface (token required, counted, faults).
API_ENDPOINTS = frozenset({"api_root", "api_resource"})


def create_app(
    env: Environment,
    faults: Faults,
    *,
    auth: Auth,
    limits: ServiceProtection,
    clock: Callable[[], datetime] | None = None,
) -> Flask:
    """The sandbox's Flask app over ``env``; ``clock`` should be the Environment's."""
    app = Flask(__name__)
    app.url_map.strict_slashes = False
    app.extensions["dynamics_sandbox"] = SandboxState(
        env=env, faults=faults, auth=auth, limits=limits
    )
    if clock is not None:
        app.extensions["dynamics_sandbox"].clock = clock
    app.register_blueprint(control_blueprint(), url_prefix="/__sandbox__")
    app.add_url_rule("/<tenant>/oauth2/v2.0/token", view_func=_token, methods=["POST"])
    app.add_url_rule("/main.aspx", view_func=_record_form, methods=["GET"])
    app.add_url_rule(f"{API_ROOT}/", endpoint="api_root", view_func=service_document)
    app.add_url_rule(
        f"{API_ROOT}/<path:resource>",
        endpoint="api_resource",
        view_func=api_resource,
        methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
    )
    app.before_request(_api_call_checks)
    app.after_request(_common_headers)
    app.register_error_handler(DataverseError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _api_call_checks() -> None:
    """Token, service protection, call-level faults and latency for every API call."""
    g.user_id = None
    if request.endpoint not in API_ENDPOINTS:
        return
    sandbox = state()
    token = bearer_token(request.headers.get("Authorization"))
    session = sandbox.auth.session_for(token)
    if session is None:
        raise token_error(request.host_url.rstrip("/"), sandbox.auth.tenant, missing=not token)
    g.user_id = session.user_id
    if request.environ.get(BATCH_INNER):
        return
    sandbox.limits.count(session.user_id)
    fault = sandbox.faults.call_fault()
    sandbox.faults.sleep_for_call()
    if fault is not None:
        raise fault


def _common_headers(response: Response) -> Response:
    response.headers["OData-Version"] = "4.0"
    if request.endpoint in API_ENDPOINTS:
        for name, value in state().limits.headers(g.get("user_id")).items():
            response.headers[name] = value
    return response


def _http_error(error: HTTPException) -> Response:
    if isinstance(error, NotFound):
        return error_response(
            DataverseError(
                RESOURCE_NOT_FOUND, f"Resource not found for the segment '{request.path}'.", 404
            )
        )
    if isinstance(error, MethodNotAllowed):
        return error_response(
            DataverseError(
                "0x80060888",
                f"The HTTP verb '{request.method}' is not supported on this resource.",
                405,
            )
        )
    return error_response(
        DataverseError(UNEXPECTED, error.description or error.name, error.code or 500)
    )


def _unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("sandbox bug while serving %s %s", request.method, request.path)
    return error_response(
        DataverseError(
            UNEXPECTED,
            f"An unexpected error occurred: {type(error).__name__}: {error}",
            500,
        )
    )


def _token(tenant: str) -> Response:
    try:
        if state().faults.token_fault() == ECHO_TOKEN_REQUEST:
            # Entra ID's error shape, the request quoted back (secrets and all).
            raise AadError("invalid_request", 50000, "There was an error issuing a token or an "
                           f"issue with our sign-in service. {echoed_request(request)}", 400)
        body = state().auth.token_response(tenant, request.form)
    except AadError as refusal:
        response = json_response(refusal.body(), refusal.status, {"Cache-Control": "no-store"})
    else:
        response = json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})
    # Entra ID is not an OData service.
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


def _record_form() -> Response:
    """``main.aspx?etn=lead&id=…&pagetype=entityrecord``: the record's form in the web client."""
    table, key = request.args.get("etn", ""), request.args.get("id", "")
    env = state().env
    found = env.find(table, key) if table in env.metadata.entities else None
    return record_page("Dynamics 365", table, key, found)
