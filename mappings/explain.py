"""Why a sync_rule or pull_rule is false for one record: the smallest failing clauses, with values.

For ``email and (score >= 40 or lifecycle_stage in ['MQL', 'SQL'])`` on a person scored 12 at
stage Lead, the answer is "`score >= 40` was false: score is 12" and "`lifecycle_stage in
['MQL', 'SQL']` was false: lifecycle_stage is 'Lead'", not just "the rule is false".

The expression's syntax tree is walked: ``and`` names its false operands, ``or`` all of them
(all are false), ``not`` the operand that was true. Every clause is printed back to source
text from the tree and evaluated on its own by :class:`~mappings.expressions.Expression`, the
same sandbox the engine uses, so an explanation cannot disagree with what a sync decided.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, nodes
from jinja2.parser import Parser

from mappings.expressions import Expression, ExpressionError, blank

#: Only parses (never evaluates): the tree of an expression the sandbox already accepted.
_PARSER_ENV = Environment()

#: Longest value text an explanation quotes; a long note would drown the sentence.
VALUE_WIDTH = 80


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause of a rule and what it came to for a record (``outcome`` None: it failed)."""

    text: str
    outcome: bool | None
    #: The fields the clause reads, in order of appearance, with the record's values.
    values: tuple[tuple[str, Any], ...] = ()
    error: str | None = None
    #: A clause that is just a field name reads best as "email is blank".
    bare_name: bool = False

    @property
    def sentence(self) -> str:
        """The clause as an admin reads it: "`score >= 40` was false: score is 12"."""
        facts = ", ".join(f"{name} is {describe(value)}" for name, value in self.values)
        if self.error is not None:
            said = f"`{self.text}` cannot be evaluated: {self.error}"
            return said + (f" ({facts})" if facts else "")
        if self.bare_name and facts:
            return facts
        said = f"`{self.text}` was {'true' if self.outcome else 'false'}"
        return f"{said}: {facts}" if facts else said

    def as_json(self) -> dict[str, Any]:
        """The clause for ``--json`` output: text, outcome, values and the sentence."""
        return {
            "clause": self.text,
            "outcome": self.outcome,
            "values": {name: _plain(value) for name, value in self.values},
            "error": self.error,
            "sentence": self.sentence,
        }


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """A rule evaluated on one record: passed, failed (and why), or not decidable."""

    rule: str  # sync_rule | pull_rule
    source: str | None
    #: True: the record qualifies; False: it does not (or the rule fails); None: unknown.
    passed: bool | None
    clauses: tuple[Clause, ...] = ()
    error: str | None = None
    #: Fields the rule reads that the values did not include (``passed`` is then None).
    unknown: tuple[str, ...] = field(default=())

    @property
    def sentence(self) -> str:
        """One line: whether the rule lets the record through and, if not, which clauses."""
        if self.source is None:
            return f"no {self.rule}: every record qualifies"
        if self.unknown:
            names = ", ".join(self.unknown)
            return f"the {self.rule} reads {names}, which is not known here: it cannot be checked"
        if self.error is not None:
            return f"the {self.rule} fails: " + "; ".join(
                c.sentence for c in self.clauses
            )
        if self.passed:
            return f"the {self.rule} is true"
        return f"the {self.rule} is false: " + "; ".join(c.sentence for c in self.clauses)

    def as_json(self) -> dict[str, Any]:
        """The check for ``--json`` output."""
        return {
            "rule": self.rule,
            "source": self.source,
            "passed": self.passed,
            "error": self.error,
            "unknown": list(self.unknown),
            "clauses": [c.as_json() for c in self.clauses],
            "sentence": self.sentence,
        }


def check_rule(
    rule: str,
    source: str | None,
    values: Mapping[str, Any],
    *,
    known: Collection[str] | None = None,
) -> RuleCheck:
    """Evaluate ``source`` on ``values`` as the engine does and explain a false result.

    ``known``: the field names whose values are really known (a link snapshot keeps only the
    mapped fields); a rule reading any other field is not guessed at (``passed`` None).
    """
    if source is None:
        return RuleCheck(rule, None, True)
    expression = Expression(source)
    if known is not None:
        unknown = tuple(sorted(name for name in expression.names if name not in known))
        if unknown:
            return RuleCheck(rule, source, None, unknown=unknown)
    try:
        passed = bool(expression(values))
    except ExpressionError as exc:
        tree = _parse(source)
        return RuleCheck(
            rule, source, False, (_failing(tree, _Evaluator(values)),), error=exc.reason
        )
    if passed:
        return RuleCheck(rule, source, True)
    return RuleCheck(rule, source, False, tuple(why(source, values)))


def why(source: str, values: Mapping[str, Any], outcome: bool = False) -> list[Clause]:
    """The smallest clauses of ``source`` that made it come out ``outcome`` for ``values``."""
    return _why(_parse(source), _Evaluator(values), outcome)


def describe(value: Any) -> str:
    """A value as a sentence quotes it: blank, true, 12, 'Lead'."""
    if blank(value):
        return "blank"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= VALUE_WIDTH else value[: VALUE_WIDTH - 1] + "…"
        return repr(text)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _plain(value: Any) -> Any:
    if blank(value):
        return None if not isinstance(value, str) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# -- the walk -------------------------------------------------------------------------------------


