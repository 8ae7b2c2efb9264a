"""Dataverse entity metadata → ObjectInfo, and values between Web API JSON and Syncline's form.

Option-set columns travel as their labels (``leadsourcecode: "Web"``) so mappings read like
the Dynamics UI; lookups travel as the target's GUID under the lookup's logical name
(``parentcustomerid``), read from ``_parentcustomerid_value`` and written as
``parentcustomerid_account@odata.bind``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from connectors.base import FieldInfo, ObjectInfo

#: Change tracking's cursor is a delta link; ``versionnumber`` is the row version behind it.
CURSOR_FIELD = "versionnumber"

#: AttributeType → FieldInfo type. Types not listed (PartyList, Virtual, EntityName, images,
#: files, multi-select choices) are neither described nor selected: nothing here syncs them.
FIELD_TYPES: dict[str, str] = {
    "String": "string", "Memo": "text", "Integer": "integer", "BigInt": "integer",
    "Decimal": "number", "Double": "number", "Money": "number", "Boolean": "boolean",
    "DateTime": "datetime", "Picklist": "picklist", "State": "picklist", "Status": "picklist",
    "Lookup": "reference", "Customer": "reference", "Owner": "reference",
    "Uniqueidentifier": "id",
}
_STRING_FORMATS = {"Email": "email", "Url": "url", "Phone": "phone"}
OPTION_TYPES = frozenset({"Picklist", "State", "Status"})
LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
_REQUIRED_LEVELS = frozenset({"ApplicationRequired", "SystemRequired"})


@dataclass(frozen=True, slots=True)
class Column:
    """What reads and writes need to know about one attribute beyond its FieldInfo."""

    name: str
    attribute_type: str
    #: Option value → label, for option-set columns.
    options: Mapping[int, str] = field(default_factory=dict)
    targets: tuple[str, ...] = ()
    #: Target table → navigation property, from the table's ManyToOneRelationships.
    navigations: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_lookup(self) -> bool:
        """Lookup, Customer or Owner: read as ``_x_value``, written with ``@odata.bind``."""
        return self.attribute_type in LOOKUP_TYPES

    @property
    def is_option_set(self) -> bool:
        """Picklist, State or Status: integers on the wire, labels in Syncline."""
        return self.attribute_type in OPTION_TYPES

    @property
    def wire_name(self) -> str:
        """The property name in Web API JSON rows and ``$select``."""
        return f"_{self.name}_value" if self.is_lookup else self.name

    def navigation(self, target: str) -> str:
        """The navigation property for binding to ``target``.

        Dataverse names it in the relationship's ``ReferencingEntityNavigationPropertyName``:
        a custom lookup binds by its SchemaName (``syncline_OpportunityId``) and refuses the
        lower-case logical name. Without that metadata, standard tables' conventions hold: a
        single-target lookup is its own name, a polymorphic one ``<name>_<target>``.
        """
        if target in self.navigations:
            return self.navigations[target]
        return self.name if len(self.targets) <= 1 else f"{self.name}_{target}"


@dataclass(frozen=True, slots=True)
class EntityInfo:
    """One entity's metadata as the connector uses it."""

    info: ObjectInfo
    entity_set: str
    primary_id: str
    columns: Mapping[str, Column]
    #: Alternate keys: key name → its columns.
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def entity_info(definition: Mapping[str, Any], attributes: list[Mapping[str, Any]],
                relationships: Sequence[Mapping[str, Any]] = ()) -> EntityInfo:
    """Build from a table's definition, its ``Attributes`` and its ``ManyToOneRelationships``.

    The relationships are fetched only for tables with custom lookups (see Column.navigation).
    """
    navigations: dict[str, dict[str, str]] = {}
    for relationship in relationships:
        attribute = str(relationship.get("ReferencingAttribute") or "")
        target = str(relationship.get("ReferencedEntity") or "")
        navigation = str(relationship.get("ReferencingEntityNavigationPropertyName") or "")
        if attribute and target and navigation:
            navigations.setdefault(attribute, {})[target] = navigation
    name = str(definition["LogicalName"])
    primary_id = str(definition["PrimaryIdAttribute"])
    keys = {str(k.get("LogicalName") or k.get("SchemaName")): tuple(k.get("KeyAttributes") or ())
            for k in definition.get("Keys") or () if isinstance(k, Mapping)}
    key_columns = {column for columns in keys.values() for column in columns}
    fields: dict[str, FieldInfo] = {}
    columns: dict[str, Column] = {}
    for raw in attributes:
        attribute_type = str(raw.get("AttributeType") or "")
        logical = str(raw.get("LogicalName") or "")
        if attribute_type not in FIELD_TYPES or not logical:
            continue
        if raw.get("AttributeOf"):
            continue  # a shadow column (xxxname, yomi...) of another attribute
        column = Column(logical, attribute_type, _options(raw), tuple(raw.get("Targets") or ()),
                        navigations.get(logical, {}))
        columns[logical] = column
        fields[logical] = _field_info(raw, column, logical == primary_id, logical in key_columns)
        if name == "listmember" and logical in _MEMBER_COLUMNS:
            # Not valid for a plain create, but this connector sets both through the
            # AddMemberList action (writes.py), so mappings may write them.
            fields[logical] = replace(fields[logical], createable=True)
    if CURSOR_FIELD not in fields:
        # Every table has a row version; metadata that leaves it out still reads it back.
        fields[CURSOR_FIELD] = FieldInfo(CURSOR_FIELD, "integer", createable=False,
                                         updateable=False)
        columns[CURSOR_FIELD] = Column(CURSOR_FIELD, "BigInt")
    info = ObjectInfo(name=name, key_field=primary_id, cursor_field=CURSOR_FIELD, fields=fields,
                      label=_label(definition.get("DisplayName")) or name)
    return EntityInfo(info, str(definition["EntitySetName"]), primary_id, columns, keys)


