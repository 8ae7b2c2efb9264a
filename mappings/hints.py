"""Fit a remote's fix hint to the mapping, so a hint never suggests what the validator refuses.

A connector sees one refused value and the picklist; only the mapping knows its value_map and
whether the row pulls, where the loader requires the value_map to be one-to-one.
"""

from __future__ import annotations

from typing import Any

from connectors.errors import ConnectorError, picklist_hint
from core.redaction import redact
from mappings.spec import FieldMap, Mapping


def taken_targets(row: FieldMap, mapping: Mapping, key: Any) -> dict[str, str]:
    """Values other value_map keys of ``row`` already map to, each with that key.

    Only on a row that pulls: there a second key for one value could not be mapped back, and
    the loader refuses it; a row that only pushes may map any number of keys to one value.
    """
    if not row.value_map or not row.pulls(mapping.direction):
        return {}
    return {str(target): other for other, target in row.value_map_pairs() if other != key}


def fit_hint_to_mapping(error: ConnectorError, mapping: Mapping) -> ConnectorError:
    """``error`` with its picklist hint limited to fixes ``mapping`` can take; else unchanged."""
    refusal = error.refusal
    row = _pushing_row(mapping, error.field)
    if refusal is None or row is None or error.field is None:
        return error
    # A refused value that an entry produced is fixed by changing that entry, not adding one.
    mapped_from = next((key for key, target in row.value_map_written().items()
                        if target == refusal.value), None)
    key = mapped_from if mapped_from is not None else refusal.value
    error.hint = redact(picklist_hint(error.field, refusal.value, refusal.allowed,
                                      taken_targets(row, mapping, key), mapped_from=mapped_from))
    return error


def _pushing_row(mapping: Mapping, remote_field: str | None) -> FieldMap | None:
    for row in mapping.fields:
        if row.remote == remote_field and row.pushes(mapping.direction):
            return row
    return None
