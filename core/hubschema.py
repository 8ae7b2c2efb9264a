"""The hub's own schema: standard columns of each hub table plus admin-declared custom fields.

Custom fields are declared in ``mappings/hub.yaml`` and stored in each record's ``attributes``
JSON, so adding one never needs a database migration::

    person:
      industry_segment: {type: string, max_length: 80}
      nps: {type: integer}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON

from core.errors import InputError
from core.models import HUB_MODELS, HubRecord
from core.values import normalise_email
from core.yamlsource import display_path, line_of, load_yaml_file

#: Columns the sync engine manages itself: never mapped, never written by a sync.
SYSTEM_FIELDS = frozenset(
    {"id", "change_seq", "created_at", "updated_at", "deleted_at", "attributes",
     # The hub steps' due times (scoring's decay, the lifecycle's idle timers): bookkeeping.
     "score_due_at", "stage_due_at", "scored_account_id", "scored_seq"}
)

FIELD_TYPES = ("string", "text", "integer", "number", "boolean", "date", "datetime", "json", "ref")


@dataclass(frozen=True, slots=True)
class HubField:
    """One field of a hub object: a table column or a custom attribute."""

    name: str
    type: str = "string"
    custom: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    ref: str | None = None  # for type "ref": the hub object it points at

    def coerce(self, value: Any) -> Any:
        """Convert an incoming value to this field's type; ValueError says why it cannot."""
        if value is None or (isinstance(value, str) and value == "" and self.type != "string"):
            return None
        match self.type:
            case "string" | "text" | "ref":
                text = value if isinstance(value, str) else str(value)
                if self.max_length is not None and len(text) > self.max_length:
                    raise ValueError(
                        f"{self.name}: {len(text)} characters, the hub allows {self.max_length}"
                    )
                if self.choices and text and text not in self.choices:
                    raise ValueError(f"{self.name}: {text!r} is not one of {list(self.choices)}")
                return text
            case "integer":
                if isinstance(value, bool):
                    return int(value)
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                if isinstance(value, int):
                    return value
                text = str(value).strip()
                try:
                    return int(text)
                except ValueError:
                    pass
                try:
                    number = float(text)  # "42.0" from a CRM that sends every number as a float
                except ValueError:
                    number = float("nan")
                if number.is_integer():
                    return int(number)
                raise ValueError(f"{self.name}: {value!r} is not a whole number")
            case "number":
                if isinstance(value, bool):
                    raise ValueError(f"{self.name}: {value!r} is not a number")
                try:
                    return float(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{self.name}: {value!r} is not a number") from None
            case "boolean":
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text in ("true", "1", "yes", "y", "t"):
                    return True
                if text in ("false", "0", "no", "n", "f"):
                    return False
                raise ValueError(f"{self.name}: {value!r} is not true or false")
            case "date":
                if isinstance(value, datetime):
                    return value.date()
                if isinstance(value, date):
                    return value
                try:
                    return date.fromisoformat(str(value)[:10])
                except ValueError:
                    raise ValueError(f"{self.name}: {value!r} is not a date (YYYY-MM-DD)") from None
            case "datetime":
                if isinstance(value, datetime):
                    parsed = value
                else:
                    try:
                        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                    except ValueError:
                        raise ValueError(f"{self.name}: {value!r} is not a date-time") from None
                # Hub datetimes are always aware UTC (SQLModel's column type insists on it);
                # a naive incoming value is taken to be UTC already.
                if parsed.tzinfo is None:
                    return parsed.replace(tzinfo=UTC)
                return parsed.astimezone(UTC)
            case _:
                return value


def _column_type(column: Any) -> str:
    sql_type = column.type
    # SQLModel wraps strings and datetimes in TypeDecorators; their impl knows the Python type.
    sql_type = getattr(sql_type, "impl", sql_type)
    if isinstance(sql_type, JSON):
        return "json"
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        return "json"
    # Order matters: datetime is a subclass of date, bool of int.
    for py, kind in (
        (datetime, "datetime"),
        (date, "date"),
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (dict, "json"),
        (list, "json"),
    ):
        if issubclass(python_type, py):
            return kind
    return "string"


def _standard_fields(model: type[HubRecord]) -> dict[str, HubField]:
    fields: dict[str, HubField] = {}
    table = model.__table__  # type: ignore[attr-defined]
    for name in model.model_fields:
        if name in SYSTEM_FIELDS:
            continue
        column = table.columns[name]
        kind = _column_type(column)
        ref = None
        if column.foreign_keys:
            kind = "ref"
            ref = next(iter(column.foreign_keys)).column.table.name
        length = getattr(column.type, "length", None)
        fields[name] = HubField(name=name, type=kind, max_length=length, ref=ref)
    return fields


@dataclass
class HubSchema:
    """Every hub object's fields, standard and custom, as mappings may reference them."""

    objects: dict[str, dict[str, HubField]] = field(default_factory=dict)
    source: str = "<builtin>"

    @classmethod
    def standard(cls) -> HubSchema:
        """The schema with no custom fields."""
        return cls({name: _standard_fields(model) for name, model in HUB_MODELS.items()})

    @classmethod
    def load(cls, path: str | Path | None) -> HubSchema:
        """Standard fields plus the custom ones declared in ``path`` (absent file: none)."""
        schema = cls.standard()
        if path is None or not Path(path).exists():
            return schema
        source = display_path(path)
        schema.source = source
        data, lines = load_yaml_file(path)
        data = data or {}

        def where(*keys: str) -> str:
            line = line_of(lines, keys)
            return f"{source}:{line} {'.'.join(keys)}" if line else f"{source} {'.'.join(keys)}"

        if not isinstance(data, Mapping):
            raise InputError(source, "expected a mapping of hub object → custom fields")
        for obj, fields in data.items():
            if obj not in schema.objects:
                known = ", ".join(sorted(schema.objects))
                raise InputError(where(obj), f"unknown hub object (known: {known})")
            if not isinstance(fields, Mapping):
                raise InputError(where(obj), "expected a mapping of field name → {type: ...}")
            for name, spec in fields.items():
                if name in schema.objects[obj]:
                    raise InputError(where(obj, name),
                                     "is a standard field; custom fields need another name")
                if not str(name).isidentifier():
                    raise InputError(where(obj, name),
                                     "field names must be letters, digits and underscores")
                spec = spec or {}
                if not isinstance(spec, Mapping):
                    raise InputError(where(obj, name),
                                     "expected {type: ..., max_length: ..., choices: [...]}")
                unknown = set(spec) - {"type", "max_length", "choices", "label"}
                if unknown:
                    raise InputError(where(obj, name, sorted(unknown)[0]),
                                     f"unknown key(s): {', '.join(sorted(unknown))}")
                kind = spec.get("type", "string")
                if kind not in FIELD_TYPES or kind == "ref":
                    allowed = ", ".join(t for t in FIELD_TYPES if t != "ref")
                    raise InputError(where(obj, name, "type"),
                                     f"unknown type {kind!r} (allowed: {allowed})")
                schema.objects[obj][name] = HubField(
                    name=name,
                    type=kind,
                    custom=True,
                    max_length=spec.get("max_length"),
                    choices=tuple(spec.get("choices") or ()),
                )
        return schema

    def fields(self, hub_object: str) -> dict[str, HubField]:
        """Fields of one hub object (KeyError for an unknown object)."""
        return self.objects[hub_object]

    def get(self, record: HubRecord, name: str) -> Any:
        """Read a field from a hub row, custom fields from ``attributes``."""
        hub_field = self.objects[_object_name(record)][name]
        if hub_field.custom:
            return (getattr(record, "attributes", None) or {}).get(name)
        return getattr(record, name)

    def set(self, record: HubRecord, name: str, value: Any) -> bool:
        """Coerce and write a field; returns True when the stored value changed."""
        hub_field = self.objects[_object_name(record)][name]
        value = hub_field.coerce(value)
        if name == "email" and isinstance(value, str):
            value = normalise_email(value)
        if hub_field.custom:
            attributes = dict(getattr(record, "attributes", None) or {})
            if isinstance(value, date | datetime):
                value = value.isoformat()
            if attributes.get(name) == value:
                return False
            attributes[name] = value
            # Reassign, never mutate: SQLAlchemy only notices a new JSON object.
            record.attributes = attributes  # type: ignore[attr-defined]
            return True
        if getattr(record, name) == value:
            return False
        setattr(record, name, value)
        return True

    def values(self, record: HubRecord) -> dict[str, Any]:
        """All mappable fields of a row as a plain dict (what expressions and previews see)."""
        # Hot path (every record of every page): one lookup of the object, no get() per field.
        attributes = getattr(record, "attributes", None) or {}
        out = {
            name: attributes.get(name) if hub_field.custom else getattr(record, name)
            for name, hub_field in self.objects[_object_name(record)].items()
        }
        out["id"] = record.id
        return out


def _object_name(record: HubRecord) -> str:
    return record.__tablename__  # type: ignore[return-value]