def _parse(source: str) -> nodes.Expr:
    return Parser(_PARSER_ENV, source, state="variable").parse_expression()


class _Evaluator:
    """Evaluates sub-trees on one record with the rule's own sandbox (compiled once per text)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self._compiled: dict[str, Expression] = {}

    def expression(self, node: nodes.Expr) -> Expression:
        text = to_source(node)
        if text not in self._compiled:
            self._compiled[text] = Expression(text)
        return self._compiled[text]

    def truth(self, node: nodes.Expr) -> bool | None:
        """The node's truth on the record (None when it cannot be evaluated)."""
        try:
            return bool(self.expression(node)(self.values))
        except ExpressionError:
            return None

    def failure(self, node: nodes.Expr) -> str | None:
        """Why the node cannot be evaluated on the record, or None when it can."""
        try:
            self.expression(node)(self.values)
        except ExpressionError as exc:
            return exc.reason.removeprefix("cannot evaluate: ")
        return None

    def clause(self, node: nodes.Expr, outcome: bool | None, error: str | None = None) -> Clause:
        names = self.expression(node).names
        seen = dict.fromkeys(n.name for n in _names_in(node) if n.name in names)
        return Clause(
            to_source(node),
            outcome,
            tuple((name, self.values.get(name)) for name in seen),
            error=error,
            bare_name=isinstance(node, nodes.Name),
        )


def _names_in(node: nodes.Node) -> Iterator[nodes.Name]:
    if isinstance(node, nodes.Name):
        yield node
    yield from node.find_all(nodes.Name)


def _chain(node: nodes.Expr, kind: type[nodes.BinExpr]) -> list[nodes.Expr]:
    """``a and b and c`` is And(And(a, b), c): its operands in source order."""
    if isinstance(node, kind):
        return [*_chain(node.left, kind), *_chain(node.right, kind)]
    return [node]


def _why(node: nodes.Expr, ev: _Evaluator, outcome: bool) -> list[Clause]:
    if isinstance(node, nodes.And | nodes.Or):
        operands = _chain(node, type(node))
        if isinstance(node, nodes.And) == outcome:
            # A true `and` needs every operand true; a false `or` every operand false.
            deciding = operands
        else:
            # A false `and`: each false operand keeps it false (one that cannot be evaluated
            # was never reached, an earlier operand having decided). A true `or`: each true one.
            deciding = [op for op in operands if ev.truth(op) is outcome]
        return [clause for op in deciding for clause in _why(op, ev, outcome)]
    if isinstance(node, nodes.Not) and isinstance(node.node, nodes.And | nodes.Or | nodes.Not):
        return _why(node.node, ev, not outcome)
    return [ev.clause(node, outcome)]


def _failing(node: nodes.Expr, ev: _Evaluator) -> Clause:
    """The smallest sub-expression that cannot be evaluated on the record."""
    for child in _evaluated_children(node, ev):
        if ev.failure(child) is not None:
            return _failing(child, ev)
    return ev.clause(node, None, ev.failure(node))


def _evaluated_children(node: nodes.Expr, ev: _Evaluator) -> Iterator[nodes.Expr]:
    """Sub-expressions of ``node`` in evaluation order (only the branch an ``if`` takes)."""
    if isinstance(node, nodes.CondExpr):
        yield node.test
        taken = node.expr1 if ev.truth(node.test) else node.expr2
        if taken is not None:
            yield taken
        return
    for child in node.iter_child_nodes():
        # Operands, keywords, pairs and slices are not expressions of their own: their parts are.
        if isinstance(child, nodes.Expr) and not isinstance(child, nodes.Slice):
            yield child
        else:
            yield from _evaluated_children(child, ev)  # type: ignore[arg-type]


# -- printing a tree back to source ---------------------------------------------------------------

_BINARY = {
    nodes.Add: ("+", 6),
    nodes.Sub: ("-", 6),
    nodes.Mul: ("*", 8),
    nodes.Div: ("/", 8),
    nodes.FloorDiv: ("//", 8),
    nodes.Mod: ("%", 8),
    nodes.Pow: ("**", 9),
    nodes.And: ("and", 3),
    nodes.Or: ("or", 2),
}
_COMPARE = {
    "eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=",
    "in": "in", "notin": "not in",
}  # fmt: skip
#: Binding strength, loosest first, as Jinja's parser builds the tree: if-else, or, and, not,
#: comparisons, + -, ~, * / // %, **, unary - + (filters and tests bind as tightly), then
#: attribute access, subscripts and calls, then atoms.
_PRECEDENCE_CONDITIONAL = 1
_PRECEDENCE_NOT = 4
_PRECEDENCE_COMPARE = 5
_PRECEDENCE_CONCAT = 7
_PRECEDENCE_UNARY = 10
_PRECEDENCE_POSTFIX = 11
_PRECEDENCE_ATOM = 12


def to_source(node: nodes.Node) -> str:
    """Print an expression tree as Jinja source (parenthesised only where needed)."""
    return _print(node)


