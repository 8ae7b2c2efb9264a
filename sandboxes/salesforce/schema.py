"""Object metadata (standard objects plus config's custom fields) and the describe JSON."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.salesforce.config import SandboxConfig
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.ids import KEY_PREFIXES
from sandboxes.salesforce.standard_objects import (
    LEAD_CONVERTED_STATUSES,
    F,
    FieldMeta,
    ObjectDefinition,
    PicklistValue,
    standard_definitions,
)

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
    "date": "xsd:date", "datetime": "xsd:dateTime",
}  # fmt: skip
_TEXT_TYPES = frozenset(
    {"id", "reference", "string", "email", "phone", "url", "picklist", "multipicklist",
     "textarea"}
)  # fmt: skip
# Record type id every object without record types reports for its "Master" record type.
MASTER_RECORD_TYPE_ID = "012000000000000AAA"


@dataclass
class ChildRelationship:
    """A parent's view of a reference field pointing at it."""

    child_sobject: str
    field: str
    relationship_name: str | None
    cascade_delete: bool


class ObjectMeta:
    """One object's metadata: fields by name (case-insensitive lookup) and capabilities."""

    def __init__(self, definition: ObjectDefinition) -> None:
        self.name = definition.name
        self.label = definition.label
        self.label_plural = definition.label_plural
        self.key_prefix = KEY_PREFIXES[definition.name]
        self.createable = definition.createable
        self.updateable = definition.updateable
        self.deletable = definition.deletable
        self.mergeable = definition.mergeable
        self.replicateable = definition.replicateable
        self.fields: dict[str, FieldMeta] = {meta.name: meta for meta in definition.fields}
        self.child_relationships: list[ChildRelationship] = []
        self._by_lower: dict[str, FieldMeta] = {}
        self.reindex()

    def reindex(self) -> None:
        """Refresh derived lookups after fields change (custom fields, overrides)."""
        self._by_lower = {name.lower(): meta for name, meta in self.fields.items()}
        self.external_id_fields = [meta.name for meta in self.fields.values() if meta.external_id]
        self.unique_fields = [
            meta.name for meta in self.fields.values() if meta.unique and meta.external_id
        ]
        self.required_fields = [meta.name for meta in self.fields.values() if meta.required]
        # An update may not blank a non-nillable field either, even one defaulted on create
        # (Lead Status: REQUIRED_FIELD_MISSING when set to null).
        self.never_null_fields = [
            meta.name for meta in self.fields.values()
            if not meta.nillable and meta.updateable and meta.type != "boolean"
        ]
        self.has_owner = "OwnerId" in self.fields

    def field(self, name: str) -> FieldMeta | None:
        """The field called `name` (API names are case-insensitive), or None."""
        return self._by_lower.get(name.lower()) if isinstance(name, str) else None

    def relationship(self, name: str) -> FieldMeta | None:
        """The reference field whose relationshipName is `name` (case-insensitive), or None."""
        lowered = name.lower()
        return next(
            (
                meta
                for meta in self.fields.values()
                if meta.relationship_name and meta.relationship_name.lower() == lowered
            ),
            None,
        )


