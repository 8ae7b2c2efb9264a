"""A field row's fingerprint: what its values look like on the other side, as one hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mappings.spec import FieldMap, Mapping


def row_definition(row: FieldMap, mapping: Mapping) -> dict[str, Any]:
    """The parts of a row that decide the values it moves, normalised (order, spelling).

    The flows are part of it: a mapping whose direction changes starts moving values it never
    moved before, exactly like a row whose rule changes.
    """
    return {
        "hub": row.hub,
        "remote": row.remote,
        "expr": row.expr,
        "transform": row.transform,
        "value_map": row.value_map,
        "default": row.default,
        "rule": str(row.rule),
        "ref": list(row.refs),
        "pushes": row.pushes(mapping.direction),
        "pulls": row.pulls(mapping.direction),
    }


def fingerprint(row: FieldMap, mapping: Mapping) -> str:
    """A stable hash of the row's definition (the same text in any process, on any machine)."""
    text = json.dumps(row_definition(row, mapping), sort_keys=True, default=str,
                      ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def field_fingerprints(mapping: Mapping) -> dict[str, str]:
    """Remote field → fingerprint of its row, in the mapping's row order."""
    return {row.remote: fingerprint(row, mapping) for row in mapping.fields}
