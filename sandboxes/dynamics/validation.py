"""Payload checks for creates and updates: names, types, lengths, ranges, lookups, GUIDs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sandboxes.dynamics.errors import (
    INVALID_ARGUMENT,
    INVALID_OPTION_VALUE,
    INVALID_STATE_STATUS,
    PROPERTY_NOT_FOUND,
    REQUIRED_ATTRIBUTE_MISSING,
    STRING_TOO_LONG,
    DataverseError,
    payload_error,
)
from sandboxes.dynamics.metadata import AttributeMeta, EntityMeta

LOOKUP_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
_BIND_SUFFIX = "@odata.bind"
# `accounts(<guid>)`, `/accounts(<guid>)` or a full URL ending in one of those.
_BIND_VALUE = re.compile(r"^(?:.*/)?([A-Za-z_][A-Za-z0-9_]*)\(([0-9A-Fa-f-]{36})\)$")
_EDM_TYPES = {
    "String": "Edm.String", "Memo": "Edm.String", "Integer": "Edm.Int32",
    "BigInt": "Edm.Int64", "Decimal": "Edm.Decimal", "Money": "Edm.Decimal",
    "Boolean": "Edm.Boolean", "DateTime": "Edm.DateTimeOffset", "Picklist": "Edm.Int32",
    "State": "Edm.Int32", "Status": "Edm.Int32", "Uniqueidentifier": "Edm.Guid",
}  # fmt: skip

#: Resolves a bound row: (entity set or logical name, guid) → the target's logical name.
BindResolver = Callable[[str, str, tuple[str, ...]], str]


def format_datetime(moment: datetime) -> str:
    """A UTC timestamp as the Web API writes it: `2024-05-01T10:22:31Z` (second precision)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_guid(text: Any) -> str | None:
    """The canonical lower-case form of a GUID string, None when `text` is not one."""
    if not isinstance(text, str) or len(text) != 36:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def invalid_property(entity: EntityMeta, name: str) -> DataverseError:
    """The error for a payload property the entity does not have (the Client errors page)."""
    return DataverseError(
        PROPERTY_NOT_FOUND,
        "An error occurred while validating input parameters: Microsoft.Crm.CrmException: "
        f"Invalid property '{name}' was found in entity '{entity.type_name}'. ---> "
        "Microsoft.OData.ODataException: Does not support untyped value in non-open type.",
    )


def _cannot_convert(
    entity: EntityMeta, value: Any, attribute: AttributeMeta
) -> DataverseError:
    literal = value if not isinstance(value, bool) else str(value).lower()
    return payload_error(
        entity.entity_set,
        f"Cannot convert the literal '{literal}' to the expected type "
        f"'{_EDM_TYPES.get(attribute.attribute_type, 'Edm.String')}'.",
    )


def out_of_range(entity: EntityMeta, attribute: AttributeMeta, value: Any) -> DataverseError:
    """The 'outside the valid range' error of option sets and numbers."""
    return DataverseError(
        INVALID_OPTION_VALUE,
        f"A validation error occurred. The value {value} of '{attribute.logical_name}' on "
        f"record of type '{entity.logical_name}' is outside the valid range.",
    )


