"""The memory connector's CRM-like schema and the CRM-style validation of written values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.base import FieldInfo, ObjectInfo
from connectors.errors import (
    ConnectorError,
    ErrorKind,
    FieldRefusal,
    PicklistRefusal,
    picklist_hint,
)
from core.values import blank

KEY_FIELD = "Id"
CURSOR_FIELD = "SystemModstamp"

FIELD_TYPES = frozenset({
    "string", "text", "email", "phone", "url", "picklist", "multipicklist", "boolean", "integer",
    "number", "date", "datetime", "id", "reference",
})
_TEXT_TYPES = {"string", "text", "email", "phone", "url", "picklist", "multipicklist", "id",
               "reference"}
_FIELD_SETTINGS = {"type", "length", "required", "picklist", "restricted", "external_id",
                   "unique", "createable", "updateable", "default", "reference_to", "label"}


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    """One object: id prefix, fields (``Id`` and ``SystemModstamp`` included) and defaults."""

    name: str
    key_prefix: str
    fields: dict[str, FieldInfo]
    defaults: dict[str, Any] = field(default_factory=dict)

    def info(self) -> ObjectInfo:
        """Return the object as ``describe`` reports it."""
        return ObjectInfo(self.name, KEY_FIELD, CURSOR_FIELD, dict(self.fields), label=self.name)

    def unique_fields(self) -> list[str]:
        """Fields whose values must not repeat across live records (unique or external ids)."""
        return [f.name for f in self.fields.values() if f.unique or f.external_id]


def _f(name: str, type_: str = "string", **kw: Any) -> FieldInfo:
    return FieldInfo(name, type_, label=kw.pop("label", name), **kw)


def _system_fields() -> list[FieldInfo]:
    return [
        _f(KEY_FIELD, "id", length=15, nillable=False, createable=False, updateable=False),
        _f(CURSOR_FIELD, "datetime", nillable=False, createable=False, updateable=False),
    ]


def _object(name: str, prefix: str, fields: list[FieldInfo], **defaults: Any) -> ObjectSchema:
    all_fields = {f.name: f for f in [*_system_fields(), *fields]}
    return ObjectSchema(name, prefix, all_fields, dict(defaults))


LEAD_SOURCES = ("Web", "Webinar", "Trade Show", "Partner Referral", "Advertisement", "Other")
_EXT_ID = _f("Syncline_Id__c", length=64, external_id=True, unique=True,
             label="Syncline Id")


def _person_fields() -> list[FieldInfo]:
    return [
        _f("Email", "email", length=80, unique=True),
        _f("FirstName", length=40),
        _f("LastName", length=80, required=True, nillable=False),
        _f("Title", length=128),
        _f("Phone", "phone", length=40),
        _f("Country", length=80),
        _f("LeadSource", "picklist", picklist_values=LEAD_SOURCES, restricted_picklist=True),
    ]


def default_schema() -> dict[str, ObjectSchema]:
    """Return a fresh copy of the built-in objects: Lead, Contact, Account, ..., Registrant."""
    objects = [
        _object("Lead", "00Q", [
            *_person_fields(),
            _f("Company", length=255, required=True, nillable=False),
            _f("Status", "picklist", picklist_values=(
                "Open", "Working", "Nurturing", "Qualified", "Unqualified")),
            _f("Score__c", "integer", label="Score"),
            _EXT_ID,
        ], Status="Open"),
        _object("Contact", "003", [
            *_person_fields(),
            _f("AccountId", "reference", reference_to=("Account",)),
            _EXT_ID,
        ]),
        _object("Account", "001", [
            _f("Name", length=255, required=True, nillable=False),
            _f("Industry", "picklist", picklist_values=(
                "Technology", "Finance", "Healthcare", "Manufacturing", "Retail", "Education",
                "Other")),
            _f("Website", "url", length=255),
            _f("Country", length=80),
            _EXT_ID,
        ]),
        _object("Campaign", "701", [
            _f("Name", length=80, required=True, nillable=False),
            _f("Type", "picklist", picklist_values=(
                "Webinar", "Trade Show", "Email", "Advertisement", "Conference", "Other")),
            _f("Status", "picklist", picklist_values=(
                "Planned", "In Progress", "Completed", "Aborted")),
            _f("StartDate", "date"),
            _f("EndDate", "date"),
            _f("ActualCost", "number"),
            _EXT_ID,
        ], Status="Planned"),
        _object("CampaignMember", "00v", [
            # As in Salesforce: who and which campaign are fixed once the member exists.
            _f("CampaignId", "reference", required=True, nillable=False, updateable=False,
               reference_to=("Campaign",)),
            _f("LeadId", "reference", updateable=False, reference_to=("Lead",)),
            _f("ContactId", "reference", updateable=False, reference_to=("Contact",)),
            _f("Status", "picklist", picklist_values=("Sent", "Registered", "Attended",
                                                      "Responded")),
            _EXT_ID,
        ], Status="Sent"),
        _object("Registrant", "a0R", [
            _f("Email", "email", length=80, required=True, nillable=False),
            _f("FirstName", length=40),
            _f("LastName", length=80),
            _f("Company", length=255),
            _f("Webinar", length=255, required=True, nillable=False),
            _f("Attended", "boolean", nillable=False),
            _f("RegisteredAt", "datetime"),
        ], Attended=False),
    ]
    return {o.name: o for o in objects}


def extend_schema(
    base: Mapping[str, ObjectSchema], config: Mapping[str, Any] | None
) -> dict[str, ObjectSchema]:
    """Merge a connection's ``schema:`` block into ``base``; a bad entry raises CONFIG.

    ``{Object: {key_prefix, replace, fields: {Name: {type, length, required, ...}}}}``: fields
    are added or replaced one by one; ``replace: true`` drops the object's existing fields.
    """
    merged = dict(base)
    if not config:
        return merged
    if not isinstance(config, Mapping):
        raise _config("schema must be a mapping of object name to its definition")
    for name, spec in config.items():
        if not isinstance(spec, Mapping):
            raise _config(f"schema.{name} must be a mapping")
        unknown = set(spec) - {"key_prefix", "fields", "replace", "defaults"}
        if unknown:
            raise _config(f"schema.{name}: unknown setting {sorted(unknown)[0]!r}")
        current = merged.get(name)
        prefix = str(spec.get("key_prefix") or (current.key_prefix if current else ""))
        if len(prefix) != 3:
            raise _config(f"schema.{name}.key_prefix must be 3 characters (like '00Q')")
        keep = current is not None and not spec.get("replace")
        fields = dict(current.fields) if keep and current else {
            f.name: f for f in _system_fields()}
        defaults = dict(current.defaults) if keep and current else {}
        for field_name, field_spec in (spec.get("fields") or {}).items():
            fields[field_name] = _field_from_config(name, str(field_name), field_spec)
            if isinstance(field_spec, Mapping) and "default" in field_spec:
                defaults[field_name] = field_spec["default"]
        defaults.update(spec.get("defaults") or {})
        merged[name] = ObjectSchema(str(name), prefix, fields, defaults)
    return merged


def _field_from_config(obj: str, name: str, spec: Any) -> FieldInfo:
    where = f"schema.{obj}.fields.{name}"
    if not isinstance(spec, Mapping):
        raise _config(f"{where} must be a mapping like {{type: string, length: 80}}")
    unknown = set(spec) - _FIELD_SETTINGS
    if unknown:
        raise _config(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    type_ = spec.get("type", "string")
    if type_ not in FIELD_TYPES:
        raise _config(f"{where}.type {type_!r} is not one of {', '.join(sorted(FIELD_TYPES))}")
    length = spec.get("length")
    if length is not None and (not isinstance(length, int) or length < 1):
        raise _config(f"{where}.length must be a positive integer")
    required = bool(spec.get("required", False))
    return FieldInfo(
        name,
        type_,
        label=str(spec.get("label", name)),
        length=length,
        required=required,
        nillable=not required,
        createable=bool(spec.get("createable", True)),
        updateable=bool(spec.get("updateable", True)),
        picklist_values=tuple(str(v) for v in spec.get("picklist") or ()),
        restricted_picklist=bool(spec.get("restricted", False)),
        external_id=bool(spec.get("external_id", False)),
        unique=bool(spec.get("unique", False)),
        reference_to=tuple(str(v) for v in spec.get("reference_to") or ()),
    )


def _config(message: str) -> ConnectorError:
    return ConnectorError(ErrorKind.CONFIG, message)


def unknown_object(name: str) -> ConnectorError:
    """Build the error for an object the schema lacks (Salesforce's wording)."""
    return ConnectorError(
        ErrorKind.CONFIG,
        f"sObject type '{name}' is not supported.",
        code="INVALID_TYPE",
        hint="check the object name in the mapping (names are case-sensitive)",
    )


def unknown_field(obj: ObjectSchema, name: str) -> ConnectorError:
    """Build the error for a field the object lacks (Salesforce's wording)."""
    return ConnectorError(
        ErrorKind.CONFIG,
        f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name.",
        code="INVALID_FIELD",
        field=name,
        hint=f"fix or remove '{name}' in the mapping, or create the field on {obj.name}",
    )


def check_values(
    obj: ObjectSchema, values: Mapping[str, Any], *, creating: bool
) -> tuple[dict[str, Any], ConnectorError | None]:
    """Validate and normalise values written to ``obj``; return them or the first error.

    Checks run in Salesforce's order: unknown field, writability, required, type, length,
    restricted picklist. Dates and datetimes are normalised to ISO strings. Like Salesforce,
    every field's problem is found, not only the first: when each one is a field's own (not
    writable, wrong type, too long, not an email, not in the picklist), the error returned
    lists them all in ``refused``, so the record can go again without those fields.
    """
    clean: dict[str, Any] = {}
    problems: list[ConnectorError] = []
    for name, value in values.items():
        info = obj.fields.get(name)
        if info is None:
            return {}, unknown_field(obj, name)
        if not (info.createable if creating else info.updateable):
            problems.append(_not_writable(obj, name, creating))
            continue
        clean[name] = value
    missing = [
        f.name for f in obj.fields.values()
        if f.required and (f.name in clean or creating) and blank(
            clean.get(f.name, obj.defaults.get(f.name) if creating else None))
    ]
    whole_record: ConnectorError | None = None
    if missing:
        whole_record = ConnectorError(
            ErrorKind.VALIDATION,
            f"Required fields are missing: [{', '.join(missing)}]",
            code="REQUIRED_FIELD_MISSING",
            field=missing[0],
            hint=f"map a value for {missing[0]} or give it a default in the mapping",
        )
        problems.append(whole_record)
    for name, value in list(clean.items()):
        normalised, error = _check_value(obj, obj.fields[name], value)
        if error is not None:
            problems.append(error)
        clean[name] = normalised
    if not problems:
        return clean, None
    first = problems[0]
    if whole_record is None:
        first.refused = tuple(_refusal(error, values) for error in problems)
    return {}, first


def _not_writable(obj: ObjectSchema, name: str, creating: bool) -> ConnectorError:
    action = "insert" if creating else "update"
    return ConnectorError(
        ErrorKind.CONFIG,
        f"Unable to create/update fields: {name}. Please check the security settings of "
        "this field and verify that it is read/write for your profile or permission set.",
        code="INVALID_FIELD_FOR_INSERT_UPDATE",
        field=name,
        hint=f"{obj.name}.{name} cannot be set on {action}: stop mapping it towards "
        f"this connection",
    )


def _refusal(error: ConnectorError, values: Mapping[str, Any]) -> FieldRefusal:
    name = error.field or ""
    return FieldRefusal(name, error.message, error.code, values.get(name), error.hint,
                        error.refusal)


def _check_value(
    obj: ObjectSchema, info: FieldInfo, value: Any
) -> tuple[Any, ConnectorError | None]:
    if value is None:
        return None, None
    name, type_ = info.name, info.type
    ok = True
    if type_ in _TEXT_TYPES:
        ok = isinstance(value, str)
    elif type_ == "boolean":
        ok = isinstance(value, bool)
    elif type_ == "integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
        value = int(value) if ok else value
    elif type_ == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif type_ == "date":
        value, ok = _iso(value, date)
    elif type_ == "datetime":
        value, ok = _iso(value, datetime)
    if not ok:
        return value, ConnectorError(
            ErrorKind.VALIDATION,
            f"{name}: value not of required type: {value!r} (expected {type_})",
            code="INVALID_TYPE",
            field=name,
            hint=f"{obj.name}.{name} expects {type_}: add a transform converting {value!r}",
        )
    if isinstance(value, str) and info.length is not None and len(value) > info.length:
        shown = value if len(value) <= 40 else value[:37] + "..."
        return value, ConnectorError(
            ErrorKind.VALIDATION,
            f"{name}: data value too large: {shown} (max length={info.length})",
            code="STRING_TOO_LONG",
            field=name,
            hint=f"shorten the value or add a truncate({info.length}) transform on {name}",
        )
    if type_ == "email" and ("@" not in value or " " in value.strip()):
        return value, ConnectorError(
            ErrorKind.VALIDATION,
            f"{name}: invalid email address: {value}",
            code="INVALID_EMAIL_ADDRESS",
            field=name,
            hint="fix the address at its source or filter such records in the sync rule",
        )
    if info.restricted_picklist and value not in info.picklist_values:
        return value, ConnectorError(
            ErrorKind.VALIDATION,
            f"{name}: bad value for restricted picklist field: {value}",
            code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            field=name,
            hint=picklist_hint(name, value, info.picklist_values),
            refusal=PicklistRefusal(value, tuple(info.picklist_values)),
        )
    return value, None


def _iso(value: Any, kind: type[date]) -> tuple[Any, bool]:
    if isinstance(value, str):
        parse = date.fromisoformat if kind is date else datetime.fromisoformat
        try:
            parse(value)
        except ValueError:
            return value, False
        return value, True
    # datetime is a subclass of date: a datetime written to a date field keeps its date.
    if kind is date and isinstance(value, datetime):
        return value.date().isoformat(), True
    if isinstance(value, kind):
        return value.isoformat(), True
    return value, False
