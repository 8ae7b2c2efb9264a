"""Bound actions: CreateMultiple, UpdateMultiple, UpsertMultiple, AddMemberList, QualifyLead."""

from __future__ import annotations

from typing import Any

from flask import Response

from sandboxes.dynamics.context import state
from sandboxes.dynamics.errors import (
    INVALID_ARGUMENT,
    QUERY_ERROR,
    RESOURCE_NOT_FOUND,
    DataverseError,
)
from sandboxes.dynamics.metadata import NAMESPACE, EntityMeta
from sandboxes.dynamics.resources import GUID, parse_key, split_segments
from sandboxes.dynamics.wire import base_url, json_response, no_content, request_json


def bound_action(entity: EntityMeta, key_text: str | None, action: str) -> Response:
    """``POST /<set>[(<key>)]/Microsoft.Dynamics.CRM.<action>``."""
    if key_text is None and action in _COLLECTION_ACTIONS:
        return _COLLECTION_ACTIONS[action](entity)
    if key_text is not None and (entity.logical_name, action) in _ROW_ACTIONS:
        guid = GUID.match(key_text.strip())
        if guid is None:
            raise DataverseError(QUERY_ERROR, f"Bad key for {action}: ({key_text})")
        return _ROW_ACTIONS[(entity.logical_name, action)](entity, guid[1].lower())
    raise DataverseError(
        RESOURCE_NOT_FOUND,
        f"Resource not found for the segment '{NAMESPACE}.{action}'.",
        404,
    )


def _targets(entity: EntityMeta) -> list[dict]:
    """The ``Targets`` of a *Multiple message, each checked for its ``@odata.type``."""
    body = request_json()
    targets = body.get("Targets")
    if not isinstance(targets, list) or not targets:
        raise DataverseError(INVALID_ARGUMENT, "Targets must be a non-empty collection.")
    cleaned = []
    for target in targets:
        if not isinstance(target, dict):
            raise DataverseError(INVALID_ARGUMENT, "Each target must be a JSON object.")
        odata_type = target.get("@odata.type")
        if odata_type is None:
            raise DataverseError(
                INVALID_ARGUMENT,
                "The entity type is missing: '@odata.type' is required on every item of "
                "Targets (e.g. \"Microsoft.Dynamics.CRM." + entity.logical_name + "\").",
            )
        if odata_type.removeprefix("#") != entity.type_name:
            raise DataverseError(
                INVALID_ARGUMENT,
                f"This target's type '{odata_type}' does not match the entity set "
                f"'{entity.entity_set}' ({entity.type_name}).",
            )
        cleaned.append({k: v for k, v in target.items() if k != "@odata.type"})
    state().faults.sleep_for_records(len(cleaned))
    return cleaned


def _response_context(name: str) -> str:
    return f"{base_url()}/$metadata#{NAMESPACE}.{name}"


def create_multiple(entity: EntityMeta) -> Response:
    """All-or-nothing creates: 200 ``{"Ids": [...]}``."""
    targets = _targets(entity)
    sandbox = state()
    with sandbox.env_lock, sandbox.env.savepoint():
        ids = [sandbox.env.create(entity.logical_name, target) for target in targets]
    return json_response(
        {"@odata.context": _response_context("CreateMultipleResponse"), "Ids": ids}
    )


def update_multiple(entity: EntityMeta) -> Response:
    """All-or-nothing updates by primary key: 204."""
    targets = _targets(entity)
    sandbox = state()
    with sandbox.env_lock, sandbox.env.savepoint():
        for target in targets:
            guid = target.pop(entity.primary_id, None)
            if not isinstance(guid, str) or not GUID.match(guid):
                raise DataverseError(
                    INVALID_ARGUMENT,
                    f"Every UpdateMultiple target needs its primary key '{entity.primary_id}'.",
                )
            sandbox.env.update(entity.logical_name, guid.lower(), target)
    return no_content()


def _upsert_key(entity: EntityMeta, target: dict) -> dict[str, Any]:
    """The key of an UpsertMultiple target: ``@odata.id``, the primary key or an alternate key."""
    odata_id = target.pop("@odata.id", None)
    if isinstance(odata_id, str):
        segments = split_segments(odata_id.rsplit("/", 1)[-1])
        if not segments or segments[0].key is None:
            raise DataverseError(INVALID_ARGUMENT, f"Bad @odata.id: {odata_id}")
        return parse_key(entity, segments[0].key)
    if target.get(entity.primary_id):
        return {entity.primary_id: str(target.pop(entity.primary_id)).lower()}
    for columns in entity.alternate_keys.values():
        if all(target.get(column) not in (None, "") for column in columns):
            # The key columns stay in the body: a created row must carry them.
            return {column: target[column] for column in columns}
    raise DataverseError(
        INVALID_ARGUMENT,
        f"An UpsertMultiple target of '{entity.logical_name}' carries neither its primary key "
        "nor the columns of an alternate key.",
    )


def upsert_multiple(entity: EntityMeta) -> Response:
    """All-or-nothing upserts: 200 ``{"Ids": [...]}`` (created or updated, in target order)."""
    targets = _targets(entity)
    sandbox = state()
    with sandbox.env_lock, sandbox.env.savepoint():
        ids = []
        for target in targets:
            key = _upsert_key(entity, target)
            values = {name: value for name, value in target.items() if name not in key}
            guid, _created = sandbox.env.upsert(entity.logical_name, key, values)
            ids.append(guid)
    return json_response(
        {"@odata.context": _response_context("UpsertMultipleResponse"), "Ids": ids}
    )


def add_member_list(entity: EntityMeta, list_id: str) -> Response:
    """``lists(<id>)/Microsoft.Dynamics.CRM.AddMemberList {"EntityId"}`` → ``{"Id"}``."""
    body = request_json()
    member = body.get("EntityId")
    if not isinstance(member, str) or not GUID.match(member):
        raise DataverseError(INVALID_ARGUMENT, "EntityId must be the GUID of a row to add.")
    sandbox = state()
    with sandbox.env_lock:
        member_id = sandbox.env.add_list_member(list_id, GUID.match(member)[1].lower())
    return json_response(
        {"@odata.context": _response_context("AddMemberListResponse"), "Id": member_id}
    )


def qualify_lead(entity: EntityMeta, lead_id: str) -> Response:
    """``leads(<id>)/Microsoft.Dynamics.CRM.QualifyLead``: the created rows as references."""
    body = request_json()
    sandbox = state()
    with sandbox.env_lock:
        created = sandbox.env.qualify_lead(
            lead_id,
            create_account=bool(body.get("CreateAccount", False)),
            create_contact=bool(body.get("CreateContact", False)),
            create_opportunity=bool(body.get("CreateOpportunity", False)),
        )
    value = []
    for attribute, entity_name in (
        ("accountid", "account"), ("contactid", "contact"), ("opportunityid", "opportunity")
    ):
        if created.get(attribute):
            value.append(
                {"@odata.type": f"#{NAMESPACE}.{entity_name}", attribute: created[attribute]}
            )
    return json_response(
        {"@odata.context": f"{base_url()}/$metadata#Collection({NAMESPACE}.crmbaseentity)",
         "value": value}
    )


_COLLECTION_ACTIONS = {
    "CreateMultiple": create_multiple,
    "UpdateMultiple": update_multiple,
    "UpsertMultiple": upsert_multiple,
}
_ROW_ACTIONS = {
    ("list", "AddMemberList"): add_member_list,
    ("lead", "QualifyLead"): qualify_lead,
}
