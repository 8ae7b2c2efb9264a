"""Sandbox-only control routes under ``/__sandbox__/``: faults, limits, a sales rep's edits, state.

The Recycle Bin's routes stand for what an admin or Apex does there: emptying it, deleting
past it (``hardDelete``), and the platform purging old entries of the delete log.

They need no token, are not counted against the daily limit and suffer no faults. Edits go
through the Org, so validation applies exactly as it would to a user in the Salesforce UI.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from sandboxes.salesforce import influence
from sandboxes.salesforce.audit import pop_audit_dates, set_audit_dates
from sandboxes.salesforce.context import state
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.recycle import empty_recycle_bin, hard_delete
from sandboxes.salesforce.validation import format_datetime, parse_datetime
from sandboxes.salesforce.wire import json_response, no_content, request_json

#: Objects whose live-record counts ``GET /__sandbox__/state`` reports.
COUNTED_OBJECTS = (
    "Lead", "Contact", "Account", "Campaign", "CampaignMember", "Opportunity",
    "OpportunityContactRole", "CampaignInfluence",
)  # fmt: skip


def control_blueprint() -> Blueprint:
    """The ``/__sandbox__`` routes."""
    blueprint = Blueprint("control", __name__)
    blueprint.add_url_rule("/faults", view_func=_faults, methods=["POST"])
    blueprint.add_url_rule("/limits", view_func=_limits, methods=["POST"])
    blueprint.add_url_rule("/convert", view_func=_convert, methods=["POST"])
    blueprint.add_url_rule("/merge", view_func=_merge, methods=["POST"])
    blueprint.add_url_rule("/records/<sobject>", view_func=_create, methods=["POST"])
    blueprint.add_url_rule("/records/<sobject>", view_func=_list, methods=["GET"])
    blueprint.add_url_rule(
        "/records/<sobject>/<record_id>", view_func=_edit, methods=["PATCH", "DELETE"]
    )
    blueprint.add_url_rule("/campaign-influence-models", view_func=_create_model, methods=["POST"])
    blueprint.add_url_rule(
        "/campaign-influence-models/<model_id>", view_func=_change_model, methods=["PATCH"]
    )
    blueprint.add_url_rule(
        "/campaign-influence/recalculate", view_func=_recalculate, methods=["POST"]
    )
    blueprint.add_url_rule("/recycle-bin/empty", view_func=_empty_bin, methods=["POST"])
    blueprint.add_url_rule("/hard-delete", view_func=_hard_delete, methods=["POST"])
    blueprint.add_url_rule("/delete-log/trim", view_func=_trim_log, methods=["POST"])
    blueprint.add_url_rule("/expire-tokens", view_func=_expire_tokens, methods=["POST"])
    blueprint.add_url_rule("/reset", view_func=_reset, methods=["POST"])
    blueprint.add_url_rule("/state", view_func=_state, methods=["GET"])
    return blueprint


def _rep_id() -> str:
    """The user a control edit acts as: the first user who cannot log in (a sales rep)."""
    org = state().org
    reps = [user.user_id for user in org.users if not user.password]
    return reps[0] if reps else org.default_owner_id


def _bad_request(message: str) -> SalesforceError:
    return SalesforceError("INVALID_SANDBOX_REQUEST", message)


def _faults() -> Response:
    """Set faults.

    Body: any of the Faults settings, plus ``inject`` (one or a list of
    ``{"kind", "times", "retry_after"}``) and ``clear: true`` (drop everything first).
    """
    try:
        return json_response(state().faults.apply(request_json()))
    except (ValueError, TypeError, AttributeError) as error:
        raise _bad_request(str(error)) from error


def _limits() -> Response:
    """Body: ``{"daily_max": N}`` and/or ``{"reset": true}`` (forget counted calls)."""
    body = request_json()
    limits = state().limits
    daily_max = body.get("daily_max")
    if daily_max is not None:
        if isinstance(daily_max, bool) or not isinstance(daily_max, int) or daily_max < 0:
            raise _bad_request(f"daily_max must be a whole number, got {daily_max!r}")
        limits.daily_max = daily_max
    if body.get("reset"):
        limits.reset()
    return json_response(limits.as_dict())


def _required(body: dict, name: str) -> Any:
    if not body.get(name):
        raise _bad_request(f"{name} is required")
    return body[name]


def _convert() -> Response:
    """Convert a lead as a sales rep would.

    Body: ``{"lead_id", "account_id"?, "contact_id"?, "do_not_create_opportunity"?,
    "converted_status"?}``; answers the Org's ``{"accountId", "contactId", "opportunityId"}``.
    """
    body = request_json()
    sandbox = state()
    with sandbox.org_lock:
        result = sandbox.org.convert_lead(
            _required(body, "lead_id"),
            account_id=body.get("account_id"),
            contact_id=body.get("contact_id"),
            do_not_create_opportunity=bool(body.get("do_not_create_opportunity", False)),
            converted_status=body.get("converted_status"),
            user_id=_rep_id(),
        )
    return json_response(result)


def _merge() -> Response:
    """Body: ``{"sobject", "master_id", "loser_ids": [...]}`` (at most two losers)."""
    body = request_json()
    loser_ids = _required(body, "loser_ids")
    if not isinstance(loser_ids, list):
        raise _bad_request("loser_ids must be a list of ids")
    sandbox = state()
    with sandbox.org_lock:
        sandbox.org.merge(
            _required(body, "sobject"), _required(body, "master_id"), loser_ids, user_id=_rep_id()
        )
    return no_content()


def _create(sobject: str) -> Response:
    """Create a record as a rep in the UI would.

    The body may carry ``CreatedDate`` and ``LastModifiedDate`` (audit fields set on creation),
    so tests can build histories; ``SystemModstamp`` stays the time of the write.
    """
    sandbox = state()
    fields = request_json()
    dates = pop_audit_dates(fields)
    org = sandbox.org
    with sandbox.org_lock, org.savepoint():
        influence.check_ui_edit(org, sobject, fields)
        record_id = org.insert(sobject, fields, user_id=_rep_id())
        set_audit_dates(org, sobject, record_id, dates)
    return json_response({"id": record_id, "success": True, "errors": []}, 201)


def _list(sobject: str) -> Response:
    """Live records a sales rep could open (converted leads are read-only, so left out)."""
    sandbox = state()
    limit = int(request.args.get("limit", 200))
    with sandbox.org_lock:
        rows = [row for row in sandbox.org.rows(sobject) if not row.get("IsConverted")]
    return json_response(rows[:limit])


def _edit(sobject: str, record_id: str) -> Response:
    sandbox = state()
    org = sandbox.org
    fields = request_json() if request.method == "PATCH" else {}
    with sandbox.org_lock:
        found = org.by_id(record_id)  # a bad or unknown id fails below, as it always has
        if found is not None:
            influence.check_ui_edit(org, sobject, found[1])
        if request.method == "DELETE":
            org.delete(sobject, record_id, user_id=_rep_id())
        else:
            org.update(sobject, record_id, fields, user_id=_rep_id())
    return no_content()


def _create_model() -> Response:
    """An admin adds a campaign influence model in Setup.

    Body: ``{"DeveloperName", "MasterLabel", "ModelDescription"?, "IsModelLocked"?,
    "IsDefaultModel"?, "RecordPreference"?}``; answers ``{"id"}``.
    """
    sandbox = state()
    with sandbox.org_lock:
        model_id = influence.create_model(sandbox.org, request_json(), user_id=_admin_id())
    return json_response({"id": model_id, "success": True, "errors": []}, 201)


def _change_model(model_id: str) -> Response:
    """Body: any of ``MasterLabel``, ``ModelDescription``, ``IsModelLocked``, ``IsDefaultModel``."""
    sandbox = state()
    with sandbox.org_lock:
        influence.change_model(sandbox.org, model_id, request_json(), user_id=_admin_id())
    return no_content()


def _recalculate() -> Response:
    """Recalculate the Primary Campaign Source model, as the platform does on its schedule.

    Body: ``{"opportunity_ids": [...]}`` or none (every open opportunity); answers the ids of
    the influence records it deleted and created.
    """
    raw = request.get_data(cache=True, as_text=True)
    body = request_json() if raw.strip() else {}
    ids = body.get("opportunity_ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise _bad_request("opportunity_ids must be a list of opportunity ids")
    sandbox = state()
    with sandbox.org_lock:
        result = influence.recalculate(sandbox.org, ids, user_id=sandbox.org.default_owner_id)
    return json_response(result)


def _admin_id() -> str:
    """Setup changes are made by the first user (the org's administrator)."""
    return state().org.default_owner_id


def _ids(body: dict, *, required: bool) -> list[str] | None:
    ids = body.get("ids")
    if ids is None and not required:
        return None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise _bad_request("ids must be a non-empty list of record ids")
    return ids


def _empty_bin() -> Response:
    """Body: ``{"ids": [...]}`` (those records) or ``{}`` (the whole bin); answers the ids."""
    raw = request.get_data(cache=True, as_text=True)
    body = request_json() if raw.strip() else {}
    sandbox = state()
    with sandbox.org_lock:
        purged = empty_recycle_bin(sandbox.org, _ids(body, required=False))
    return json_response({"purged": purged})


def _hard_delete() -> Response:
    """Body: ``{"sobject", "ids": [...]}``: deleted past the bin, as Bulk ``hardDelete`` does."""
    body = request_json()
    ids = _ids(body, required=True)
    assert ids is not None
    sandbox = state()
    with sandbox.org_lock:
        hard_delete(sandbox.org, _required(body, "sobject"), ids, user_id=_rep_id())
    return json_response({"deleted": ids})


def _trim_log() -> Response:
    """Body: ``{"sobject", "before"}``: the platform drops older delete-log entries.

    Answers how many were dropped and the object's ``earliestDateAvailable`` from then on.
    """
    body = request_json()
    sandbox = state()
    try:
        before = parse_datetime(str(_required(body, "before")))
    except ValueError as error:
        raise _bad_request(f"before must be an ISO 8601 date and time: {error}") from None
    with sandbox.org_lock:
        meta = sandbox.org.schema.get(_required(body, "sobject"))
        dropped = sandbox.org.delete_log.trim(meta.name, before)
        earliest = sandbox.org.delete_log.trimmed[meta.name]
    return json_response({"dropped": dropped, "earliestDateAvailable": format_datetime(earliest)})


def _expire_tokens() -> Response:
    state().auth.expire_all()
    return no_content()


def _reset() -> Response:
    """A fresh org (from the same config), no faults, a fresh day; issued tokens stay valid."""
    state().reset()
    return no_content()


def _state() -> Response:
    sandbox = state()
    with sandbox.org_lock:
        counts = {
            sobject: sum(1 for row in sandbox.org.rows(sobject, False) if not row.get("IsDeleted"))
            for sobject in COUNTED_OBJECTS
        }
    return json_response(
        {
            "faults": sandbox.faults.as_dict(),
            "limits": sandbox.limits.as_dict(),
            "live_tokens": sandbox.auth.live_sessions,
            "records": counts,
            "bulk_jobs": sandbox.bulk.count() if sandbox.bulk is not None else 0,
            "api_versions": list(sandbox.api_versions),
        }
    )
