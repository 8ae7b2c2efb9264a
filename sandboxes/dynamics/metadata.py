"""Entity metadata of the Dataverse sandbox: attributes, option sets, keys, and their JSON/CSDL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from sandboxes.dynamics.errors import RESOURCE_NOT_FOUND, DataverseError

NAMESPACE = "Microsoft.Dynamics.CRM"
LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
OPTION_TYPES = frozenset({"Picklist", "State", "Status"})
STRING_TYPES = frozenset({"String", "Memo"})

# AttributeType → (AttributeTypeName, @odata.type suffix, CSDL type).
_TYPE_INFO: dict[str, tuple[str, str, str]] = {
    "String": ("StringType", "StringAttributeMetadata", "Edm.String"),
    "Memo": ("MemoType", "MemoAttributeMetadata", "Edm.String"),
    "Integer": ("IntegerType", "IntegerAttributeMetadata", "Edm.Int32"),
    "BigInt": ("BigIntType", "BigIntAttributeMetadata", "Edm.Int64"),
    "Decimal": ("DecimalType", "DecimalAttributeMetadata", "Edm.Decimal"),
    "Money": ("MoneyType", "MoneyAttributeMetadata", "Edm.Decimal"),
    "Boolean": ("BooleanType", "BooleanAttributeMetadata", "Edm.Boolean"),
    "DateTime": ("DateTimeType", "DateTimeAttributeMetadata", "Edm.DateTimeOffset"),
    "Picklist": ("PicklistType", "PicklistAttributeMetadata", "Edm.Int32"),
    "State": ("StateType", "StateAttributeMetadata", "Edm.Int32"),
    "Status": ("StatusType", "StatusAttributeMetadata", "Edm.Int32"),
    "Lookup": ("LookupType", "LookupAttributeMetadata", "Edm.Guid"),
    "Customer": ("CustomerType", "LookupAttributeMetadata", "Edm.Guid"),
    "Owner": ("OwnerType", "LookupAttributeMetadata", "Edm.Guid"),
    "Uniqueidentifier": ("UniqueidentifierType", "UniqueIdentifierAttributeMetadata", "Edm.Guid"),
}


@dataclass(frozen=True)
class OptionMeta:
    """One option of an option set; `state` is the statecode a statuscode option belongs to."""

    value: int
    label: str
    state: int | None = None


@dataclass(frozen=True)
class AttributeMeta:
    """One column of an entity, with the properties the Web API's AttributeMetadata exposes."""

    logical_name: str
    attribute_type: str
    max_length: int | None = None
    required_level: str = "None"
    valid_for_create: bool = True
    valid_for_update: bool = True
    options: tuple[OptionMeta, ...] = ()
    targets: tuple[str, ...] = ()
    is_primary_id: bool = False
    is_primary_name: bool = False
    is_custom: bool = False
    #: Navigation property name → target entity, for `<name>@odata.bind` (lookups only).
    navigation: tuple[tuple[str, str], ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    #: The SchemaName when it differs from the logical name (custom columns keep their case).
    schema_name: str | None = None

    @property
    def is_lookup(self) -> bool:
        """True for Lookup, Customer and Owner columns (stored as `_<name>_value`)."""
        return self.attribute_type in LOOKUP_TYPES

    @property
    def value_name(self) -> str:
        """The property name in Web API JSON: `_x_value` for lookups, the logical name otherwise."""
        return f"_{self.logical_name}_value" if self.is_lookup else self.logical_name

    @property
    def option_values(self) -> frozenset[int]:
        """The valid values of an option set column."""
        return frozenset(option.value for option in self.options)

    def option_label(self, value: int) -> str | None:
        """The label of option `value`, None when it is not an option."""
        for option in self.options:
            if option.value == value:
                return option.label
        return None


@dataclass
class EntityMeta:
    """One table: names, attributes, alternate keys and the flags the sandbox honours."""

    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    attributes: dict[str, AttributeMeta]
    alternate_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    change_tracking: bool = True
    object_type_code: int = 0
    display_name: str = ""
    is_activity: bool = False
    #: A table made in the environment (a publisher prefix), not shipped by Microsoft.
    is_custom: bool = False
    #: The SchemaName when it is not the logical name with a capital first letter.
    schema_name: str | None = None
    #: Columns checked by the default duplicate detection rule (empty: no rule).
    duplicate_rule: tuple[str, ...] = ()
    #: Navigation property → (lookup attribute, target entity), built from the attributes.
    bindings: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: `_x_value` → attribute, for reading stored rows by their JSON property names.
    by_value_name: dict[str, AttributeMeta] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attribute in self.attributes.values():
            self.by_value_name[attribute.value_name] = attribute
            for navigation, target in attribute.navigation:
                self.bindings[navigation] = (attribute.logical_name, target)

    @property
    def type_name(self) -> str:
        """The OData type name, `Microsoft.Dynamics.CRM.lead`."""
        return f"{NAMESPACE}.{self.logical_name}"

    @property
    def state_attribute(self) -> AttributeMeta | None:
        """The statecode column, when the entity has states."""
        return self.attributes.get("statecode")

    def attribute(self, name: str) -> AttributeMeta | None:
        """An attribute by logical name or by its `_x_value` property name."""
        return self.attributes.get(name) or self.by_value_name.get(name)

    def default_status(self, state: int) -> int | None:
        """The first statuscode option belonging to `state` (Dataverse's default status)."""
        status = self.attributes.get("statuscode")
        if status is None:
            return None
        for option in status.options:
            if option.state == state:
                return option.value
        return None


class Metadata:
    """The environment's entities, found by logical name or entity set name."""

    def __init__(self, entities: Iterable[EntityMeta]) -> None:
        self.entities: dict[str, EntityMeta] = {entity.logical_name: entity for entity in entities}
        self._by_set = {entity.entity_set: entity for entity in self.entities.values()}

    def entity(self, name_or_set: str) -> EntityMeta:
        """The entity named `name_or_set` (logical name or entity set); unknown → 404."""
        entity = self.entities.get(name_or_set) or self._by_set.get(name_or_set)
        if entity is None:
            raise DataverseError(
                RESOURCE_NOT_FOUND, f"Resource not found for the segment '{name_or_set}'.", 404
            )
        return entity

    def by_set(self, set_name: str) -> EntityMeta:
        """The entity whose entity set is `set_name` (case-sensitive, as in Dataverse)."""
        entity = self._by_set.get(set_name)
        if entity is None:
            raise DataverseError(
                RESOURCE_NOT_FOUND, f"Resource not found for the segment '{set_name}'.", 404
            )
        return entity

    def __contains__(self, name: str) -> bool:
        return name in self.entities or name in self._by_set

    def __iter__(self) -> Iterator[EntityMeta]:
        return iter(self.entities.values())


# ---------------------------------------------------------------------- JSON renderers


def _label(text: str) -> dict:
    localized = {"Label": text, "LanguageCode": 1033}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def attribute_json(entity: EntityMeta, attribute: AttributeMeta) -> dict:
    """One `AttributeMetadata` object as `EntityDefinitions(...)/Attributes` returns it."""
    type_name, odata_type, _ = _TYPE_INFO[attribute.attribute_type]
    body: dict = {
        "@odata.type": f"#{NAMESPACE}.{odata_type}",
        "LogicalName": attribute.logical_name,
        "SchemaName": attribute.schema_name or attribute.logical_name,
        "EntityLogicalName": entity.logical_name,
        "AttributeType": attribute.attribute_type,
        "AttributeTypeName": {"Value": type_name},
        "RequiredLevel": {
            "Value": attribute.required_level,
            "CanBeChanged": not attribute.is_primary_id,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "IsValidForCreate": attribute.valid_for_create,
        "IsValidForUpdate": attribute.valid_for_update,
        "IsValidForRead": True,
        "IsPrimaryId": attribute.is_primary_id,
        "IsPrimaryName": attribute.is_primary_name,
        "IsCustomAttribute": attribute.is_custom,
        "DisplayName": _label(attribute.logical_name),
    }
    if attribute.attribute_type in STRING_TYPES:
        body["MaxLength"] = attribute.max_length
        body["Format"] = "Email" if attribute.logical_name.startswith("emailaddress") else "Text"
    if attribute.is_lookup:
        body["Targets"] = list(attribute.targets)
    if attribute.min_value is not None:
        body["MinValue"] = attribute.min_value
        body["MaxValue"] = attribute.max_value
    if attribute.options or attribute.attribute_type in OPTION_TYPES:
        options = []
        for option in attribute.options:
            item: dict = {"Value": option.value, "Label": _label(option.label)}
            if option.state is not None:
                item["State"] = option.state
            options.append(item)
        body["OptionSet"] = {
            "Name": f"{entity.logical_name}_{attribute.logical_name}",
            "IsGlobal": False,
            "OptionSetType": attribute.attribute_type,
            "Options": options,
        }
    return body


def entity_definition_json(entity: EntityMeta, *, expand_attributes: bool = False) -> dict:
    """`EntityDefinitions(LogicalName='lead')`, with `Attributes` when `$expand`ed."""
    body: dict = {
        "LogicalName": entity.logical_name,
        "SchemaName": entity.schema_name
        or entity.logical_name[:1].upper() + entity.logical_name[1:],
        "EntitySetName": entity.entity_set,
        "LogicalCollectionName": entity.entity_set,
        "PrimaryIdAttribute": entity.primary_id,
        "PrimaryNameAttribute": entity.primary_name,
        "ObjectTypeCode": entity.object_type_code,
        "ChangeTrackingEnabled": entity.change_tracking,
        "IsActivity": entity.is_activity,
        "IsCustomEntity": entity.is_custom,
        "DisplayName": _label(entity.display_name or entity.logical_name),
        "Keys": [
            {
                "LogicalName": name,
                "SchemaName": name,
                "KeyAttributes": list(columns),
                "EntityKeyIndexStatus": "Active",
            }
            for name, columns in entity.alternate_keys.items()
        ],
    }
    if expand_attributes:
        body["Attributes"] = attributes_json(entity)
    return body


def attributes_json(entity: EntityMeta) -> list[dict]:
    """Every attribute of `entity` as `.../Attributes` returns them."""
    return [attribute_json(entity, attribute) for attribute in entity.attributes.values()]


def many_to_one_json(entity: EntityMeta, metadata: Metadata) -> list[dict]:
    """``.../ManyToOneRelationships``: one per lookup target, with its navigation property.

    ``ReferencingEntityNavigationPropertyName`` is what a client binds with. The relationship
    SchemaNames are the sandbox's own (``<target>_<entity>_<lookup>``).
    """
    relationships = []
    for navigation, (attribute, target) in entity.bindings.items():
        if target not in metadata.entities:
            continue  # systemuser, team: tables the sandbox does not serve
        referenced = metadata.entities[target]
        relationships.append(
            {
                "@odata.type": f"#{NAMESPACE}.OneToManyRelationshipMetadata",
                "SchemaName": f"{target}_{entity.logical_name}_{attribute}",
                "RelationshipType": "OneToManyRelationship",
                "IsCustomRelationship": entity.attributes[attribute].is_custom,
                "ReferencedEntity": target,
                "ReferencedAttribute": referenced.primary_id,
                "ReferencingEntity": entity.logical_name,
                "ReferencingAttribute": attribute,
                "ReferencingEntityNavigationPropertyName": navigation,
            }
        )
    return relationships


def csdl_xml(metadata: Metadata) -> str:
    """A CSDL (EDMX 4.0) `$metadata` document: an EntityType and EntitySet per entity."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "<edmx:DataServices>",
        f'<Schema Namespace="{NAMESPACE}" Alias="mscrm" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">',
        '<EntityType Name="crmbaseentity" Abstract="true"/>',
    ]
    for entity in metadata:
        lines.append(f'<EntityType Name="{entity.logical_name}" BaseType="mscrm.crmbaseentity">')
        lines.append(f'<Key><PropertyRef Name="{entity.primary_id}"/></Key>')
        for attribute in entity.attributes.values():
            edm_type = _TYPE_INFO[attribute.attribute_type][2]
            extra = ""
            if attribute.attribute_type in STRING_TYPES:
                extra = ' Unicode="false"'
            lines.append(
                f'<Property Name={quoteattr(attribute.value_name)} Type="{edm_type}"{extra}/>'
            )
        for navigation, (_, target) in entity.bindings.items():
            lines.append(f'<NavigationProperty Name="{navigation}" Type="mscrm.{target}"/>')
        lines.append("</EntityType>")
    lines.append('<EntityContainer Name="System">')
    for entity in metadata:
        lines.append(
            f'<EntitySet Name="{entity.entity_set}" EntityType="mscrm.{entity.logical_name}"/>'
        )
    lines += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(lines)
