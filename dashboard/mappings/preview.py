"""Preview a sample record through a mapping, both ways, with the mapping's own compiled rows.

Hub → remote runs each row's ``to_remote`` (transforms, value map, default) and the
``sync_rule``; remote → hub runs ``to_hub`` plus the hub field's type conversion and the
``pull_rule``. A rule that keeps the record back names its failing clauses with the values
(``mappings.explain``, as on the person page). Nothing is written anywhere: the hub record, if
one is picked, is only read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from core.hubschema import HubSchema
from core.models import HUB_MODELS
from core.values import normalise_email
from mappings.explain import RuleCheck, check_rule
from mappings.expressions import ExpressionError
from mappings.spec import Mapping
from mappings.transforms import TransformError


@dataclass(frozen=True, slots=True)
class RowResult:
    """One field row in a preview: what goes in, what comes out, or why it does not."""

    source: str
    target: str
    value_in: str
    value_out: str | None
    active: bool
    note: str = ""


@dataclass
class Preview:
    """A whole preview: the rows and the rule's verdict on the record, failing clauses named."""

    direction: str  # push (hub → remote) | pull (remote → hub)
    rows: list[RowResult] = field(default_factory=list)
    rule: str | None = None
    check: RuleCheck | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """Does the rule let the record through?"""
        return self.check is None or bool(self.check.passed)

    @property
    def rule_error(self) -> str | None:
        """Why the rule cannot be evaluated for the record, if it cannot."""
        return self.check.error if self.check is not None else None

    @property
    def outgoing(self) -> dict[str, Any]:
        """Remote field → value of the rows that would be sent (a sample for the pull side)."""
        return {r.target: json.loads(r.value_out) for r in self.rows
                if r.active and r.value_out is not None}


def show(value: Any) -> str:
    """A value as the preview prints it: JSON, so text is quoted and blank reads ``null``."""
    return json.dumps(value, ensure_ascii=False, default=str)


def hub_inputs(mapping: Mapping) -> list[str]:
    """Hub fields a sample needs: mapped fields, then those the sync rule and exprs read."""
    names: list[str] = [row.hub for row in mapping.fields if row.hub]
    if mapping._sync_rule is not None:
        names.extend(sorted(mapping._sync_rule.names))
    for row in mapping.fields:
        if row._expr is not None:
            names.extend(sorted(row._expr.names))
    return [n for n in dict.fromkeys(names) if n != "id"]


def find_hub_record(db: Session, mapping: Mapping, schema: HubSchema, key: str
                    ) -> dict[str, Any] | None:
    """A hub record of the mapping's object by id, or by email where the object has one."""
    model = HUB_MODELS.get(mapping.hub_object)
    key = key.strip()
    if model is None or not key:
        return None
    record = db.get(model, key)
    if record is None and "email" in model.model_fields:
        email = normalise_email(key)
        record = db.exec(select(model).where(model.email == email)).first()  # type: ignore[attr-defined]
    return schema.values(record) if record is not None else None


def hub_values(mapping: Mapping, schema: HubSchema, posted: dict[str, str]
               ) -> tuple[dict[str, Any], list[str]]:
    """Typed hub values from the form's text inputs, and the inputs that do not fit their type."""
    fields = schema.objects.get(mapping.hub_object, {})
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, text in posted.items():
        hub_field = fields.get(name)
        if hub_field is None:
            continue
        try:
            values[name] = hub_field.coerce(text if text != "" else None)
        except ValueError as exc:
            problems.append(str(exc))
            values[name] = None
    return values, problems


def push(mapping: Mapping, values: dict[str, Any]) -> Preview:
    """What each row sends for a hub record, and whether the sync rule lets it go."""
    preview = Preview("push", rule=mapping.sync_rule)
    for row in mapping.fields:
        source = row.hub or f"expr: {row.expr}"
        value_in = show(values.get(row.hub)) if row.hub else "—"
        if not row.pushes(mapping.direction):
            why = (f"direction {mapping.direction.value}" if not mapping.direction.pushes
                   else f"rule {row.rule.value}")
            preview.rows.append(RowResult(source, row.remote, value_in, None, False,
                                          f"not sent ({why})"))
            continue
        try:
            out = row.to_remote(values)
        except (TransformError, ExpressionError) as exc:
            preview.rows.append(RowResult(source, row.remote, value_in, None, True, str(exc)))
            continue
        note = (f"a hub id: sent as the {row.remote} linked through {', '.join(row.refs)}"
                if row.refs else "")
        preview.rows.append(RowResult(source, row.remote, value_in, show(out), True, note))
    preview.check = check_rule("sync_rule", mapping.sync_rule, values)
    return preview


def pull(mapping: Mapping, schema: HubSchema, remote: dict[str, Any]) -> Preview:
    """What each row writes to the hub for a remote record, and whether the pull rule lets it in."""
    preview = Preview("pull", rule=mapping.pull_rule)
    fields = schema.objects.get(mapping.hub_object, {})
    for row in mapping.fields:
        target = row.hub or f"expr: {row.expr}"
        value_in = show(remote.get(row.remote))
        if not row.pulls(mapping.direction):
            why = (f"direction {mapping.direction.value}" if not mapping.direction.pulls
                   else "a computed row" if row.hub is None else f"rule {row.rule.value}")
            preview.rows.append(RowResult(row.remote, target, value_in, None, False,
                                          f"not written to the hub ({why})"))
            continue
        if row.refs:
            preview.rows.append(RowResult(row.remote, target, value_in, None, True,
                                          f"a remote id: stored as the hub record linked "
                                          f"through {', '.join(row.refs)}"))
            continue
        try:
            value = row.to_hub(remote.get(row.remote))
            hub_field = fields.get(row.hub or "")
            if hub_field is not None:
                value = hub_field.coerce(value)
        except (TransformError, ValueError) as exc:
            preview.rows.append(RowResult(row.remote, target, value_in, None, True, str(exc)))
            continue
        preview.rows.append(RowResult(row.remote, target, value_in, show(value), True))
    preview.check = check_rule("pull_rule", mapping.pull_rule, remote)
    return preview


def parse_remote_sample(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The remote sample textarea: a JSON object of remote field → value."""
    try:
        data = json.loads(text or "{}")
    except ValueError as exc:
        return None, f"the remote record is not valid JSON: {exc}"
    if not isinstance(data, dict):
        return None, 'the remote record must be a JSON object, like {"Email": "ann@example.com"}'
    return data, None
