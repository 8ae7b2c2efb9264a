"""The Zoom API v2 routes webinars use: webinars, registrants, absentees, participant reports."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, g, request

from sandboxes.zoom.auth import REPORT_READ, WEBINAR_READ, WEBINAR_WRITE
from sandboxes.zoom.context import state
from sandboxes.zoom.errors import INVALID, USER_MISSING, ZoomError, validation_failed
from sandboxes.zoom.limits import HEAVY, LIGHT, MEDIUM
from sandboxes.zoom.store import STATUSES
from sandboxes.zoom.wire import json_response, no_content, request_json

#: Webinar fields ``GET /users/{userId}/webinars`` answers (``settings`` and status stay out).
WEBINAR_LIST_FIELDS = ("uuid", "id", "host_id", "topic", "type", "start_time", "duration",
                       "timezone", "agenda", "created_at", "join_url")
#: Report row fields always answered; ``registrant_id`` only with ``include_fields``.
PARTICIPANT_FIELDS = ("id", "user_id", "name", "user_email", "join_time", "leave_time",
                      "duration", "status", "failover", "customer_key")
MAX_STATUS_UPDATES = 30


def api_blueprint() -> Blueprint:
    """The ``/v2`` routes."""
    blueprint = Blueprint("api", __name__)
    blueprint.add_url_rule("/users/<user_id>/webinars", view_func=_list_webinars)
    blueprint.add_url_rule("/webinars/<webinar_id>", view_func=_get_webinar)
    blueprint.add_url_rule("/webinars/<webinar_id>/registrants", view_func=_list_registrants)
    blueprint.add_url_rule("/webinars/<webinar_id>/registrants", view_func=_add_registrant,
                           methods=["POST"], endpoint="add_registrant")
    blueprint.add_url_rule("/webinars/<webinar_id>/registrants/status",
                           view_func=_update_statuses, methods=["PUT"])
    blueprint.add_url_rule("/past_webinars/<path:ident>/absentees", view_func=_absentees)
    blueprint.add_url_rule("/report/webinars/<path:ident>/participants",
                           view_func=_participants_report)
    return blueprint


def api_call(category: str, scopes: tuple[str, ...]) -> Callable:
    """Token and scope check, rate limits, faults and latency before an API route runs."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            sandbox = state()
            sandbox.auth.check(request.headers.get("Authorization"), scopes)
            g.rate_headers = sandbox.limits.count(category)
            fault = sandbox.faults.call_fault()
            sandbox.faults.sleep_for_call()
            if fault is not None:
                raise fault
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _webinar_id(raw: str) -> int:
    """A webinar id from the path: digits only, or Zoom's 300."""
    if not raw.isdigit():
        raise ZoomError(INVALID, "Invalid webinar ID.")
    return int(raw)


@api_call(MEDIUM, WEBINAR_READ)
def _list_webinars(user_id: str) -> Response:
    account = state().account
    if user_id not in ("me", account.host_id) and user_id.lower() != account.host_email.lower():
        raise ZoomError(USER_MISSING, f"User does not exist: {user_id}.", 404)
    kind = request.args.get("type", "scheduled")
    if kind not in ("scheduled", "upcoming"):
        raise ZoomError(INVALID, f"Invalid field: type {kind!r}")
    with account.lock:
        webinars = sorted(account.webinars.values(), key=lambda w: (w["start_time"], w["id"]))
        if kind == "upcoming":
            webinars = [w for w in webinars if w["status"] != "ended"]
        rows = [{name: w[name] for name in WEBINAR_LIST_FIELDS} | {"is_simulive": False}
                for w in webinars]
    page, paging = state().pager.page(f"webinars:{kind}", rows, request.args.get("page_size"),
                                      request.args.get("next_page_token"))
    return json_response(paging | {"page_number": 1, "webinars": page})


@api_call(LIGHT, WEBINAR_READ)
def _get_webinar(webinar_id: str) -> Response:
    account = state().account
    with account.lock:
        webinar = dict(account.webinar(_webinar_id(webinar_id)))
        webinar["settings"] = dict(webinar["settings"])
    # The spec's webinar object has no status: the sandbox's own bookkeeping stays out.
    webinar.pop("status", None)
    return json_response(webinar)