class Schema:
    """Every object the org serves, with the config's custom fields and picklist overrides."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.objects: dict[str, ObjectMeta] = {
            definition.name: ObjectMeta(definition) for definition in standard_definitions()
        }
        self._by_lower = {name.lower(): meta for name, meta in self.objects.items()}
        self._apply_custom_fields()
        self._apply_picklist_overrides()
        for meta in self.objects.values():
            meta.reindex()
        self._link_children()
        self._check_rules()
        converted = [
            item.value
            for item in self.objects["Lead"].fields["Status"].picklist_values
            if item.value in LEAD_CONVERTED_STATUSES
        ]
        # The status conversion sets when none is given (LeadStatus with IsConverted = true).
        self.lead_converted_statuses: tuple[str, ...] = tuple(converted)

    # ----------------------------------------------------------------- lookups

    def find(self, sobject: str) -> ObjectMeta | None:
        """The object called `sobject` (case-insensitive), or None."""
        return self._by_lower.get(sobject.lower()) if isinstance(sobject, str) else None

    def get(self, sobject: str) -> ObjectMeta:
        """The object called `sobject`; unknown → NOT_FOUND (404), as the REST API answers."""
        meta = self.find(sobject)
        if meta is None:
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        return meta

    # ----------------------------------------------------------------- config

    def _apply_custom_fields(self) -> None:
        for custom in self.config.custom_fields:
            meta = self.find(custom.object)
            if meta is None:
                raise self.config.error(f"{custom.key}.object", f"unknown object {custom.object}")
            if meta.field(custom.name) is not None:
                raise self.config.error(
                    f"{custom.key}.name", f"{custom.object} already has a field {custom.name}"
                )
            if custom.reference_to is not None and self.find(custom.reference_to) is None:
                raise self.config.error(
                    f"{custom.key}.reference_to", f"unknown object {custom.reference_to}"
                )
            attributes: dict[str, object] = {
                "custom": True,
                "nillable": not custom.required,
                "external_id": custom.external_id,
                "unique": custom.unique,
                # External ids and unique fields can identify a record in an upsert.
                "id_lookup": custom.external_id or custom.unique,
                "case_sensitive": custom.case_sensitive,
            }
            if custom.length is not None:
                attributes["length"] = custom.length
            if custom.precision is not None:
                attributes["precision"] = custom.precision
            if custom.scale is not None:
                attributes["scale"] = custom.scale
            if custom.picklist_values:
                attributes["picklist_values"] = tuple(
                    PicklistValue(value, value) for value in custom.picklist_values
                )
                attributes["restricted_picklist"] = custom.restricted
            if custom.reference_to is not None:
                target = self.get(custom.reference_to).name
                attributes["reference_to"] = (target,)
                attributes["relationship_name"] = custom.name[:-3] + "__r"
            if custom.default_value is not None:
                attributes["default_value"] = custom.default_value
                attributes["defaulted_on_create"] = True
            field_meta = F(custom.name, custom.type, custom.label, **attributes)
            meta.fields[custom.name] = field_meta
            meta.reindex()

    def _apply_picklist_overrides(self) -> None:
        for override in self.config.picklists:
            meta = self.find(override.object)
            if meta is None:
                raise self.config.error(override.key, f"unknown object {override.object}")
            field_meta = meta.field(override.field)
            if field_meta is None or field_meta.type not in ("picklist", "multipicklist"):
                raise self.config.error(
                    override.key, f"{meta.name} has no picklist field {override.field}"
                )
            values = override.values
            if values is None:
                values = tuple(item.value for item in field_meta.picklist_values)
            default = override.default
            if default is None:
                default = field_meta.default_picklist_value
            if default is not None and default not in values:
                raise self.config.error(f"{override.key}.default", f"{default} is not a value")
            field_meta.picklist_values = tuple(
                PicklistValue(value, value, default=value == default) for value in values
            )
            if override.restricted is not None:
                field_meta.restricted_picklist = override.restricted

    def _link_children(self) -> None:
        for meta in self.objects.values():
            for field_meta in meta.fields.values():
                if field_meta.type != "reference" or field_meta.name in (
                    "CreatedById", "LastModifiedById", "OwnerId",
                ):  # fmt: skip
                    continue
                for target in field_meta.reference_to:
                    parent = self.objects.get(target)
                    if parent is not None:
                        parent.child_relationships.append(
                            ChildRelationship(
                                meta.name,
                                field_meta.name,
                                field_meta.child_relationship_name,
                                field_meta.cascade_delete,
                            )
                        )

    def _check_rules(self) -> None:
        for rule in self.config.validation_rules:
            meta = self.find(rule.object)
            if meta is None:
                raise self.config.error(f"{rule.key}.object", f"unknown object {rule.object}")
            if rule.error_field is not None and meta.field(rule.error_field) is None:
                raise self.config.error(
                    f"{rule.key}.error_field", f"{meta.name} has no field {rule.error_field}"
                )
            self._check_condition(meta, rule.when, f"{rule.key}.when")
        for duplicate_rule in self.config.duplicate_rules:
            meta = self.find(duplicate_rule.object)
            if meta is None:
                raise self.config.error(
                    f"{duplicate_rule.key}.object", f"unknown object {duplicate_rule.object}"
                )
            for index, name in enumerate(duplicate_rule.fields):
                if meta.field(name) is None:
                    raise self.config.error(
                        f"{duplicate_rule.key}.fields[{index}]", f"{meta.name} has no field {name}"
                    )

    def _check_condition(self, meta: ObjectMeta, condition: dict, key: str) -> None:
        for group in ("all", "any"):
            if group in condition:
                for index, item in enumerate(condition[group]):
                    self._check_condition(meta, item, f"{key}.{group}[{index}]")
                return
        if "not" in condition:
            self._check_condition(meta, condition["not"], f"{key}.not")
            return
        if meta.field(str(condition["field"])) is None:
            raise self.config.error(
                f"{key}.field", f"{meta.name} has no field {condition['field']}"
            )

    # ----------------------------------------------------------------- describe

    def describe(self, sobject: str, version: str | None = None) -> dict:
        """The `GET /sobjects/{T}/describe` body."""
        meta = self.get(sobject)
        version = version or self.config.default_api_version
        return {
            **self._object_summary(meta, version),
            "actionOverrides": [],
            "childRelationships": [
                {
                    "cascadeDelete": child.cascade_delete,
                    "childSObject": child.child_sobject,
                    "deprecatedAndHidden": False,
                    "field": child.field,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": child.relationship_name,
                    "restrictedDelete": False,
                }
                for child in meta.child_relationships
            ],
            "compactLayoutable": meta.createable,
            "fields": [describe_field(field_meta) for field_meta in meta.fields.values()],
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [
                {
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "developerName": "Master",
                    "master": True,
                    "name": "Master",
                    "recordTypeId": MASTER_RECORD_TYPE_ID,
                    "urls": {
                        "layout": f"/services/data/v{version}/sobjects/{meta.name}/describe/"
                        f"layouts/{MASTER_RECORD_TYPE_ID}"
                    },
                }
            ],
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [
                {"label": "All " + meta.label_plural.lower(), "name": "everything"}
            ],
        }

    def describe_global(self, version: str | None = None) -> dict:
        """The `GET /sobjects/` body."""
        version = version or self.config.default_api_version
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [self._object_summary(meta, version) for meta in self.objects.values()],
        }

    def _object_summary(self, meta: ObjectMeta, version: str) -> dict:
        base = f"/services/data/v{version}/sobjects/{meta.name}"
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": meta.createable,
            "custom": False,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": meta.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": meta.name in ("Lead", "Contact", "Account", "Opportunity", "Campaign"),
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": meta.key_prefix,
            "label": meta.label,
            "labelPlural": meta.label_plural,
            "layoutable": meta.createable,
            "mergeable": meta.mergeable,
            "mruEnabled": meta.createable,
            "name": meta.name,
            "queryable": True,
            "replicateable": meta.replicateable,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": meta.deletable,
            "updateable": meta.updateable,
            "urls": {
                "rowTemplate": f"{base}/{{ID}}",
                "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
                "describe": f"{base}/describe",
                "sobject": base,
                "layouts": f"{base}/describe/layouts",
                "compactLayouts": f"{base}/describe/compactLayouts",
                "quickActions": f"{base}/quickActions",
            },
        }


def find_field(description: dict, field_name: str) -> dict | None:
    """The entry of ``field_name`` in an object's describe (case-insensitive), or None."""
    for entry in description["fields"]:
        if entry["name"].lower() == field_name.lower():
            return entry
    return None


