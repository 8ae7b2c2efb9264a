"""Entity-set routes: path dispatch, create, read by key, update/upsert (PATCH), delete."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from sandboxes.dynamics import routes_actions, routes_metadata, routes_query
from sandboxes.dynamics.batch import handle_batch
from sandboxes.dynamics.context import state
from sandboxes.dynamics.errors import (
    OBJECT_DOES_NOT_EXIST,
    QUERY_ERROR,
    RESOURCE_NOT_FOUND,
    DataverseError,
)
from sandboxes.dynamics.metadata import EntityMeta
from sandboxes.dynamics.resources import (
    ACTION_PREFIX,
    Segment,
    context_suffix,
    etag,
    include_annotations,
    parse_key,
    parse_select,
    render_row,
    split_segments,
    wants_representation,
)
from sandboxes.dynamics.routes_metadata import service_document
from sandboxes.dynamics.wire import base_url, json_response, no_content, request_json

__all__ = ["api_resource", "service_document"]


def api_resource(resource: str) -> Response:
    """Dispatch ``/api/data/v9.2/<resource>`` by its OData path segments."""
    if resource == "$metadata":
        _only("GET")
        return routes_metadata.csdl_document()
    if resource == "$batch":
        _only("POST")
        return handle_batch()
    segments = split_segments(resource)
    if not segments:
        return service_document()
    first = segments[0]
    if first.name == "EntityDefinitions":
        _only("GET")
        if first.key is None:
            return routes_metadata.entity_definitions()
        key = parse_key_definition(first.key)
        navigation = segments[1].name if len(segments) > 1 else None
        return routes_metadata.entity_definition(key, navigation)
    entity = state().env.metadata.by_set(first.name)
    rest = segments[1:]
    if rest and rest[0].name.startswith(ACTION_PREFIX):
        _only("POST")
        return routes_actions.bound_action(entity, first.key, rest[0].name[len(ACTION_PREFIX):])
    if first.key is None:
        if rest and rest[0].name == "$count":
            _only("GET")
            return routes_query.count(entity)
        if rest:
            raise _segment_not_found(rest[0])
        if request.method == "GET":
            return routes_query.collection(entity)
        _only("POST")
        return create(entity)
    if rest:
        raise _segment_not_found(rest[0])
    key = parse_key(entity, first.key)
    if request.method == "GET":
        return read(entity, key)
    if request.method == "PATCH":
        return patch(entity, key)
    if request.method == "DELETE":
        return delete(entity, key)
    raise DataverseError(
        QUERY_ERROR, f"The HTTP verb '{request.method}' is not supported on this resource.", 405
    )


def parse_key_definition(key_text: str) -> str:
    """``LogicalName='lead'`` → ``lead``."""
    name, _, value = key_text.partition("=")
    if name.strip() != "LogicalName" or not value.strip().startswith("'"):
        raise DataverseError(QUERY_ERROR, f"Bad key for EntityDefinitions: ({key_text})")
    return value.strip().strip("'")


def _only(method: str) -> None:
    if request.method != method:
        raise DataverseError(
            QUERY_ERROR, f"The HTTP verb '{request.method}' is not supported on this resource.", 405
        )


def _segment_not_found(segment: Segment) -> DataverseError:
    return DataverseError(
        RESOURCE_NOT_FOUND, f"Resource not found for the segment '{segment.name}'.", 404
    )


def entity_id_url(entity: EntityMeta, guid: str) -> str:
    """The ``OData-EntityId`` of a row."""
    return f"{base_url()}/{entity.entity_set}({guid})"


def _representation(entity: EntityMeta, guid: str, status: int) -> Response:
    """201/200 with the row (``$select`` honoured), as ``Prefer: return=representation`` asks."""
    env = state().env
    select = parse_select(entity, request.args.get("$select"))
    row = env.get(entity.logical_name, guid)
    body = {
        "@odata.context": f"{base_url()}/$metadata#{context_suffix(entity, select)}/$entity",
        **render_row(entity, row, select, annotations=include_annotations()),
    }
    return json_response(
        body,
        status,
        {
            "Preference-Applied": "return=representation",
            "OData-EntityId": entity_id_url(entity, guid),
            "ETag": etag(row),
        },
    )


def _written(entity: EntityMeta, guid: str, created: bool) -> Response:
    if wants_representation():
        return _representation(entity, guid, 201 if created else 200)
    return no_content({"OData-EntityId": entity_id_url(entity, guid)})


def create(entity: EntityMeta) -> Response:
    """``POST /leads``: 204 + OData-EntityId, or 201 + the row with return=representation."""
    sandbox = state()
    values = request_json()
    sandbox.faults.sleep_for_records(1)
    with sandbox.env_lock:
        guid = sandbox.env.create(entity.logical_name, values)
        return _written(entity, guid, True)


def read(entity: EntityMeta, key: dict[str, Any]) -> Response:
    """``GET /leads(<guid>)`` (or by alternate key); ``If-None-Match`` the current etag → 304."""
    sandbox = state()
    select = parse_select(entity, request.args.get("$select"))
    with sandbox.env_lock:
        guid = resolve_key(entity, key)
        row = sandbox.env.get(entity.logical_name, guid)
    current = etag(row)
    if_none_match = request.headers.get("If-None-Match", "")
    if if_none_match and if_none_match != "null" and current in _etags(if_none_match):
        return Response(status=304, headers={"ETag": current})
    body = {
        "@odata.context": f"{base_url()}/$metadata#{context_suffix(entity, select)}/$entity",
        **render_row(entity, row, select, annotations=include_annotations()),
    }
    return json_response(body, 200, {"ETag": current})


def _etags(header: str) -> set[str]:
    return {part.strip() for part in header.split(",") if part.strip()}


def resolve_key(entity: EntityMeta, key: dict[str, Any]) -> str:
    """The GUID of the live row ``key`` names (primary key or alternate key), else 404."""
    if list(key) == [entity.primary_id]:
        return str(key[entity.primary_id])
    _check_alternate_key(entity, key)
    guid = state().env.lookup_key(entity.logical_name, key)
    if guid is not None:
        return guid
    described = ",".join(f"{name}:{value}" for name, value in key.items())
    raise DataverseError(
        OBJECT_DOES_NOT_EXIST,
        f"{entity.logical_name} With Ids = {described} Do Not Exist",
        404,
    )


def _check_alternate_key(entity: EntityMeta, key: dict[str, Any]) -> None:
    if set(key) not in [set(columns) for columns in entity.alternate_keys.values()]:
        raise DataverseError(
            QUERY_ERROR,
            f"Invalid key for entity '{entity.logical_name}': the properties "
            f"{', '.join(key)} are not an alternate key of the entity.",
        )


def patch(entity: EntityMeta, key: dict[str, Any]) -> Response:
    """``PATCH /leads(key)``: upsert; ``If-Match`` = update only, ``If-None-Match: *`` = create."""
    sandbox = state()
    values = request_json()
    if_match = request.headers.get("If-Match")
    if_none_match = request.headers.get("If-None-Match")
    sandbox.faults.sleep_for_records(1)
    with sandbox.env_lock:
        if list(key) != [entity.primary_id]:
            _check_alternate_key(entity, key)
        # With If-Match the Environment updates only (a missing row → 404), never creates.
        guid, created = sandbox.env.upsert(
            entity.logical_name,
            key,
            values,
            if_none_match=(if_none_match or "").strip() == "*",
            if_match=if_match.strip() if if_match else None,
        )
        return _written(entity, guid, created)


def delete(entity: EntityMeta, key: dict[str, Any]) -> Response:
    """``DELETE /leads(<guid>)``: 204, or 404 when missing."""
    sandbox = state()
    with sandbox.env_lock:
        guid = resolve_key(entity, key)
        sandbox.env.delete(
            entity.logical_name, guid, if_match=request.headers.get("If-Match") or None
        )
    return no_content()
