"""Remote records named by a field value (``lookup:`` rows): value → remote id, per cycle.

A Campaign Influence model is named in the hub (``w_shaped``) but written as the id Salesforce
gave it in this org. A lookup row resolves the name with one query per page for the values not
seen yet this cycle; names are compared case-insensitively, as SOQL and OData compare them.
"""

from __future__ import annotations

from collections.abc import Iterable

from connectors.base import Connector


class RemoteLookups:
    """Resolves ``Object.Field`` values to remote ids through the connector, remembering hits."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self._found: dict[tuple[str, str], dict[str, str]] = {}

    def resolve(self, obj: str, field: str, values: Iterable[str]) -> dict[str, str]:
        """Each value that names a record → that record's id (unknown values are left out)."""
        known = self._found.setdefault((obj, field), {})
        wanted = {str(v) for v in values if v not in (None, "")}
        missing = sorted(v for v in wanted if v.casefold() not in known)
        if missing:
            for change in self.connector.lookup(obj, field, missing, fields=[field]):
                name = change.fields.get(field)
                if name is not None:
                    known[str(name).casefold()] = change.key
        return {v: known[v.casefold()] for v in wanted if v.casefold() in known}