def _precedence(node: nodes.Node) -> int:
    if isinstance(node, nodes.CondExpr):
        return _PRECEDENCE_CONDITIONAL
    if type(node) in _BINARY:
        return _BINARY[type(node)][1]
    if isinstance(node, nodes.Not):
        return _PRECEDENCE_NOT
    if isinstance(node, nodes.Compare):
        return _PRECEDENCE_COMPARE
    if isinstance(node, nodes.Concat):
        return _PRECEDENCE_CONCAT
    if isinstance(node, nodes.Neg | nodes.Pos | nodes.Filter | nodes.Test):
        return _PRECEDENCE_UNARY
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Call):
        return _PRECEDENCE_POSTFIX
    return _PRECEDENCE_ATOM


def _at_least(node: nodes.Node, level: int) -> str:
    text = _print(node)
    return text if _precedence(node) >= level else f"({text})"


def _print(node: nodes.Node) -> str:  # noqa: C901 - one branch per node type, flat
    kind = type(node)
    if kind in _BINARY:
        symbol, level = _BINARY[kind]
        left = _at_least(node.left, level)  # type: ignore[attr-defined]
        right = _at_least(node.right, level + 1)  # type: ignore[attr-defined]
        return f"{left} {symbol} {right}"
    if isinstance(node, nodes.Not):
        if isinstance(node.node, nodes.Test):  # `x is not none` parses as Not(Test)
            return _test(node.node, negated=True)
        # `not score > 10` means the same, but people read it as `(not score) > 10`.
        return f"not {_at_least(node.node, _PRECEDENCE_UNARY)}"
    if isinstance(node, nodes.Compare):
        parts = [_at_least(node.expr, _PRECEDENCE_COMPARE + 1)]
        for operand in node.ops:
            parts += [_COMPARE[operand.op], _at_least(operand.expr, _PRECEDENCE_COMPARE + 1)]
        return " ".join(parts)
    if isinstance(node, nodes.Concat):
        return " ~ ".join(_at_least(n, _PRECEDENCE_CONCAT + 1) for n in node.nodes)
    if isinstance(node, nodes.CondExpr):
        text = (
            f"{_at_least(node.expr1, _PRECEDENCE_CONDITIONAL + 1)} if "
            f"{_at_least(node.test, _PRECEDENCE_CONDITIONAL + 1)}"
        )
        if node.expr2 is not None:
            text += f" else {_at_least(node.expr2, _PRECEDENCE_CONDITIONAL)}"
        return text
    if isinstance(node, nodes.Neg | nodes.Pos):
        sign = "-" if isinstance(node, nodes.Neg) else "+"
        return sign + _at_least(node.node, _PRECEDENCE_POSTFIX)
    if isinstance(node, nodes.Filter):
        assert node.node is not None  # only {% filter %} blocks have none
        return f"{_at_least(node.node, _PRECEDENCE_UNARY)}|{node.name}{_arguments(node, True)}"
    if isinstance(node, nodes.Test):
        return _test(node, negated=False)
    if isinstance(node, nodes.Call):
        return f"{_at_least(node.node, _PRECEDENCE_POSTFIX)}{_arguments(node, False)}"
    if isinstance(node, nodes.Getattr):
        return f"{_at_least(node.node, _PRECEDENCE_POSTFIX)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_at_least(node.node, _PRECEDENCE_POSTFIX)}[{_print(node.arg)}]"
    if isinstance(node, nodes.Slice):
        parts = [_print(p) if p is not None else "" for p in (node.start, node.stop)]
        text = ":".join(parts)
        return text + (f":{_print(node.step)}" if node.step is not None else "")
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Const):
        return _constant(node.value)
    if isinstance(node, nodes.List):
        return "[" + ", ".join(_print(item) for item in node.items) + "]"
    if isinstance(node, nodes.Tuple):
        items = [_print(item) for item in node.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(node, nodes.Dict):
        return "{" + ", ".join(f"{_print(p.key)}: {_print(p.value)}" for p in node.items) + "}"
    raise ValueError(f"cannot print a {kind.__name__} node")


def _test(node: nodes.Test, *, negated: bool) -> str:
    subject = _at_least(node.node, _PRECEDENCE_UNARY)
    return f"{subject} is {'not ' if negated else ''}{node.name}{_arguments(node, True)}"


def _arguments(node: nodes.Filter | nodes.Test | nodes.Call, optional: bool) -> str:
    """``(a, b, key=c)``; a filter or test without arguments prints none at all."""
    args = [_print(a) for a in node.args]
    args += [f"{k.key}={_print(k.value)}" for k in node.kwargs]
    if node.dyn_args is not None:
        args.append(f"*{_print(node.dyn_args)}")
    if node.dyn_kwargs is not None:
        args.append(f"**{_print(node.dyn_kwargs)}")
    if optional and not args:
        return ""
    return "(" + ", ".join(args) + ")"


def _constant(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        # Only a literal too large for a float gets here; it reads back as the same infinity.
        return "1e999" if value > 0 else "-1e999"
    return repr(value)
