"""RowIndexes: lookups over live Dataverse rows (alternate keys, duplicates, references, lists)."""

from __future__ import annotations

from sandboxes.dynamics.metadata import EntityMeta


def index_key(values: tuple) -> tuple | None:
    """Key values as indexed: text case-insensitive and trimmed; None when any is blank."""
    normalized = []
    for value in values:
        if value is None or value == "":
            return None  # Dataverse key indexes skip rows with null key values
        normalized.append(value.strip().lower() if isinstance(value, str) else value)
    return tuple(normalized)


class RowIndexes:
    """Indexes kept in step with every row write, so keyed reads and checks stay O(1)."""

    def __init__(self) -> None:
        # (entity, key name) → key values → guid: upserts by alternate key.
        self.keys: dict[tuple[str, str], dict[tuple, str]] = {}
        # entity → duplicate-rule values → guids: duplicate detection on emailaddress1.
        self.duplicates: dict[str, dict[tuple, set[str]]] = {}
        # target guid → {(entity, guid, lookup attribute)} pointing at it: delete cascades.
        self.referrers: dict[str, set[tuple[str, str, str]]] = {}
        # (list id, member id) → listmember id, and members per list.
        self.memberships: dict[tuple[str, str], str] = {}
        self.list_sizes: dict[str, int] = {}

    def clear(self) -> None:
        """Forget every entry (the environment was reset)."""
        for index in (self.keys, self.duplicates, self.referrers, self.memberships):
            index.clear()
        self.list_sizes.clear()

    def key_holder(self, meta: EntityMeta, key_name: str, values: tuple) -> str | None:
        """The guid holding alternate key `key_name` = `values`, None when free or blank."""
        normalized = index_key(values)
        if normalized is None:
            return None
        return self.keys.get((meta.logical_name, key_name), {}).get(normalized)

    def duplicates_of(self, meta: EntityMeta, row: dict) -> set[str]:
        """Guids of rows matching `row` on the entity's duplicate rule (row itself included)."""
        rule_key = index_key(tuple(row.get(column) for column in meta.duplicate_rule))
        if rule_key is None:
            return set()
        return set(self.duplicates.get(meta.logical_name, {}).get(rule_key, ()))

    def update(self, meta: EntityMeta, row: dict, *, add: bool) -> None:
        """Add `row` to (or remove it from) every index."""
        entity, guid = meta.logical_name, row["_guid"]
        for name, columns in meta.alternate_keys.items():
            normalized = index_key(tuple(row.get(column) for column in columns))
            if normalized is None:
                continue
            index = self.keys.setdefault((entity, name), {})
            if add:
                index[normalized] = guid
            elif index.get(normalized) == guid:
                del index[normalized]
        if meta.duplicate_rule:
            rule_key = index_key(tuple(row.get(column) for column in meta.duplicate_rule))
            if rule_key is not None:
                bucket = self.duplicates.setdefault(entity, {}).setdefault(rule_key, set())
                if add:
                    bucket.add(guid)
                else:
                    bucket.discard(guid)
        for attribute in meta.attributes.values():
            if not attribute.is_lookup or attribute.logical_name == "ownerid":
                continue
            target = row.get(attribute.value_name)
            if target is None:
                continue
            entry = (entity, guid, attribute.logical_name)
            if add:
                self.referrers.setdefault(target, set()).add(entry)
            else:
                self.referrers.get(target, set()).discard(entry)
        if entity == "listmember":
            self._update_membership(row, guid, add=add)

    def _update_membership(self, row: dict, guid: str, *, add: bool) -> None:
        membership = (row.get("_listid_value"), row.get("_entityid_value"))
        list_id = membership[0]
        if add:
            self.memberships[membership] = guid
            self.list_sizes[list_id] = self.list_sizes.get(list_id, 0) + 1
        elif self.memberships.get(membership) == guid:
            del self.memberships[membership]
            self.list_sizes[list_id] -= 1
