"""Audit entries as sentences a reader follows, instead of the JSON they are stored as.

One function, :func:`describe`, knows every action the code records (``Audit(action=...)``);
an action it does not know still reads as a sentence built from its detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.models import Audit
from mappings.explain import describe as quoted

#: Error actions and the words for what they did to each error.
_ERROR_VERBS = {
    "errors.retry": "Queued {n} for retry at the next cycle",
    "errors.ignore": "Ignored {n}",
    "errors.reopen": "Reopened {n}",
}
#: How a filter's criteria read in a sentence, in this order.
_CRITERIA = (
    ("mapping", "mapping {}"),
    ("direction", "direction {}"),
    ("level", "{}-level"),
    ("kind", "kind {}"),
    ("code", "code {}"),
    ("field", "field {}"),
    ("search", "matching {}"),
    ("since", "last seen from {}"),
    ("until", "last seen before {}"),
)


def describe(audit: Audit) -> str:
    """What an audit entry records, as one sentence (who and when are shown beside it)."""
    detail: Mapping[str, Any] = audit.detail if isinstance(audit.detail, dict) else {}
    action = audit.action or ""
    if action in _ERROR_VERBS:
        return _errors_sentence(action, audit.target, detail)
    if action.startswith("link."):
        return _link_sentence(action, detail)
    if action.startswith("mapping."):
        return _mapping_sentence(action, audit.target, detail)
    if action == "demo.seeded":
        return f"Seeded the demo data (seed {detail.get('seed', '?')})."
    if action == "record.edit":
        return _edit_sentence(detail)
    return _generic_sentence(action, audit.target, detail)


def _count(n: Any, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _errors_sentence(action: str, target: str | None, detail: Mapping[str, Any]) -> str:
    count = detail.get("count", len(detail.get("ids") or ()))
    sentence = _ERROR_VERBS[action].format(n=_count(count, "error"))
    where = detail.get("where") if isinstance(detail.get("where"), dict) else {}
    if "mapping" not in where and target and target != "errors":
        where = {"mapping": target, **where}
    criteria = [template.format(where[key]) for key, template in _CRITERIA if where.get(key)]
    ids = detail.get("ids") or []
    if criteria:
        sentence += " (" + ", ".join(criteria) + ")"
    elif ids:
        shown = ", ".join(f"#{i}" for i in ids[:5])
        sentence += f" ({shown}{', ...' if len(ids) > 5 else ''})"
    return sentence + "."


def _edit_sentence(detail: Mapping[str, Any]) -> str:
    """A hand edit: ``{field: [old, new]}`` as "Changed title from 'CTO' to 'VP'."."""
    changes = [
        f"{name} from {quoted(values[0])} to {quoted(values[1])}"
        for name, values in detail.items()
        if isinstance(values, list) and len(values) == 2
    ]
    if not changes:
        return "Saved the record without a change."
    joined = changes[0] if len(changes) == 1 else ", ".join(changes[:-1]) + " and " + changes[-1]
    return f"Changed {joined}."


def _link_sentence(action: str, detail: Mapping[str, Any]) -> str:
    how = "converted" if ".converted" in action else "merged"
    source, target = detail.get("from", "a record"), detail.get("to", "another record")
    where = f" in {detail['connection']}" if detail.get("connection") else ""
    into = "converted to" if how == "converted" else "merged into"
    if action.endswith(".dropped"):
        owner = detail.get("successor_hub_id")
        if owner:
            return (
                f"{source}{where} was {into} {target}, which is linked to hub record {owner}: "
                f"the link to {source} was dropped and both hub records were kept."
            )
        return (
            f"{source}{where} was {into} {target}, which this record was already linked to: "
            f"the link to {source} was dropped."
        )
    return f"{source}{where} was {into} {target}: the link moved with it."


def _mapping_sentence(action: str, target: str | None, detail: Mapping[str, Any]) -> str:
    what = detail.get("file") or target or "a mapping file"
    revision = detail.get("revision")
    changes = ""
    if "lines_added" in detail or "lines_removed" in detail:
        changes = (f": {_count(detail.get('lines_added', 0), 'line')} added, "
                   f"{detail.get('lines_removed', 0)} removed")
    saved = f" as revision {revision}" if revision is not None else ""
    if action == "mapping.restore":
        restored = detail.get("restored")
        old = f"revision {restored} of " if restored is not None else "an earlier version of "
        return f"Restored {old}{what}{saved}{changes}."
    if action == "mapping.edit":
        return f"Edited {what}{saved}{changes}."
    if action == "mapping.resync":
        fields = detail.get("fields") or []
        which = ", ".join(str(f) for f in fields) if fields else "every field"
        since = f", records changed since {detail['since']}" if detail.get("since") else ""
        return f"Asked for a resync of {what} ({which}{since})."
    return _generic_sentence(action, target, detail)


def _generic_sentence(action: str, target: str | None, detail: Mapping[str, Any]) -> str:
    """Any other action: its name in words, its target, and its detail as ``key: value``."""
    words = action.replace(".", " ").replace("_", " ").strip().capitalize() or "Change"
    sentence = f"{words} on {target}" if target else words
    parts = [f"{key.replace('_', ' ')}: {_plain(value)}" for key, value in detail.items()]
    return sentence + (" (" + "; ".join(parts) + ")" if parts else "") + "."


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return "—" if value is None else str(value)
