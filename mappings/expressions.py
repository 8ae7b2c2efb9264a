"""Sandboxed expressions for sync_rule, pull_rule and computed fields (Jinja2 syntax, never eval).

Missing values are *None-like*: an unknown name or a field holding ``None`` is falsy, equals
``none``, prints as ``""``, propagates through arithmetic and attribute access, and makes every
ordering comparison (``<``, ``<=``, ``>``, ``>=``) False. So ``score >= 50`` on a person without
a score is simply False, and ``email and (score >= 50 or stage == 'MQL')`` still works for them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.parser import Parser
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core import values

#: Longest string or list a ``*`` may build, and the largest exponent ``**`` may use: an
#: admin-written expression must not be able to exhaust memory or CPU.
MAX_REPEAT = 10_000
MAX_EXPONENT = 100

#: Filters mapping expressions may use; the rest (center, indent, wordwrap, format, tojson...)
#: either build large strings on request or have no place in a sync rule.
ALLOWED_FILTERS = frozenset({
    "abs", "capitalize", "count", "d", "default", "first", "float", "int", "join", "last",
    "length", "list", "lower", "max", "min", "replace", "round", "string", "sum", "title",
    "trim", "truncate", "unique", "upper",
})  # fmt: skip

#: A %-format with a ``*`` or a five-digit width could build an arbitrarily long string.
_WIDE_FORMAT = re.compile(r"%[-#0 +]*(\*|\d{5,})")


class ExpressionError(ValueError):
    """An expression that does not parse, tries something unsafe, or fails on a value.

    A ValueError, so callers that already treat bad values as record-level failures catch it.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{reason} in {source!r}")
        self.source = source
        self.reason = reason


class NoneLike(Undefined):
    """Stands for a missing or ``None`` value: falsy, and never raises on use."""

    __slots__ = ()

    def _self(self, *args: Any, **kwargs: Any) -> NoneLike:
        return self

    def _false(self, other: Any) -> bool:
        return False

    __add__ = __radd__ = __sub__ = __rsub__ = _self
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _self
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _self
    __pow__ = __rpow__ = __pos__ = __neg__ = _self
    __call__ = __getitem__ = _self
    __lt__ = __le__ = __gt__ = __ge__ = _false

    def __int__(self) -> int:
        # As int(None) does: filters such as ``| int`` then fall back to their default.
        raise TypeError("no value")

    __float__ = __complex__ = __int__

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        return self

    def __eq__(self, other: Any) -> bool:
        return other is None or isinstance(other, Undefined)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(None)

    def __repr__(self) -> str:
        return "none"


_NONE = NoneLike()


def blank(value: Any) -> bool:
    """Return True for None, missing values and strings that are empty or whitespace."""
    return isinstance(value, Undefined) or values.blank(value)


def domain(email: Any) -> str | None:
    """Return the part of an email after the last ``@``, lowercased (None if there is none)."""
    if blank(email) or "@" not in str(email):
        return None
    return str(email).rsplit("@", 1)[1].strip().lower() or None


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, with loud unsafe access, bounded ``*``/``**`` and None-like missing values."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=NoneLike)
        # Only what mapping expressions need: no range(), lipsum(), cycler() and friends.
        self.globals.clear()
        self.globals.update(blank=blank, domain=domain)
        for name in set(self.filters) - ALLOWED_FILTERS:
            del self.filters[name]
        self.tests["none"] = lambda value: value is None or isinstance(value, Undefined)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # The stock sandbox returns an Undefined, which NoneLike would silently swallow.
        kind = type(obj).__name__
        raise SecurityError(f"access to attribute {attribute!r} of {kind!r} is not allowed")

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right!r} is larger than {MAX_EXPONENT}")
        if op == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
                if sized and len(seq) * count > MAX_REPEAT:
                    raise SecurityError(f"result longer than {MAX_REPEAT} items")
        if op == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
            raise SecurityError("format widths of 10000 or more are not allowed")
        return {"*": operator.mul, "**": operator.pow, "%": operator.mod}[op](left, right)


_ENV = _Environment()


def _reject_private(node: nodes.Node, source: str) -> None:
    """Refuse ``x._y`` and ``x['_y']`` up front: no mapping needs private attributes."""
    # Innermost first (a.__class__.__mro__ reports __class__); the root node is included.
    for found in reversed([node, *node.find_all((nodes.Getattr, nodes.Getitem))]):
        if isinstance(found, nodes.Getattr):
            name = found.attr
        elif isinstance(found, nodes.Getitem):
            name = getattr(found.arg, "value", None)
        else:
            continue
        if isinstance(name, str) and name.startswith("_"):
            raise ExpressionError(source, f"access to {name!r} is not allowed")


class Expression:
    """A compiled expression: ``.names`` it reads, and a call that evaluates it on a record."""

    def __init__(self, source: str) -> None:
        self.source = source
        if not isinstance(source, str) or not source.strip():
            raise ExpressionError(str(source), "empty expression")
        try:
            parser = Parser(_ENV, source, state="variable")
            tree = parser.parse_expression()
            if not parser.stream.eos:
                token = parser.stream.current
                raise ExpressionError(source, f"unexpected {token.value!r} after the expression")
        except TemplateSyntaxError as exc:
            raise ExpressionError(source, f"syntax error: {exc.message}") from None
        _reject_private(tree, source)
        template = nodes.Template([nodes.Output([tree])], lineno=1)
        template.set_environment(_ENV)
        try:
            undeclared = find_undeclared_variables(template)
            self._compiled = _ENV.compile_expression(source, undefined_to_none=True)
        except TemplateError as exc:  # e.g. an unknown filter, found when generating code
            message = (exc.message or str(exc)).rstrip(".")
            raise ExpressionError(source, message[:1].lower() + message[1:]) from None
        #: Free variable names: fields the expression reads (globals such as blank() excluded).
        self.names: frozenset[str] = frozenset(undeclared - set(_ENV.globals))

    def __call__(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate on ``variables`` (None values act like missing ones).

        Raises ExpressionError when evaluation fails (unsafe access, a type clash such as
        ``'a' - 1``) so the caller can record it against the record.
        """
        context = {k: _NONE if v is None else v for k, v in variables.items()}
        try:
            return self._compiled(context)
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise ExpressionError(self.source, f"cannot evaluate: {exc}") from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"
