"""OData query options for the Dataverse sandbox: $filter, $orderby, $select, $top, $count."""

from sandboxes.dynamics.odata.evaluate import (
    Filter,
    OrderBy,
    parse_count,
    parse_filter,
    parse_orderby,
    parse_select,
    parse_top,
    property_not_found,
    resolve_property,
)
from sandboxes.dynamics.odata.parser import parse_tree, query_error

__all__ = [
    "Filter",
    "OrderBy",
    "parse_count",
    "parse_filter",
    "parse_orderby",
    "parse_select",
    "parse_top",
    "parse_tree",
    "property_not_found",
    "query_error",
    "resolve_property",
]
