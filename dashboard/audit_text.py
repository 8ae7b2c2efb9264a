"""Audit entries as sentences: "ann@example.com changed title from 'CTO' to 'VP' on ...".

The one place that turns an ``Audit`` row into words: every page that lists audit entries
calls :func:`describe`, and an action added elsewhere gets its sentence here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.models import Audit
from dashboard.blueprint import format_when
from mappings.explain import describe as quoted


def describe(audit: Audit) -> str:
    """The entry as one sentence: who did what, to what, when."""
    detail = audit.detail if isinstance(audit.detail, dict) else {}
    words = _SENTENCES.get(audit.action)
    if words is None:
        prefix = next((p for p in _FAMILIES if audit.action.startswith(p)), None)
        words = _FAMILIES[prefix] if prefix is not None else _generic
    return f"{audit.actor} {words(audit, detail)} on {format_when(audit.at)}"


def _record_edit(audit: Audit, detail: dict[str, Any]) -> str:
    changes = [
        f"{name} from {quoted(values[0])} to {quoted(values[1])}"
        for name, values in detail.items()
        if isinstance(values, list) and len(values) == 2
    ]
    return "changed " + _joined(changes) if changes else "saved the record without a change"


def _errors(verb: str) -> Callable[[Audit, dict[str, Any]], str]:
    def sentence(audit: Audit, detail: dict[str, Any]) -> str:
        count = detail.get("count", len(detail.get("ids", [])))
        noun = "error" if count == 1 else "errors"
        scope = f" of {audit.target}" if audit.target and audit.target != "errors" else ""
        where = f" ({detail['where']})" if detail.get("where") else ""
        return f"{verb} {count} {noun}{scope}{where}"

    return sentence


def _link(audit: Audit, detail: dict[str, Any]) -> str:
    how = "converted" if ".converted" in audit.action else "merged"
    source, target = detail.get("from", "?"), detail.get("to", "?")
    connection = detail.get("connection", "the remote")
    if audit.action.endswith(".dropped"):
        owner = detail.get("successor_hub_id")
        taken = f"hub record {owner}" if owner else "this record already"
        return (
            f"dropped the link to {source} in {connection}: it was {how} into {target}, "
            f"which belongs to {taken}"
        )
    return f"moved the link from {source} to {target} in {connection} ({how})"


def _mapping(audit: Audit, detail: dict[str, Any]) -> str:
    file = detail.get("file", audit.target)
    if audit.action == "mapping.restore":
        return f"restored mapping {audit.target} ({file}) to revision {detail.get('restored')}"
    added, removed = detail.get("lines_added", 0), detail.get("lines_removed", 0)
    return f"edited mapping {audit.target} ({file}: +{added} −{removed} lines)"


def _demo(audit: Audit, detail: dict[str, Any]) -> str:
    return f"seeded the demo data (seed {detail.get('seed')})"


def _generic(audit: Audit, detail: dict[str, Any]) -> str:
    target = f" on {audit.target}" if audit.target else ""
    return f"did {audit.action}{target}"


def _joined(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


_SENTENCES: dict[str, Callable[[Audit, dict[str, Any]], str]] = {
    "record.edit": _record_edit,
    "errors.retry": _errors("retried"),
    "errors.ignore": _errors("ignored"),
    "errors.reopen": _errors("reopened"),
    "demo.seeded": _demo,
}
#: Actions named by prefix: link.converted(.dropped), link.merged(.dropped), mapping.edit...
_FAMILIES: dict[str, Callable[[Audit, dict[str, Any]], str]] = {
    "link.": _link,
    "mapping.": _mapping,
}