def coerce_value(entity: EntityMeta, attribute: AttributeMeta, value: Any) -> Any:
    """`value` checked against the attribute's type and stored in its Web API JSON form."""
    if value is None:
        return None
    kind = attribute.attribute_type
    if kind in ("String", "Memo"):
        if not isinstance(value, str):
            raise _cannot_convert(entity, value, attribute)
        if attribute.max_length is not None and len(value) > attribute.max_length:
            raise DataverseError(
                STRING_TOO_LONG,
                f"A validation error occurred.  The length of the '{attribute.logical_name}' "
                f"attribute of the '{entity.logical_name}' entity exceeded the maximum allowed "
                f"length of '{attribute.max_length}'.",
            )
        return value
    if kind in ("Integer", "BigInt", "Picklist", "State", "Status"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _cannot_convert(entity, value, attribute)
        if attribute.options and value not in attribute.option_values:
            raise out_of_range(entity, attribute, value)
        _check_range(entity, attribute, value)
        return value
    if kind in ("Decimal", "Money"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _cannot_convert(entity, value, attribute)
        _check_range(entity, attribute, value)
        return value
    if kind == "Boolean":
        if not isinstance(value, bool):
            raise _cannot_convert(entity, value, attribute)
        return value
    if kind == "DateTime":
        return _coerce_datetime(entity, value, attribute)
    if kind == "Uniqueidentifier":
        guid = parse_guid(value)
        if guid is None:
            raise _cannot_convert(entity, value, attribute)
        return guid
    raise _cannot_convert(entity, value, attribute)


def _check_range(entity: EntityMeta, attribute: AttributeMeta, value: float) -> None:
    if attribute.min_value is not None and value < attribute.min_value:
        raise out_of_range(entity, attribute, value)
    if attribute.max_value is not None and value > attribute.max_value:
        raise out_of_range(entity, attribute, value)


def _coerce_datetime(entity: EntityMeta, value: Any, attribute: AttributeMeta) -> str:
    if not isinstance(value, str):
        raise _cannot_convert(entity, value, attribute)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _cannot_convert(entity, value, attribute) from None
    if moment.tzinfo is None:
        # A date-only or zone-less value is read as UTC (User Local columns stored in UTC).
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment)


def parse_bind(entity: EntityMeta, navigation: str, value: Any) -> tuple[str, str] | None:
    """(entity set, guid) of an `@odata.bind` value; None clears the lookup."""
    if value is None:
        return None
    match = _BIND_VALUE.match(value) if isinstance(value, str) else None
    guid = parse_guid(match.group(2)) if match else None
    if match is None or guid is None:
        raise DataverseError(
            INVALID_ARGUMENT,
            f"The value '{value}' of '{navigation}{_BIND_SUFFIX}' on entity "
            f"'{entity.logical_name}' is not a valid entity reference. "
            "Expected an entity set name and id such as 'accounts(<guid>)'.",
        )
    return match.group(1), guid


def normalize(
    entity: EntityMeta,
    values: Mapping[str, Any],
    *,
    creating: bool,
    resolve_bind: BindResolver,
) -> dict[str, Any]:
    """The stored changes a payload asks for (`_x_value` + lookuplogicalname for binds).

    Properties the platform computes or forbids writing (createdon, fullname, versionnumber)
    are ignored, as Dataverse ignores attributes that are not valid for the operation.
    """
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith("@") or name.startswith("$"):
            continue  # `@odata.type`, `@odata.etag` and other instance annotations
        if name.endswith(_BIND_SUFFIX):
            navigation = name[: -len(_BIND_SUFFIX)]
            binding = entity.bindings.get(navigation)
            if binding is None:
                raise payload_error(
                    entity.entity_set,
                    f"An undeclared property '{navigation}' which only has property "
                    "annotations in the payload but no property value was found in the "
                    "payload. In OData, only declared navigation properties and declared "
                    "named streams can be represented as properties without values.",
                )
            attribute_name, target = binding
            attribute = entity.attributes[attribute_name]
            if not _writable(attribute, creating):
                continue
            reference = parse_bind(entity, navigation, value)
            if reference is None:
                changes[attribute.value_name] = None
                changes[attribute.value_name + LOOKUP_NAME] = None
                continue
            target_name = resolve_bind(reference[0], reference[1], (target,))
            changes[attribute.value_name] = reference[1]
            changes[attribute.value_name + LOOKUP_NAME] = target_name
            continue
        if "@" in name:
            continue  # property annotations such as `x@OData.Community.Display.V1...`
        attribute = entity.attributes.get(name)
        if attribute is None or attribute.is_lookup:
            # `_x_value` and bare lookup names are read-only: lookups are written by binding.
            raise invalid_property(entity, name)
        if not _writable(attribute, creating):
            continue
        changes[name] = coerce_value(entity, attribute, value)
    return changes


def _writable(attribute: AttributeMeta, creating: bool) -> bool:
    return attribute.valid_for_create if creating else attribute.valid_for_update


def missing_required(entity: EntityMeta, row: Mapping[str, Any], levels: frozenset[str]) -> None:
    """Raise for the first required attribute (at `levels`) that has no value in `row`."""
    for attribute in entity.attributes.values():
        if attribute.required_level not in levels or attribute.is_primary_id:
            continue
        value = row.get(attribute.value_name)
        if value is None or value == "":
            raise DataverseError(
                REQUIRED_ATTRIBUTE_MISSING,
                f"A validation error occurred. A value for the required attribute "
                f"'{attribute.logical_name}' of the '{entity.logical_name}' entity was not "
                "provided.",
            )


def settle_status(meta: EntityMeta, row: dict, changes: Mapping[str, Any]) -> None:
    """Keep statecode and statuscode consistent, as SetState / Update do in Dataverse."""
    status_meta = meta.attributes.get("statuscode")
    if status_meta is None:
        return
    state_of = {option.value: option.state for option in status_meta.options}
    if "statuscode" in changes and "statecode" not in changes:
        if changes["statuscode"] is not None:
            row["statecode"] = state_of[changes["statuscode"]]
    elif "statecode" in changes and "statuscode" not in changes:
        row["statuscode"] = meta.default_status(row["statecode"])
    elif (
        "statecode" in changes
        and changes.get("statuscode") is not None
        and state_of[row["statuscode"]] != row["statecode"]
    ):
        # The List's InvalidStateCodeStatusCode, in its words.
        raise DataverseError(
            INVALID_STATE_STATUS,
            "State code is invalid or state code is valid but status code is invalid for a "
            "specified state code.",
        )


def compute_columns(meta: EntityMeta, row: dict) -> None:
    """Platform-computed columns: fullname from first and last name (lead, contact)."""
    if "fullname" in meta.attributes and meta.attributes["fullname"].valid_for_create is False:
        parts = [row.get("firstname"), row.get("lastname")]
        fullname = " ".join(part for part in parts if part)
        row["fullname"] = fullname or None
