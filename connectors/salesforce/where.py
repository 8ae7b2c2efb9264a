"""A pushed-down ``pull_rule`` (mappings.pushdown's neutral filter) as a SOQL condition."""

from __future__ import annotations

from connectors.filters import All, AnyOf, Filter, In
from connectors.salesforce.schema import quote


def soql_condition(where: Filter) -> str:
    """``where`` as SOQL, every AND/OR group in parentheses (SOQL never mixes them bare)."""
    if isinstance(where, All | AnyOf):
        joiner = " AND " if isinstance(where, All) else " OR "
        return joiner.join(_operand(part) for part in where.parts)
    if isinstance(where, In):
        keyword = "NOT IN" if where.negated else "IN"
        return f"{where.field} {keyword} ({', '.join(quote(v) for v in where.values)})"
    return f"{where.field} {where.op} {quote(where.value)}"


def _operand(part: Filter) -> str:
    text = soql_condition(part)
    return f"({text})" if isinstance(part, All | AnyOf) else text


def feed_condition(where: Filter, fields: set[str], object_name: str) -> str:
    """The condition a change-feed query adds: ``where``, or what the engine always needs.

    Deletes (merged records' too, with their master) and converted Leads (the person moves to
    the Contact) are acted on whatever the rule says, so they come back whether or not they
    pass it.
    """
    always = [f"{name} = true" for name in ("IsDeleted",) if name in fields]
    if object_name == "Lead" and "IsConverted" in fields:
        always.append("IsConverted = true")
    if not always:
        return soql_condition(where)
    return " OR ".join([*always, _operand(where)])
