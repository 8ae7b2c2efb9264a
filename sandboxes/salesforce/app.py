"""The Salesforce sandbox's WSGI (Flask) app: its routes, the request pipeline, headers, OAuth."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.utils import format_datetime
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from sandboxes.faults import ECHO_TOKEN_REQUEST, echoed_request
from sandboxes.record_page import record_page
from sandboxes.salesforce.auth import Auth, OAuthError, bearer_token
from sandboxes.salesforce.bulk import BulkJobs
from sandboxes.salesforce.config import RELEASE_NAMES
from sandboxes.salesforce.context import SandboxState, state
from sandboxes.salesforce.cursors import QueryCursors
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.faults import Faults, session_error
from sandboxes.salesforce.limits import ApiLimits
from sandboxes.salesforce.routes_bulk import bulk_blueprint
from sandboxes.salesforce.routes_composite import add_composite_routes
from sandboxes.salesforce.routes_control import control_blueprint
from sandboxes.salesforce.routes_data import data_blueprint
from sandboxes.salesforce.wire import error_response, json_response

if TYPE_CHECKING:
    from sandboxes.salesforce.org import Org

#: Blueprints whose routes are the real API surface (token required, counted, faults apply).
API_BLUEPRINTS = frozenset({"data"})

RELEASE_NAMES_FALLBACK = "Salesforce"


def create_app(
    org: Org,
    faults: Faults,
    *,
    auth: Auth,
    limits: ApiLimits,
    api_versions: Sequence[str] | None = None,
    org_factory: Callable[[], Org] | None = None,
) -> Flask:
    """The sandbox's Flask app over ``org``.

    ``api_versions`` defaults to the org's config; ``org_factory`` lets ``/__sandbox__/reset``
    replace the org with a fresh one.
    """
    if api_versions is None:
        config = getattr(org, "config", None)
        api_versions = config.api_versions if config is not None else ("59.0",)
    app = Flask(__name__)
    # Both `/query` and `/query/` are real request paths (simple-salesforce sends the latter).
    app.url_map.strict_slashes = False
    sandbox_state = SandboxState(
        org=org,
        faults=faults,
        auth=auth,
        limits=limits,
        api_versions=tuple(sorted(api_versions, key=float)),
        org_factory=org_factory,
    )
    sandbox_state.cursors = QueryCursors(sandbox_state.minter)
    sandbox_state.bulk = BulkJobs(sandbox_state)
    app.extensions["salesforce_sandbox"] = sandbox_state

    data = data_blueprint()
    add_composite_routes(data)
    bulk_blueprint(data)
    app.register_blueprint(data, url_prefix="/services/data/v<version>")
    app.register_blueprint(control_blueprint(), url_prefix="/__sandbox__")

    app.before_request(_api_call_checks)
    app.after_request(_add_server_headers)
    app.register_error_handler(SalesforceError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)

    app.add_url_rule("/services/oauth2/token", view_func=_token, methods=["POST"])
    app.add_url_rule("/services/data/", view_func=_versions, methods=["GET"])
    app.add_url_rule("/lightning/r/<sobject>/<record_id>/view", view_func=_record_view)
    return app


#: Salesforce refuses a request whose URI and headers together exceed this many bytes.
MAX_URI_AND_HEADERS = 16_384


def _api_call_checks() -> None:
    """Size limits, session, daily limit, call-level faults and latency for every API call."""
    if request.blueprint not in API_BLUEPRINTS:
        return
    uri = len(request.full_path.encode()) if request.query_string else len(request.path.encode())
    headers = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
    if uri > MAX_URI_AND_HEADERS:
        raise SalesforceError("URI_TOO_LONG", "The request URI is too long", status=414)
    if uri + headers > MAX_URI_AND_HEADERS:
        raise SalesforceError(
            "REQUEST_HEADER_FIELDS_TOO_LARGE", "Request header fields too large", status=431
        )
    sandbox = state()
    session = sandbox.auth.session_for(bearer_token(request.headers.get("Authorization")))
    if session is None:
        raise session_error()
    g.session = session
    sandbox.limits.count_call()
    fault = sandbox.faults.call_fault()
    sandbox.faults.sleep_for_call()
    if fault is not None:
        raise fault


def _add_server_headers(response: Response) -> Response:
    response.headers["Sforce-Limit-Info"] = state().limits.header()
    # The org's own time, as Salesforce's servers tell it: the clock SystemModstamp comes from.
    response.headers["Date"] = format_datetime(state().org.now(), usegmt=True)
    return response


def _http_error(error: HTTPException) -> Response:
    if isinstance(error, NotFound):
        return error_response(
            SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        )
    if isinstance(error, MethodNotAllowed):
        allowed = ",".join(sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"}))
        return error_response(
            SalesforceError(
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
                status=405,
            )
        )
    return error_response(
        SalesforceError(
            "UNKNOWN_EXCEPTION", error.description or error.name, status=error.code or 500
        )
    )


def _unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("sandbox bug while serving %s %s", request.method, request.path)
    return error_response(
        SalesforceError(
            "UNKNOWN_EXCEPTION",
            f"An unexpected error occurred: {type(error).__name__}: {error}",
            status=500,
        )
    )


def _token() -> Response:
    sandbox = state()
    instance_url = request.host_url.rstrip("/")
    if sandbox.faults.token_fault() == ECHO_TOKEN_REQUEST:
        # The OAuth error shape, the request quoted back (secrets and all) in the description.
        echo = OAuthError("invalid_request", f"bad request: {echoed_request(request)}")
        return json_response(echo.body(), echo.status)
    try:
        body = sandbox.auth.token_response(
            request.form, request.headers.get("Authorization"), instance_url
        )
    except OAuthError as refusal:
        return json_response(refusal.body(), refusal.status)
    # Token responses must never be cached (RFC 6749 section 5.1).
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _versions() -> Response:
    return json_response(
        [
            {
                "label": RELEASE_NAMES.get(version, RELEASE_NAMES_FALLBACK),
                "url": f"/services/data/v{version}",
                "version": version,
            }
            for version in state().api_versions
        ]
    )


def _record_view(sobject: str, record_id: str) -> Response:
    """``/lightning/r/Lead/<id>/view``: the record's page in Lightning Experience."""
    sandbox = state()
    with sandbox.org_lock:
        try:
            found: dict | None = dict(sandbox.org.get(sobject, record_id))
        except SalesforceError:
            found = None
    return record_page("Salesforce", sobject, record_id, found)