@api_call(MEDIUM, WEBINAR_READ)
def _list_registrants(webinar_id: str) -> Response:
    account = state().account
    number = _webinar_id(webinar_id)
    status = request.args.get("status") or "approved"
    if status not in STATUSES:
        raise ZoomError(INVALID, f"Invalid field: status {status!r}")
    with account.lock:
        account.webinar(number)
        rows = sorted(
            (dict(r) for r in account.registrants[number].values() if r["status"] == status),
            key=lambda r: (r["create_time"], r["id"]),
        )
    page, paging = state().pager.page(f"registrants:{number}:{status}", rows,
                                      request.args.get("page_size"),
                                      request.args.get("next_page_token"))
    state().faults.sleep_for_records(len(page))
    return json_response(paging | {"page_number": 1, "registrants": page})


@api_call(LIGHT, WEBINAR_WRITE)
def _add_registrant(webinar_id: str) -> Response:
    account = state().account
    number = _webinar_id(webinar_id)
    registrant = account.register(number, request_json())
    webinar = account.webinar(number)
    return json_response({
        "id": number,
        "join_url": registrant["join_url"],
        "registrant_id": registrant["id"],
        "start_time": webinar["start_time"],
        "topic": webinar["topic"],
        "occurrences": [],
    }, 201)


@api_call(MEDIUM, WEBINAR_WRITE)
def _update_statuses(webinar_id: str) -> Response:
    body = request_json()
    people = body.get("registrants") or []
    if not isinstance(people, list) or not all(isinstance(p, dict) for p in people):
        raise validation_failed(["registrants"])
    if len(people) > MAX_STATUS_UPDATES:
        raise ZoomError(INVALID, f"A maximum of {MAX_STATUS_UPDATES} registrants can be "
                        "updated at a time.")
    state().account.update_statuses(_webinar_id(webinar_id), str(body.get("action") or ""),
                                    people)
    return no_content()


def instance_key(prefix: str, suffix: str) -> str:
    """The webinar id or instance UUID of the path, decoded as Zoom's gateway decodes it.

    Zoom asks for UUIDs that start with ``/`` or contain ``//`` to be encoded twice: its gateway
    decodes the path once and normalises it, so a UUID encoded only once loses its slashes
    and finds nothing. Any other UUID works encoded once or twice.
    """
    raw_uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or request.path
    raw_path = raw_uri.split("?", 1)[0]
    start = raw_path.find(prefix)
    segment = raw_path[start + len(prefix):len(raw_path) - len(suffix)] if start >= 0 else ""
    once = unquote(segment)
    if once.startswith("/") or "//" in once or not once:
        return ""
    return unquote(once) if "%" in once else once


@api_call(HEAVY, WEBINAR_READ)
def _absentees(ident: str) -> Response:
    account = state().account
    key = instance_key("/past_webinars/", "/absentees")
    with account.lock:
        instance = account.instance(key) if key else None
        if instance is None:
            raise ZoomError(3001, "Meeting ID is invalid or not end.", 404)
        registrants = account.registrants[instance["webinar_id"]]
        rows = [dict(registrants[rid]) for rid in instance["absentees"] if rid in registrants]
    page, paging = state().pager.page(f"absentees:{key}", rows, request.args.get("page_size"),
                                      request.args.get("next_page_token"))
    state().faults.sleep_for_records(len(page))
    return json_response(paging | {"page_number": 1, "registrants": page})


@api_call(HEAVY, REPORT_READ)
def _participants_report(ident: str) -> Response:
    account = state().account
    key = instance_key("/report/webinars/", "/participants")
    fields = PARTICIPANT_FIELDS
    if "registrant_id" in (request.args.get("include_fields") or "").split(","):
        fields = (*PARTICIPANT_FIELDS, "registrant_id")
    with account.lock:
        instance = account.instance(key) if key else None
        # Zoom builds the report some time after the end: until then it is the same 3001.
        if instance is None or not instance["report_ready"]:
            raise ZoomError(3001, f'Webinar "{key or ident}" not found or has expired', 404)
        rows = [{name: row[name] for name in fields} for row in instance["participants"]]
    page, paging = state().pager.page(f"participants:{key}:{','.join(fields)}", rows,
                                      request.args.get("page_size"),
                                      request.args.get("next_page_token"))
    state().faults.sleep_for_records(len(page))
    return json_response(paging | {"participants": page})