def describe_field(meta: FieldMeta) -> dict:
    """One entry of describe's `fields` array."""
    is_text = meta.type in _TEXT_TYPES
    is_number = meta.type in ("double", "currency", "percent")
    return {
        "aggregatable": meta.type not in ("textarea", "multipicklist"),
        "autoNumber": False,
        "byteLength": meta.length * 3 if is_text else 0,
        "calculated": meta.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": meta.case_sensitive,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": meta.createable,
        "custom": meta.custom,
        "defaultValue": meta.default_value if meta.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": meta.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": meta.digits,
        "encrypted": False,
        "externalId": meta.external_id,
        "extraTypeInfo": _extra_type_info(meta),
        "filterable": meta.type not in ("textarea",),
        "groupable": meta.type not in ("textarea", "double", "currency", "percent", "datetime"),
        "htmlFormatted": False,
        "idLookup": meta.id_lookup,
        "inlineHelpText": None,
        "label": meta.label,
        "length": meta.length if is_text else 0,
        "mask": None,
        "maskType": None,
        "name": meta.name,
        "nameField": meta.name_field,
        "namePointing": False,
        "nillable": meta.nillable,
        "permissionable": meta.nillable,
        "picklistValues": [
            {
                "active": item.active,
                "defaultValue": item.default,
                "label": item.label,
                "validFor": None,
                "value": item.value,
            }
            for item in meta.picklist_values
        ],
        "polymorphicForeignKey": len(meta.reference_to) > 1,
        "precision": meta.precision if is_number else 0,
        "referenceTargetField": None,
        "referenceTo": list(meta.reference_to),
        "relationshipName": meta.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": meta.restricted_picklist,
        "scale": meta.scale if is_number else 0,
        "soapType": _SOAP_TYPES.get(meta.type, "xsd:string"),
        "sortable": meta.type not in ("textarea", "multipicklist"),
        "type": meta.type,
        "unique": meta.unique,
        "updateable": meta.updateable,
        "writeRequiresMasterRead": False,
    }


def _extra_type_info(meta: FieldMeta) -> str | None:
    if meta.type == "textarea":
        return "plaintextarea"
    if meta.type == "reference" and meta.reference_to == ("User",):
        return None
    if meta.name in ("Name", "FirstName", "LastName") and meta.type == "string":
        return "personname" if meta.name == "Name" and not meta.createable else None
    return None
