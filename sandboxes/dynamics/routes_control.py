"""Sandbox-only control routes under ``/__sandbox__/``: faults, a sales rep's edits, state, reset.

They need no token, are not counted by service protection and suffer no faults. Edits go
through the Environment, so validation applies exactly as it would to a user in the app.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from sandboxes.dynamics.context import state
from sandboxes.dynamics.errors import INVALID_ARGUMENT, DataverseError
from sandboxes.dynamics.wire import json_response, no_content, request_json

#: Entities whose live-row counts ``GET /__sandbox__/state`` reports.
COUNTED_ENTITIES = ("lead", "contact", "account", "campaign", "list", "listmember", "opportunity")


def control_blueprint() -> Blueprint:
    """The ``/__sandbox__`` routes."""
    blueprint = Blueprint("control", __name__)
    blueprint.add_url_rule("/faults", view_func=_faults, methods=["POST"])
    blueprint.add_url_rule("/limits", view_func=_limits, methods=["POST"])
    blueprint.add_url_rule("/qualify", view_func=_qualify, methods=["POST"])
    blueprint.add_url_rule("/records/<entity_set>", view_func=_create, methods=["POST"])
    blueprint.add_url_rule("/records/<entity_set>", view_func=_list, methods=["GET"])
    blueprint.add_url_rule(
        "/records/<entity_set>/<guid>", view_func=_edit, methods=["PATCH", "DELETE"]
    )
    blueprint.add_url_rule("/expire-tokens", view_func=_expire_tokens, methods=["POST"])
    blueprint.add_url_rule("/reset", view_func=_reset, methods=["POST"])
    blueprint.add_url_rule("/state", view_func=_state, methods=["GET"])
    return blueprint


def _bad_request(message: str) -> DataverseError:
    return DataverseError(INVALID_ARGUMENT, message)


def _faults() -> Response:
    """Set faults.

    Body: any Faults setting, ``inject`` (one or a list of ``{"kind", "times",
    "retry_after"}``) and ``clear: true`` (drop everything first).
    """
    try:
        return json_response(state().faults.apply(request_json()))
    except (ValueError, TypeError, AttributeError) as error:
        raise _bad_request(str(error)) from error


def _limits() -> Response:
    """Body: ``{"requests_per_window": N}`` and/or ``{"reset": true}``."""
    body = request_json()
    limits = state().limits
    maximum = body.get("requests_per_window")
    if maximum is not None:
        if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 1:
            raise _bad_request(f"requests_per_window must be a positive integer, got {maximum!r}")
        limits.requests_per_window = maximum
    if body.get("reset"):
        limits.reset()
    return json_response(limits.as_dict())


def _qualify() -> Response:
    """Qualify a lead as a sales rep would: ``{"lead_id", "create_account"?, ...}``."""
    body = request_json()
    lead_id = body.get("lead_id")
    if not lead_id:
        raise _bad_request("lead_id is required")
    sandbox = state()
    with sandbox.env_lock:
        result = sandbox.env.qualify_lead(
            str(lead_id).lower(),
            create_account=bool(body.get("create_account", True)),
            create_contact=bool(body.get("create_contact", True)),
            create_opportunity=bool(body.get("create_opportunity", True)),
        )
    return json_response(result)


def _create(entity_set: str) -> Response:
    """Create a row as a user in the app would; answers the row.

    ``createdon`` may be given, so tests can build histories: it is written as a migration
    writes it (``overriddencreatedon``).
    """
    sandbox = state()
    values = request_json()
    if "createdon" in values:
        values["overriddencreatedon"] = values.pop("createdon")
    with sandbox.env_lock:
        entity = sandbox.env.metadata.entity(entity_set)
        guid = sandbox.env.create(entity.logical_name, values)
        row = sandbox.env.get(entity.logical_name, guid)
    return json_response(row, 201)


def _list(entity_set: str) -> Response:
    sandbox = state()
    limit = int(request.args.get("limit", 200))
    with sandbox.env_lock:
        entity = sandbox.env.metadata.entity(entity_set)
        rows = sandbox.env.rows(entity.logical_name)[:limit]
    return json_response(rows)


def _edit(entity_set: str, guid: str) -> Response:
    sandbox = state()
    with sandbox.env_lock:
        entity = sandbox.env.metadata.entity(entity_set)
        if request.method == "DELETE":
            sandbox.env.delete(entity.logical_name, guid.lower())
            return no_content()
        values = request_json()
        sandbox.env.update(entity.logical_name, guid.lower(), values)
        row = sandbox.env.get(entity.logical_name, guid.lower())
    return json_response(row)


def _expire_tokens() -> Response:
    state().auth.expire_all()
    return no_content()


def _reset() -> Response:
    """A fresh environment, no faults, an empty request window; issued tokens stay valid."""
    state().reset()
    return no_content()


def _state() -> Response:
    sandbox = state()
    with sandbox.env_lock:
        counts = {
            name: len(sandbox.env.rows(name))
            for name in COUNTED_ENTITIES
            if name in sandbox.env.metadata.entities
        }
    return json_response(
        {
            "faults": sandbox.faults.as_dict(),
            "limits": sandbox.limits.as_dict(),
            "live_tokens": sandbox.auth.live_sessions,
            "records": counts,
        }
    )
