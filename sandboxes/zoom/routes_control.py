"""Sandbox-only control routes under ``/__sandbox__/``: act as the host, set faults, inspect.

They need no token, are not rate limited and suffer no faults. A host's actions go through
the Account, so they are checked as the API checks a client's.
"""

from __future__ import annotations

from flask import Blueprint, Response

from sandboxes.zoom.context import state
from sandboxes.zoom.errors import INVALID, ZoomError
from sandboxes.zoom.wire import json_response, no_content, request_json


def control_blueprint() -> Blueprint:
    """The ``/__sandbox__`` routes."""
    blueprint = Blueprint("control", __name__)
    blueprint.add_url_rule("/webinars", view_func=_create_webinar, methods=["POST"])
    blueprint.add_url_rule("/webinars", view_func=_list_webinars, methods=["GET"])
    blueprint.add_url_rule("/webinars/<int:webinar_id>/registrants", view_func=_register,
                           methods=["POST"])
    blueprint.add_url_rule("/webinars/<int:webinar_id>/end", view_func=_end, methods=["POST"])
    blueprint.add_url_rule("/webinars/<int:webinar_id>/report-ready", view_func=_report_ready,
                           methods=["POST"])
    blueprint.add_url_rule("/faults", view_func=_faults, methods=["POST"])
    blueprint.add_url_rule("/limits", view_func=_limits, methods=["POST"])
    blueprint.add_url_rule("/scopes", view_func=_scopes, methods=["POST"])
    blueprint.add_url_rule("/expire-tokens", view_func=_expire_tokens, methods=["POST"])
    blueprint.add_url_rule("/reset", view_func=_reset, methods=["POST"])
    blueprint.add_url_rule("/state", view_func=_state, methods=["GET"])
    return blueprint


def _create_webinar() -> Response:
    """Schedule a webinar: ``{"topic", "start_time"?, "duration"?, "approval_type"?, "id"?}``."""
    return json_response(state().account.create_webinar(request_json()), 201)


def _list_webinars() -> Response:
    account = state().account
    with account.lock:
        return json_response([dict(w) for w in account.webinars.values()])


def _register(webinar_id: int) -> Response:
    """Register someone as the registration page does: one person or ``{"registrants": […]}``.

    Each may carry ``status`` (approved, pending, denied) and ``create_time``.
    """
    body = request_json()
    people = body.get("registrants") if "registrants" in body else [body]
    if not isinstance(people, list):
        raise ZoomError(INVALID, "registrants must be a list")
    account = state().account
    created = [
        account.register(webinar_id, person, status=person.get("status"),
                         create_time=person.get("create_time"))
        for person in people
    ]
    return json_response(created if "registrants" in body else created[0], 201)


def _end(webinar_id: int) -> Response:
    """End the webinar.

    Body: ``participants`` (``[{"email", "name"?, "join_time", "leave_time"}]``, one per join),
    ``absentees`` (registrant ids or emails; default: approved registrants who never joined),
    ``report_ready`` (default true; false until ``/report-ready``, as Zoom delays reports).
    """
    body = request_json()
    participants = body.get("participants") or []
    if not isinstance(participants, list):
        raise ZoomError(INVALID, "participants must be a list")
    absentees = body.get("absentees")
    result = state().account.end_webinar(
        webinar_id, participants, None if absentees is None else [str(a) for a in absentees],
        report_ready=bool(body.get("report_ready", True)),
    )
    return json_response(result)


def _report_ready(webinar_id: int) -> Response:
    """Make the participant report of an ended webinar available."""
    account = state().account
    with account.lock:
        instance = account.instance(str(webinar_id))
        if instance is None:
            raise ZoomError(3001, "Meeting ID is invalid or not end.", 404)
        instance["report_ready"] = True
    return no_content()


def _faults() -> Response:
    """Body: Faults settings, ``inject`` (one or a list) and ``clear: true``."""
    try:
        return json_response(state().faults.apply(request_json()))
    except (ValueError, TypeError, AttributeError) as error:
        raise ZoomError(INVALID, str(error)) from error


def _limits() -> Response:
    """Body: ``plan`` (pro, business), ``light``/``medium``/``heavy``/``daily``, ``reset``."""
    body = request_json()
    limits = state().limits
    try:
        if "plan" in body:
            limits.set_plan(str(body["plan"]))
        limits.configure(**{k: v for k, v in body.items() if k not in ("plan", "reset")})
    except (ValueError, TypeError) as error:
        raise ZoomError(INVALID, str(error)) from error
    if body.get("reset"):
        limits.reset()
    return json_response(limits.as_dict())


def _scopes() -> Response:
    """Body: ``{"scopes": [...]}``: what tokens issued from now on carry (for scope errors)."""
    scopes = request_json().get("scopes")
    if not isinstance(scopes, list):
        raise ZoomError(INVALID, "scopes must be a list")
    for app in state().auth.apps.values():
        app.scopes = [str(scope) for scope in scopes]
    return json_response({"scopes": scopes})


def _expire_tokens() -> Response:
    state().auth.expire_all()
    return no_content()


def _reset() -> Response:
    state().reset()
    return no_content()


def _state() -> Response:
    sandbox = state()
    account = sandbox.account
    with account.lock:
        counts = {
            "webinars": len(account.webinars),
            "registrants": sum(len(r) for r in account.registrants.values()),
            "ended": len(account.instances),
        }
    return json_response({
        "faults": sandbox.faults.as_dict(),
        "limits": sandbox.limits.as_dict(),
        "live_tokens": sandbox.auth.live_sessions,
        "records": counts,
    })