_MEMBER_COLUMNS = frozenset({"listid", "entityid"})


def _field_info(raw: Mapping[str, Any], column: Column, is_key: bool, in_alt_key: bool
                ) -> FieldInfo:
    kind = FIELD_TYPES[column.attribute_type]
    if kind == "string":
        kind = _STRING_FORMATS.get(str(raw.get("Format") or ""), "string")
    level = raw.get("RequiredLevel")
    level_value = level.get("Value") if isinstance(level, Mapping) else level
    createable = bool(raw.get("IsValidForCreate", True))
    # Dataverse fills some system-required columns itself on create: the owner (the caller)
    # and the state/status pair (their defaults). Nobody has to map them.
    defaulted = column.attribute_type in ("Owner", "State", "Status")
    required = (
        level_value in _REQUIRED_LEVELS and createable and not is_key and not defaulted
    )
    length = raw.get("MaxLength")
    default = raw.get("DefaultFormValue")
    return FieldInfo(
        name=column.name,
        type=kind,
        label=_label(raw.get("DisplayName")),
        length=int(length) if isinstance(length, int) and length > 0 else None,
        required=required,
        nillable=not required,
        createable=createable,
        updateable=bool(raw.get("IsValidForUpdate", True)),
        picklist_values=tuple(column.options.values()),
        restricted_picklist=column.is_option_set,
        external_id=in_alt_key,
        unique=in_alt_key or is_key,
        reference_to=column.targets,
        default=column.options.get(default) if isinstance(default, int) else None,
    )


def _options(raw: Mapping[str, Any]) -> dict[int, str]:
    if str(raw.get("AttributeType")) not in OPTION_TYPES:
        return {}
    option_set = raw.get("OptionSet") or {}
    options: dict[int, str] = {}
    for option in option_set.get("Options") or () if isinstance(option_set, Mapping) else ():
        if isinstance(option, Mapping) and isinstance(option.get("Value"), int):
            options[option["Value"]] = _label(option.get("Label")) or str(option["Value"])
    return options


def _label(label: Any) -> str:
    # {"UserLocalizedLabel": {"Label": "Web"}, "LocalizedLabels": [...]} or plain text.
    if isinstance(label, str):
        return label
    if not isinstance(label, Mapping):
        return ""
    user = label.get("UserLocalizedLabel")
    if isinstance(user, Mapping) and user.get("Label"):
        return str(user["Label"])
    for localized in label.get("LocalizedLabels") or ():
        if isinstance(localized, Mapping) and localized.get("Label"):
            return str(localized["Label"])
    return ""


# -- values -------------------------------------------------------------------------------


def read_value(column: Column, row: Mapping[str, Any]) -> Any:
    """A column's value in Syncline's form: labels for option sets, the GUID for lookups."""
    value = row.get(column.wire_name)
    if value is None:
        return None
    if column.is_option_set and isinstance(value, int):
        return column.options.get(value, value)
    if column.name == CURSOR_FIELD:
        return int(value) if isinstance(value, str) and value.isdigit() else value
    return value


def option_value(column: Column, value: Any) -> int | None:
    """The integer for a label (exact, then ignoring case) or an integer; None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in column.options or not column.options else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and int(text) in column.options:
            return int(text)
        for number, label in column.options.items():
            if label == text:
                return number
        folded = text.casefold()
        for number, label in column.options.items():
            if label.casefold() == folded:
                return number
    return None


def version_of(row: Mapping[str, Any]) -> str | None:
    """The row version: ``versionnumber``, or the digits of ``@odata.etag`` (``W/"123"``)."""
    version = row.get(CURSOR_FIELD)
    if version is not None:
        return str(version)
    etag = row.get("@odata.etag")
    if isinstance(etag, str) and etag:
        return etag.removeprefix("W/").strip('"')
    return None


def parse_datetime(value: Any) -> datetime | None:
    """``2024-05-01T10:22:31Z`` (or with an offset) as an aware datetime; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def odata_literal(column: Column | None, value: Any) -> str:
    """A ``$filter`` literal: GUIDs and numbers bare, text quoted with ``'`` doubled."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if column is not None and column.attribute_type in ("Uniqueidentifier", *LOOKUP_TYPES):
        return text
    return "'" + text.replace("'", "''") + "'"
