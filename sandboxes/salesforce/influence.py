"""Customizable Campaign Influence: models, influence records and the primary contact role.

What the platform does around these objects, as the object reference describes it:

* ``CampaignInfluenceModel`` is read-only through the API; an admin adds models in Setup (here:
  the control API). The org starts with the *Primary Campaign Source* model, the default one.
  Exactly one model is the default at a time.
* ``CampaignInfluence.RevenueShare`` is the opportunity's Amount times ``Influence`` percent,
  kept in step when either changes.
* Records of a *locked* model can be added, changed or deleted only through the API, never by
  a user in the UI (the control API's record edits stand for the UI).
* Records written through the API into the Primary Campaign Source model are deleted when the
  model is recalculated. The sandbox recalculates an open opportunity when its primary
  campaign (``Opportunity.CampaignId``) is set or changed, and on ``recalculate()`` (the
  control route), as the scheduled recalculation would: the model then holds one record per
  open opportunity with a primary campaign, 100 % influence, for its primary contact role.
* An opportunity has one primary contact role: marking another one primary clears the flag
  on the old one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sandboxes.salesforce.errors import SalesforceError

if TYPE_CHECKING:
    from sandboxes.salesforce.org import Org

#: The DeveloperName of the model every org with Customizable Campaign Influence starts with.
PRIMARY_MODEL = "primaryModel"
PRIMARY_MODEL_FIELDS: dict[str, Any] = {
    "DeveloperName": PRIMARY_MODEL,
    "MasterLabel": "Primary Campaign Source",
    "Language": "en_US",
    "IsActive": True,
    "IsDefaultModel": True,
    "IsModelLocked": True,
    "ModelDescription": "Primary Campaign gets 100% of the revenue share",
    "RecordPreference": "AllRecords",
}
# Setup's rule for API names: letters, digits and single underscores, starting with a letter.
_DEVELOPER_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_MODEL_SETTINGS = ("MasterLabel", "ModelDescription", "IsModelLocked", "IsDefaultModel",
                   "RecordPreference")  # fmt: skip


# ---------------------------------------------------------------------------- models


def models(org: Org) -> list[dict]:
    """Every campaign influence model, oldest first."""
    return list(org.rows("CampaignInfluenceModel"))


def model_named(org: Org, developer_name: str) -> dict | None:
    """The model whose DeveloperName is ``developer_name`` (case-insensitive), or None."""
    wanted = developer_name.lower()
    return next((m for m in models(org) if m["DeveloperName"].lower() == wanted), None)


def seed_primary_model(org: Org) -> str:
    """The Primary Campaign Source model, created first if the org lacks it (fresh or old state)."""
    existing = model_named(org, PRIMARY_MODEL)
    if existing is not None:
        return existing["Id"]
    with org.savepoint():
        has_default = any(m["IsDefaultModel"] for m in models(org))
        fields = {**PRIMARY_MODEL_FIELDS, "IsDefaultModel": not has_default}
        meta = org.schema.objects["CampaignInfluenceModel"]
        return org._create(meta, fields, org.default_owner_id, system=True)


def create_model(org: Org, settings: Mapping[str, Any], *, user_id: str) -> str:
    """Add a custom model as an admin does in Setup; returns its id.

    ``settings``: ``DeveloperName`` and ``MasterLabel`` (required), ``ModelDescription``,
    ``IsModelLocked``, ``IsDefaultModel``, ``RecordPreference``. Custom models are always
    active. Making it the default takes the flag from the model that had it.
    """
    unknown = sorted(set(settings) - {"DeveloperName", *_MODEL_SETTINGS})
    if unknown:
        raise _setup_error(f"unknown model settings: {', '.join(unknown)}")
    name = settings.get("DeveloperName")
    if not isinstance(name, str) or not _DEVELOPER_NAME.match(name) or len(name) > 80:
        raise _setup_error(
            "DeveloperName must begin with a letter and use only letters, digits and single "
            "underscores, not end with an underscore, and be at most 80 characters"
        )
    if not settings.get("MasterLabel"):
        raise _setup_error("MasterLabel is required")
    with org.savepoint():
        if model_named(org, name) is not None:
            raise SalesforceError(
                "DUPLICATE_DEVELOPER_NAME", f"A campaign influence model named {name} exists."
            )
        fields = {
            "Language": "en_US",
            "IsActive": True,
            "IsModelLocked": False,
            "IsDefaultModel": False,
            "RecordPreference": "AllRecords",
            **settings,
        }
        meta = org.schema.objects["CampaignInfluenceModel"]
        model_id = org._create(meta, {**fields, "IsDefaultModel": False}, user_id, system=True)
        if fields["IsDefaultModel"]:
            _make_default(org, model_id, user_id)
        return model_id


def change_model(org: Org, model_id: str, settings: Mapping[str, Any], *, user_id: str) -> None:
    """Change a model's label, description, lock or default flag (Setup's edit page)."""
    unknown = sorted(set(settings) - set(_MODEL_SETTINGS))
    if unknown:
        raise _setup_error(f"these model settings cannot be changed: {', '.join(unknown)}")
    meta = org.schema.objects["CampaignInfluenceModel"]
    with org.savepoint():
        row = org._live_row(meta, model_id)
        changes = dict(settings)
        default = changes.pop("IsDefaultModel", None)
        if default is False and row["IsDefaultModel"]:
            raise _setup_error("one model must stay the default: make another model the default")
        if changes:
            org._change(meta, row, changes, user_id, system=True)
        if default:
            _make_default(org, row["Id"], user_id)


def _make_default(org: Org, model_id: str, user_id: str) -> None:
    meta = org.schema.objects["CampaignInfluenceModel"]
    for model in models(org):
        wanted = model["Id"] == model_id
        if model["IsDefaultModel"] != wanted:
            org._change(meta, model, {"IsDefaultModel": wanted}, user_id, system=True)


def _setup_error(message: str) -> SalesforceError:
    return SalesforceError("INVALID_SANDBOX_REQUEST", message)


# ---------------------------------------------------------------------------- records


def derive(org: Org, sobject: str, row: dict, old: dict | None, values: dict) -> None:
    """Fields the platform computes on a CampaignInfluence record (Influence default, share)."""
    if sobject != "CampaignInfluence":
        return
    if old is None and "Influence" not in values:
        row["Influence"] = 0.0
    influence = row["Influence"]
    if influence is not None and not 0 <= influence <= 100:
        raise SalesforceError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Influence (%): value must be between 0 and 100: {influence:g}",
            ["Influence"],
        )
    opportunity = org.store.tables["Opportunity"].get(row["OpportunityId"])
    row["RevenueShare"] = revenue_share(opportunity["Amount"] if opportunity else None, influence)


def revenue_share(amount: float | None, influence: float | None) -> float | None:
    """Amount × Influence %, in cents; None when either is blank."""
    if amount is None or influence is None:
        return None
    return round(amount * influence / 100, 2)


def check_ui_edit(org: Org, sobject: str, row: Mapping[str, Any]) -> None:
    """Refuse a UI edit of a record that belongs to a locked model (API writes only)."""
    if org.schema.get(sobject).name != "CampaignInfluence":
        return
    model = org.by_id(str(row.get("ModelId") or ""))
    if model is not None and model[1]["IsModelLocked"]:
        raise SalesforceError(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            f"The campaign influence model {model[1]['MasterLabel']} is locked: its records can "
            "only be added, updated or deleted through the API.",
        )


def after_write(org: Org, sobject: str, old: dict | None, new: dict, user_id: str) -> None:
    """Side effects of a write: shares, primary campaign source, the primary contact role."""
    if new["IsDeleted"]:
        return
    if sobject == "Opportunity":
        if old is None or old["Amount"] != new["Amount"]:
            _refresh_shares(org, new)
        before = old["CampaignId"] if old is not None else None
        if new["CampaignId"] != before:
            recalculate(org, [new["Id"]], user_id=user_id)
    elif (
        sobject == "OpportunityContactRole"
        and new["IsPrimary"]
        and not (old or {}).get("IsPrimary")
    ):
        meta = org.schema.objects["OpportunityContactRole"]
        for role in _children(org, new["OpportunityId"], "OpportunityContactRole"):
            if role["Id"] != new["Id"] and role["IsPrimary"]:
                org._change(meta, role, {"IsPrimary": False}, user_id, system=True)


def _children(org: Org, parent_id: str, sobject: str) -> list[dict]:
    table = org.store.tables[sobject]
    rows = [
        table[child_id]
        for child_sobject, child_id in sorted(org.store.children.get(parent_id, ()))
        if child_sobject == sobject
    ]
    return [row for row in rows if not row["IsDeleted"]]


def _refresh_shares(org: Org, opportunity: dict) -> None:
    # A computed value: it changes without a new SystemModstamp, as formula fields do.
    for record in _children(org, opportunity["Id"], "CampaignInfluence"):
        share = revenue_share(opportunity["Amount"], record["Influence"])
        if share != record["RevenueShare"]:
            org.store.write("CampaignInfluence", record["Id"], {**record, "RevenueShare": share})


def recalculate(org: Org, opportunity_ids: Iterable[str] | None = None, *, user_id: str) -> dict:
    """Recalculate the Primary Campaign Source model for open opportunities (all when None).

    Every record of the model on those opportunities is deleted (those the API added too) and
    the platform's own is made again. Returns ``{"deleted": [...], "created": [...]}``.
    """
    deleted: list[str] = []
    created: list[str] = []
    model_id = seed_primary_model(org)
    meta = org.schema.objects["CampaignInfluence"]
    with org.savepoint():
        if opportunity_ids is None:
            opportunities = list(org.rows("Opportunity"))
        else:
            opportunities = [org.get("Opportunity", record_id) for record_id in opportunity_ids]
        for opportunity in opportunities:
            if opportunity["IsClosed"]:
                continue  # closed opportunities keep the influence they closed with
            for record in _children(org, opportunity["Id"], "CampaignInfluence"):
                if record["ModelId"] == model_id:
                    org._soft_delete(meta, record, user_id)
                    deleted.append(record["Id"])
            if opportunity["CampaignId"] is None:
                continue
            primary = next(
                (role for role in _children(org, opportunity["Id"], "OpportunityContactRole")
                 if role["IsPrimary"]),
                None,
            )  # fmt: skip
            fields = {
                "OpportunityId": opportunity["Id"],
                "CampaignId": opportunity["CampaignId"],
                "ContactId": primary["ContactId"] if primary else None,
                "ModelId": model_id,
                "Influence": 100,
            }
            created.append(org._create(meta, fields, user_id, system=True))
    return {"deleted": deleted, "created": created}
