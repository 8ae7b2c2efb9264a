"""Editing one hub record's fields by hand: checked by the hub schema, audited, synced next cycle.

Values arrive as the text of a form. Each changed field is converted by the hub schema's own
``HubField.coerce`` (the check a pulled value passes, whose refusal is ``HUB_REJECTED_VALUE``),
and written through ``HubSchema.set`` in an ORM session, so the flush gives the record a new
``change_seq`` and every mapping's next push sends it. Every problem of every field is found
before anything is written; an edit with any problem writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from core.clock import utcnow
from core.hubschema import HubField, HubSchema
from core.models import HUB_MODELS, Audit, HubRecord
from core.values import normalise_email

#: The audit action of a hand edit (``dashboard.audit_text`` turns it into a sentence).
ACTION = "record.edit"


class EditRefusedError(ValueError):
    """An edit with problems: ``problems`` maps each field to why its value was refused."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems.items()))
        self.problems = problems


class ChangedMeanwhileError(ValueError):
    """The record changed (a sync, another admin) after the form was opened."""


@dataclass(frozen=True, slots=True)
class EditableField:
    """A field the edit form offers, with the current value as the form shows it."""

    name: str
    type: str
    custom: bool
    required: bool
    text: str
    choices: tuple[str, ...] = ()
    max_length: int | None = None


def editable_fields(schema: HubSchema, record: HubRecord) -> list[EditableField]:
    """The record's fields an admin may edit: standard ones, then custom ones.

    JSON fields (a deal's contact roles) are left to the syncs: a text box is no way to
    edit a structure.
    """
    hub_object = _object_name(record)
    columns = type(record).__table__.columns  # type: ignore[attr-defined]
    found: list[EditableField] = []
    for name, hub_field in schema.fields(hub_object).items():
        if hub_field.type == "json":
            continue
        required = not hub_field.custom and not columns[name].nullable
        found.append(
            EditableField(
                name=name,
                type=hub_field.type,
                custom=hub_field.custom,
                required=required,
                text=form_text(schema.get(record, name)),
                choices=hub_field.choices,
                max_length=hub_field.max_length,
            )
        )
    return found


def form_text(value: Any) -> str:
    """A stored value as the form's input holds it (and as a submitted unchanged value reads)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def audit_value(value: Any) -> Any:
    """A value as the audit row keeps it (JSON: dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def edit_record(
    session: Session,
    schema: HubSchema,
    record: HubRecord,
    posted: Mapping[str, str],
    *,
    actor: str,
    expected_seq: int | None = None,
) -> dict[str, list[Any]]:
    """Apply the submitted field texts that differ from the record; returns field → [old, new].

    Raises EditRefusedError naming every refused field, or ChangedMeanwhileError when
    ``expected_seq`` (the change_seq the form was drawn at) is no longer the record's. The
    caller commits.
    """
    if expected_seq is not None and record.change_seq != expected_seq:
        raise ChangedMeanwhileError(
            f"this record changed (change {record.change_seq}) after the form was opened "
            f"(change {expected_seq})"
        )
    fields = {f.name: f for f in editable_fields(schema, record)}
    hub_fields = schema.fields(_object_name(record))
    wanted: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, text in posted.items():
        offered = fields.get(name)
        if offered is None:
            problems[name] = "not a field of this record that can be edited here"
            continue
        if text == offered.text:
            continue  # unchanged: never re-checked (an old value may predate today's limits)
        try:
            wanted[name] = _checked(session, hub_fields[name], offered, text, record)
        except ValueError as exc:
            problems[name] = _without_name(name, str(exc))
    if problems:
        raise EditRefusedError(problems)
    changes: dict[str, list[Any]] = {}
    for name, value in wanted.items():
        before = schema.get(record, name)
        if schema.set(record, name, value):
            changes[name] = [audit_value(before), audit_value(schema.get(record, name))]
    if changes:
        session.add(record)
        session.add(
            Audit(at=utcnow(), actor=actor, action=ACTION, target=record.id, detail=changes)
        )
        session.flush()  # allocates the record's change_seq now: the next push sends it
    return changes


def _checked(
    session: Session, hub_field: HubField, offered: EditableField, text: str, record: HubRecord
) -> Any:
    """The typed value for ``text``, or ValueError saying why the hub refuses it."""
    raw: Any = text.strip() if hub_field.type != "string" else text
    if hub_field.type in ("string", "text", "ref") and not text.strip():
        raw = None  # a cleared box means no value, not a value of spaces
    if raw in (None, "") and offered.required:
        raise ValueError("a value is required")
    value = hub_field.coerce(raw)
    if value is None:
        return None
    model = HUB_MODELS.get(hub_field.ref or "") if hub_field.type == "ref" else None
    if model is not None and session.get(model, value) is None:
        raise ValueError(f"no {hub_field.ref} with id {value!r}")
    if hub_field.name == "email":
        _check_email_free(session, record, normalise_email(str(value)))
    return value


def _check_email_free(session: Session, record: HubRecord, email: str | None) -> None:
    """Two live people with one email would be matched to the same CRM records: refuse it."""
    if email is None:
        return
    model = type(record)
    other = session.exec(
        select(model.id).where(
            model.email == email,  # type: ignore[attr-defined]
            model.id != record.id,
            col(model.deleted_at).is_(None),
        )
    ).first()
    if other is not None:
        raise ValueError(f"{email!r} is already the email of another person ({other})")


def _without_name(name: str, message: str) -> str:
    """``title: 130 characters...`` → ``130 characters...``: the form shows it by the field."""
    return message.removeprefix(f"{name}: ")


def _object_name(record: HubRecord) -> str:
    return str(record.__tablename__)

