"""The part of a ``pull_rule`` a remote can evaluate itself: a neutral filter for its query.

A rule such as ``LeadSource != 'Partner Referral' and domain(Email) != 'rival.com'`` is read
as its syntax tree; the clauses that map cleanly onto a query language (comparisons of a remote
field with a literal, ``in``/``not in`` lists, ``is none``, ``and``/``or``/``not``) become a
neutral :data:`~connectors.filters.Filter` that a connector renders in its query language
(Salesforce: SOQL ``WHERE``) or evaluates (the memory connector). The rest stays here: the
whole rule is still evaluated on every record that comes back, so the pushed filter only has
to be *at least as permissive* as the rule. It must never drop a record the rule
keeps, which decides every translation below:

- Remote text comparisons ignore case (SOQL and OData both do), the rule's do not. ``=`` and
  ``in`` ignoring case keep more records than the rule: safe. ``!=`` and ``not in`` ignoring
  case keep fewer (``'partner referral' != 'Partner Referral'`` is true here), so they are
  pushed only on a restricted picklist whose every value differs from the others ignoring
  case, and only for literals that are exactly one of its values.
- Null: the rule keeps a missing value for ``!=`` and ``not in`` and drops it for orderings.
  Remotes disagree on ``!=`` with null, so the filter says it explicitly (``OR F = null``):
  the filter's own comparisons never hold for null (SQL's reading), whatever the remote.
- Ordering (``<``, ``>=`` ...) is pushed on numbers only: text collates differently there, and
  dates arrive as strings that compare as text here.
- ``and`` pushes the operands it can (leaving one out only widens the filter); ``or`` pushes
  only when every operand can be; ``not`` flips the polarity: under it, a clause is pushed only
  when its negation can be said as permissively.
- A bare field (``Email``) is pushed as ``Email != null`` (truthy implies non-null) and
  ``blank(Email)`` only under ``not``; booleans compare with ``= true`` / ``= false``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes
from jinja2.parser import Parser

from connectors.base import FieldInfo
from connectors.filters import Compare, Filter, In, Value, all_of, any_of
from mappings.explain import to_source

#: Field types compared as text, numbers or booleans; other types are never pushed. Long text
#: areas (``text``) cannot be filtered on in SOQL, and an id literal that is not a valid id fails
#: the whole query there, so neither is pushed.
TEXT_TYPES = frozenset({"string", "email", "phone", "url", "picklist"})
NUMBER_TYPES = frozenset({"integer", "number"})
BOOLEAN_TYPES = frozenset({"boolean"})

#: Only parses (never evaluates): the tree of an expression the loader already accepted.
_PARSER_ENV = Environment()

_FLIPPED = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_OPERATORS = {"eq": "=", "ne": "!=", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}


@dataclass(frozen=True, slots=True)
class Pushdown:
    """A pull_rule split: the filter sent to the remote, and the clauses only checked here."""

    rule: str
    pushed: Filter | None
    #: Top-level clauses (``and`` operands) the filter leaves out or says only approximately.
    kept: tuple[str, ...]


def split(rule: str | None, fields: Mapping[str, FieldInfo]) -> Pushdown | None:
    """The filter a remote with these ``fields`` (describe) can evaluate for ``rule``.

    None without a rule. The filter may keep more records than the rule, never fewer.
    """
    if rule is None or not rule.strip():
        return None
    try:
        tree = Parser(_PARSER_ENV, rule, state="variable").parse_expression()
    except TemplateSyntaxError:
        return Pushdown(rule, None, (rule,))
    translator = _Translator(fields)
    pushed: list[Filter] = []
    kept: list[str] = []
    for clause in _conjuncts(tree):
        found = translator.clause(clause, negated=False)
        if found is None:
            kept.append(to_source(clause))
            continue
        pushed.append(found[0])
        if not found[1]:
            kept.append(to_source(clause))
    return Pushdown(rule, all_of(*pushed) if pushed else None, tuple(kept))


def _conjuncts(node: nodes.Expr) -> list[nodes.Expr]:
    if isinstance(node, nodes.And):
        return [*_conjuncts(node.left), *_conjuncts(node.right)]
    return [node]


def _disjuncts(node: nodes.Expr) -> list[nodes.Expr]:
    if isinstance(node, nodes.Or):
        return [*_disjuncts(node.left), *_disjuncts(node.right)]
    return [node]


#: A translation: the filter and whether it is exact (False: it keeps more than the clause).
Found = tuple[Filter, bool]


class _Translator:
    """Walks a rule's tree against the remote's fields; None where a clause cannot be pushed."""

    def __init__(self, fields: Mapping[str, FieldInfo]) -> None:
        self.fields = fields

    def clause(self, node: nodes.Expr, *, negated: bool) -> Found | None:  # noqa: C901 - flat
        """A filter keeping every record for which ``node`` (``not node`` if negated) is true."""
        if isinstance(node, nodes.Not):
            return self.clause(node.node, negated=not negated)
        if isinstance(node, nodes.And | nodes.Or):
            # not (a and b) = not a or not b: an ``and`` under ``not`` is an ``or``.
            is_and = isinstance(node, nodes.And) != negated
            parts = _conjuncts(node) if isinstance(node, nodes.And) else _disjuncts(node)
            found = [self.clause(part, negated=negated) for part in parts]
            if is_and:
                kept = [f for f in found if f is not None]
                if not kept:
                    return None
                exact = len(kept) == len(found) and all(e for _, e in kept)
                return all_of(*[f for f, _ in kept]), exact
            every = [f for f in found if f is not None]
            if len(every) < len(found):
                return None
            return any_of(*(f for f, _ in every)), all(e for _, e in every)
        if isinstance(node, nodes.Compare) and len(node.ops) == 1:
            return self._compare(node.expr, node.ops[0].op, node.ops[0].expr, negated)
        if isinstance(node, nodes.Test) and node.name == "none" and not node.args:
            name = self._field(node.node)
            return (Compare(name, "!=" if negated else "=", None), True) if name else None
        if isinstance(node, nodes.Call) and _is_blank_call(node):
            return self._blank(node.args[0], negated)
        if isinstance(node, nodes.Name):
            return self._truthy(node, negated)
        return None

    def _field(self, node: nodes.Node) -> str | None:
        if isinstance(node, nodes.Name) and node.name in self.fields:
            return node.name
        return None

    def _kind(self, name: str) -> str | None:
        kind = self.fields[name].type
        if kind in TEXT_TYPES:
            return "text"
        if kind in NUMBER_TYPES:
            return "number"
        if kind in BOOLEAN_TYPES:
            return "boolean"
        return None

    def _compare(self, left: nodes.Expr, op: str, right: nodes.Expr, negated: bool) -> Found | None:
        if op in ("in", "notin"):
            return self._membership(left, right, negated != (op == "notin"))
        if op not in _OPERATORS:
            return None
        sign = _OPERATORS[op]
        name = self._field(left)
        literal = right
        if name is None:
            name, literal, sign = self._field(right), left, _MIRRORED[sign]
        if name is None or not isinstance(literal, nodes.Const):
            return None
        value = literal.value
        if negated:
            sign = _FLIPPED[sign]
        if value is None:
            # ``== none`` is the none test; an ordering against none never holds here.
            if sign in ("=", "!="):
                return Compare(name, sign, None), True
            return None
        if not self._literal_fits(name, value):
            return None
        if sign == "=":
            return Compare(name, "=", value), self._kind(name) != "text"
        if sign == "!=":
            if not self._exact_text(name, (value,)):
                return None
            # The rule keeps a missing value here; say so, whatever the remote makes of null.
            return any_of(Compare(name, "!=", value), Compare(name, "=", None)), True
        if self._kind(name) != "number":
            return None
        if negated:
            # not (F < 5) also holds for a missing F (an ordering with none is false here).
            return any_of(Compare(name, sign, value), Compare(name, "=", None)), True
        return Compare(name, sign, value), True

    def _membership(self, left: nodes.Expr, right: nodes.Expr, excluded: bool) -> Found | None:
        name = self._field(left)
        if name is None or not isinstance(right, nodes.List | nodes.Tuple):
            return None
        if self._kind(name) == "boolean":
            return None  # SOQL has no IN on checkboxes
        items = right.items
        if not items or not all(isinstance(i, nodes.Const) for i in items):
            return None
        values = tuple(dict.fromkeys(i.value for i in items if isinstance(i, nodes.Const)))
        real = tuple(v for v in values if v is not None)
        if not all(self._literal_fits(name, v) for v in real):
            return None
        if not excluded:
            parts: list[Filter] = [In(name, real)] if real else []
            if None in values:
                parts.append(Compare(name, "=", None))
            return any_of(*parts), self._kind(name) != "text"
        if not self._exact_text(name, real):
            return None
        if not real:
            return Compare(name, "!=", None), True
        if None in values:
            return In(name, real, negated=True), True
        return any_of(In(name, real, negated=True), Compare(name, "=", None)), True

    def _blank(self, arg: nodes.Expr, negated: bool) -> Found | None:
        name = self._field(arg)
        if name is None:
            return None
        if negated:
            # Not blank implies not null; whitespace-only text is blank too: approximate.
            return Compare(name, "!=", None), self._kind(name) != "text"
        if self._kind(name) in ("number", "boolean"):
            return Compare(name, "=", None), True
        return None  # ``= null`` would drop whitespace-only text, which is blank here

    def _truthy(self, node: nodes.Name, negated: bool) -> Found | None:
        name = self._field(node)
        if name is None:
            return None
        kind = self._kind(name)
        if kind == "boolean":
            if negated:
                return any_of(Compare(name, "=", False), Compare(name, "=", None)), True
            return Compare(name, "=", True), True
        if negated or kind is None:
            return None  # falsy text or numbers ('' or 0) are not null: cannot be said
        return Compare(name, "!=", None), False

    def _literal_fits(self, name: str, value: Any) -> bool:
        kind = self._kind(name)
        if kind == "boolean":
            return isinstance(value, bool)
        if kind == "number":
            # No exponent forms (1e-05): query languages spell those differently, if at all.
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            return isinstance(value, int) or (math.isfinite(value) and "e" not in repr(value))
        return kind == "text" and isinstance(value, str)

    def _exact_text(self, name: str, values: Sequence[Value]) -> bool:
        """Is "differs from these" the same ignoring case as with it? (``!=``, ``not in``)."""
        info = self.fields[name]
        if self._kind(name) != "text":
            return True
        if not info.restricted_picklist or not info.picklist_values:
            return False
        folded = {v.casefold() for v in info.picklist_values}
        distinct = len(folded) == len(set(info.picklist_values))
        return distinct and all(v in info.picklist_values for v in values)


def _is_blank_call(node: nodes.Call) -> bool:
    return (
        isinstance(node.node, nodes.Name)
        and node.node.name == "blank"
        and len(node.args) == 1
        and not node.kwargs
        and node.dyn_args is None
        and node.dyn_kwargs is None
    )
