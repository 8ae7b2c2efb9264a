"""Running a parsed `Query` over a `QuerySource`: filter, order, page and shape API JSON rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandboxes.salesforce.soql.fields import QuerySource, ResolvedField, Schema
from sandboxes.salesforce.soql.predicates import compile_condition
from sandboxes.salesforce.soql.query import FieldRef, FieldsFunction, OrderItem, Query
from sandboxes.salesforce.soql.values import comparison_key, family_of

# FIELDS(ALL) and FIELDS(CUSTOM) are bounded by Salesforce so one call cannot fetch everything.
FIELDS_FUNCTION_MAX_LIMIT = 200


@dataclass
class QueryResult:
    """The rows of a query as the REST API returns them, and the total count.

    `columns` lists the selected fields as canonical dotted paths (`Owner.Email`), FIELDS()
    expanded, in SELECT order: the header of a Bulk API query CSV.
    """

    records: list[dict] = field(default_factory=list)
    total_size: int = 0
    columns: list[str] = field(default_factory=list)


def execute(
    query: Query,
    source: QuerySource,
    include_deleted: bool = False,
    version: str = "59.0",
    now: datetime | None = None,
) -> QueryResult:
    """Evaluate `query` against `source`.

    `include_deleted` is queryAll; `version` goes into each record's `attributes.url`; `now`
    anchors date literals such as TODAY (defaults to the current UTC time).
    """
    schema = Schema(source, query)
    sobject = schema.root["name"]
    selected = [] if query.count_only else _select_fields(query, schema)
    predicate = (
        compile_condition(query.where, query, schema, now or datetime.now(UTC))
        if query.where is not None
        else None
    )
    order = [(schema.resolve(item.field), item) for item in query.order_by]

    rows = source.rows(sobject, include_deleted)
    matched = [row for row in rows if predicate(row)] if predicate else list(rows)
    if order and not query.count_only:
        matched = _ordered(matched, order)
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    page = matched[start:end]
    if query.count_only:
        return QueryResult([], len(page))
    project = _projector(selected, schema, version)
    columns = [".".join(resolved.output_path) for resolved in selected]
    return QueryResult([project(row, sobject) for row in page], len(page), columns)


def _select_fields(query: Query, schema: Schema) -> list[ResolvedField]:
    """The SELECT list resolved, FIELDS() expanded, duplicates dropped (first one wins)."""
    resolved: list[ResolvedField] = []
    seen: set[tuple[str, ...]] = set()
    for item in query.fields:
        if isinstance(item, FieldsFunction):
            refs = _expand_fields_function(item, query, schema)
        else:
            refs = [item]
        for ref in refs:
            field = schema.resolve(ref)
            key = tuple(part.lower() for part in field.output_path)
            if key not in seen:
                seen.add(key)
                resolved.append(field)
    return resolved


def _expand_fields_function(item: FieldsFunction, query: Query, schema: Schema) -> list[FieldRef]:
    if item.kind != "STANDARD" and (query.limit is None or query.limit > FIELDS_FUNCTION_MAX_LIMIT):
        raise query.error_at(
            "MALFORMED_QUERY",
            item.position,
            f"The SOQL FIELDS function must have a LIMIT of at most {FIELDS_FUNCTION_MAX_LIMIT}",
        )
    refs = []
    for entry in schema.root["fields"]:
        is_custom = bool(entry.get("custom")) or entry["name"].endswith("__c")
        if item.kind == "ALL" or (item.kind == "CUSTOM") == is_custom:
            refs.append(FieldRef((entry["name"],), item.position))
    return refs


def _ordered(rows: list[dict], order: list[tuple[ResolvedField, OrderItem]]) -> list[dict]:
    """Rows sorted by every ORDER BY key; stable, nulls placed per key.

    One stable pass per key, least significant first: each pass keeps the order the previous
    passes established among ties, which is exactly multi-key ordering.
    """
    for resolved, item in reversed(order):
        get = resolved.get
        key = comparison_key(family_of(resolved.field_type))
        nulls: list[dict] = []
        present: list[tuple[Any, dict]] = []
        for row in rows:
            value = get(row)
            if value is None:
                nulls.append(row)
            else:
                present.append((key(value), row))
        # sorted() with reverse=True is still stable, so equal keys keep their earlier order.
        present.sort(key=lambda pair: pair[0], reverse=item.descending)
        ordered = [row for _, row in present]
        rows = ordered + nulls if item.nulls_last else nulls + ordered
    return rows


Projector = Callable[[dict, str], dict]


def _projector(selected: list[ResolvedField], schema: Schema, version: str) -> Projector:
    """A function shaping one stored row into the API's record JSON for the SELECT list.

    Relationship fields nest under the relationship name with their own `attributes`, in the
    order the SELECT list first mentions them; an empty reference gives `null`.
    """
    tree = _field_tree([(field.output_path, field) for field in selected])
    return _tree_projector(tree, schema, version)


def _field_tree(paths: list[tuple[tuple[str, ...], ResolvedField]]) -> list[tuple[str, Any]]:
    """Group field paths by their first hop: [(name, None) | (relationship, (hop, subtree))]."""
    tree: list[tuple[str, Any]] = []
    children: dict[str, list] = {}
    for path, resolved in paths:
        depth = len(resolved.hops) - (len(path) - 1)
        if len(path) == 1:
            tree.append((path[0], None))
            continue
        hop = resolved.hops[depth]
        if path[0] not in children:
            children[path[0]] = []
            tree.append((path[0], (hop, children[path[0]])))
        children[path[0]].append((path[1:], resolved))
    return [
        (name, None if node is None else (node[0], _field_tree(node[1]))) for name, node in tree
    ]


def _tree_projector(tree: list[tuple[str, Any]], schema: Schema, version: str) -> Projector:
    prefix = f"/services/data/v{version}/sobjects/"
    plain = [name for name, node in tree if node is None]
    nested = [
        (name, node[0].reference_field, _tree_projector(node[1], schema, version))
        for name, node in tree
        if node is not None
    ]
    order = [name for name, _ in tree]
    lookup = schema.lookup

    def project(row: dict, sobject: str) -> dict:
        record: dict[str, Any] = {
            "attributes": {"type": sobject, "url": f"{prefix}{sobject}/{row.get('Id')}"}
        }
        if not nested:
            for name in plain:
                record[name] = row.get(name)
            return record
        values = {name: row.get(name) for name in plain}
        for name, reference_field, sub_project in nested:
            record_id = row.get(reference_field)
            found = lookup(record_id) if record_id else None
            values[name] = None if found is None else sub_project(found[1], found[0])
        for name in order:
            record[name] = values[name]
        return record

    return project
