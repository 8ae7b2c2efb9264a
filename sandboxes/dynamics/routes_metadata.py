"""Metadata routes: the service document, ``$metadata`` (CSDL) and ``EntityDefinitions``."""

from __future__ import annotations

import re

from flask import Response, request

from sandboxes.dynamics.context import state
from sandboxes.dynamics.errors import QUERY_ERROR, RESOURCE_NOT_FOUND, DataverseError
from sandboxes.dynamics.metadata import (
    EntityMeta,
    attributes_json,
    csdl_xml,
    entity_definition_json,
    many_to_one_json,
)
from sandboxes.dynamics.wire import base_url, json_response

# `ChangeTrackingEnabled eq true`, `LogicalName eq 'lead'`: the only filters clients send here.
_DEFINITION_FILTER = re.compile(
    r"^\s*(?P<name>\w+)\s+eq\s+(?:'(?P<text>(?:[^']|'')*)'|(?P<bool>true|false))\s*$"
)


def service_document() -> Response:
    """``GET /api/data/v9.2/``: every entity set."""
    env = state().env
    return json_response(
        {
            "@odata.context": f"{base_url()}/$metadata",
            "value": [
                {"name": entity.entity_set, "kind": "EntitySet", "url": entity.entity_set}
                for entity in env.metadata
            ],
        }
    )


def csdl_document() -> Response:
    """``GET /api/data/v9.2/$metadata``: the CSDL document (XML, as Dataverse serves it)."""
    return Response(csdl_xml(state().env.metadata), mimetype="application/xml")


def _select(body: dict) -> dict:
    """Apply ``$select`` to one definition (the @odata and expanded properties stay)."""
    selected = request.args.get("$select")
    if not selected:
        return body
    names = {name.strip() for name in selected.split(",") if name.strip()}
    return {
        key: value
        for key, value in body.items()
        if key in names or key.startswith("@") or key == "Attributes"
    }


def _wants_attributes() -> bool:
    expand = request.args.get("$expand", "")
    return any(part.strip().split("(")[0] == "Attributes" for part in expand.split(","))


def entity_definition(logical_name: str, navigation: str | None) -> Response:
    """``EntityDefinitions(LogicalName='lead')``, its Attributes and ManyToOneRelationships."""
    entity = _definition(logical_name)
    context = f"{base_url()}/$metadata#EntityDefinitions"
    if navigation == "Attributes":
        return json_response(
            {
                "@odata.context": f"{context}('{entity.logical_name}')/Attributes",
                "value": attributes_json(entity),
            }
        )
    if navigation == "ManyToOneRelationships":
        return json_response(
            {
                "@odata.context": f"{context}('{entity.logical_name}')/ManyToOneRelationships",
                "value": many_to_one_json(entity, state().env.metadata),
            }
        )
    if navigation is not None:
        raise DataverseError(
            RESOURCE_NOT_FOUND, f"Resource not found for the segment '{navigation}'.", 404
        )
    body = entity_definition_json(entity, expand_attributes=_wants_attributes())
    return json_response({"@odata.context": f"{context}/$entity", **_select(body)})


def entity_definitions() -> Response:
    """``EntityDefinitions`` with an optional single ``Name eq value`` ``$filter``."""
    entities = list(state().env.metadata)
    filter_text = request.args.get("$filter")
    if filter_text:
        match = _DEFINITION_FILTER.match(filter_text)
        if match is None:
            raise DataverseError(
                QUERY_ERROR,
                f"The sandbox supports only 'Property eq value' on EntityDefinitions, "
                f"got: {filter_text}",
            )
        wanted: object = match["bool"] == "true"
        if match["text"] is not None:
            wanted = match["text"].replace("''", "'")
        entities = [
            entity
            for entity in entities
            if entity_definition_json(entity).get(match["name"]) == wanted
        ]
    expand = _wants_attributes()
    return json_response(
        {
            "@odata.context": f"{base_url()}/$metadata#EntityDefinitions",
            "value": [
                _select(entity_definition_json(entity, expand_attributes=expand))
                for entity in entities
            ],
        }
    )


def _definition(logical_name: str) -> EntityMeta:
    metadata = state().env.metadata
    if logical_name not in metadata.entities:
        raise DataverseError(
            "0x80040217",
            f"Could not find entity with logical name {logical_name}",
            404,
        )
    return metadata.entities[logical_name]
