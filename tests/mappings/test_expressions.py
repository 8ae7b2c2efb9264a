"""Sandboxed expressions: results, names, None-safety, syntax errors and sandbox escapes."""

from __future__ import annotations

from typing import Any

import pytest

from mappings.expressions import Expression, ExpressionError, blank, domain

RULE = "email and (score >= 50 or lifecycle_stage in ['MQL', 'SQL'])"

RESULTS = [
    (RULE, {"email": "a@b.co", "score": 70, "lifecycle_stage": None}, True),
    (RULE, {"email": "a@b.co", "score": None, "lifecycle_stage": "SQL"}, True),
    (RULE, {"email": "a@b.co", "score": None, "lifecycle_stage": None}, False),
    (RULE, {"email": None, "score": 90, "lifecycle_stage": "SQL"}, None),
    (RULE, {}, None),  # nothing known: falsy, no crash
    ("score >= 50", {"score": None}, False),
    ("score < 50", {"score": None}, False),
    ("50 <= score", {}, False),
    ("not (score > 10)", {"score": None}, True),
    ("0 < score < 10", {"score": 5}, True),
    ("score + 1", {"score": None}, None),
    ("score * 2", {"score": 4}, 8),
    ("account.name", {"account": None}, None),
    ("account['name']", {"account": {"name": "Acme"}}, "Acme"),
    ("title is none", {"title": None}, True),
    ("title == none", {}, True),
    ("title != none", {"title": "CEO"}, True),
    ("title is defined", {"title": "CEO"}, True),
    ("company | default('[none]')", {"company": None}, "[none]"),
    ("first_name ~ ' ' ~ last_name", {"first_name": "Ada", "last_name": None}, "Ada "),
    ("(first_name ~ ' ' ~ last_name) | trim", {"first_name": "Ada", "last_name": None}, "Ada"),
    ("email | lower", {"email": "A@B.CO"}, "a@b.co"),
    ("score | int + 1", {"score": None}, 1),
    ("score | float", {}, 0.0),
    ("score | default(0) >= 50", {"score": None}, False),
    ("'@' in email", {"email": None}, False),
    ("lead_source != 'Partner Referral'", {"lead_source": None}, True),
    ("LeadSource != 'Partner Referral'", {"LeadSource": "Partner Referral"}, False),
    ("domain(email) == 'example.com'", {"email": "Ada@Example.COM"}, True),
    ("blank(company)", {"company": "  "}, True),
    ("blank(company)", {"company": 0}, False),
    ("not blank(company)", {"company": "Acme"}, True),
    ("'%s-%d' % (name, 3)", {"name": "x"}, "x-3"),
    ("[1, 2][0] + {'a': 1}['a']", {}, 2),
    ("id", {"id": "h1"}, "h1"),
]


@pytest.mark.parametrize(("source", "variables", "expected"), RESULTS)
def test_results(source: str, variables: dict[str, Any], expected: Any) -> None:
    assert Expression(source)(variables) == expected


NAMES = [
    (RULE, {"email", "score", "lifecycle_stage"}),
    ("domain(email) in ['a.com']", {"email"}),  # globals are not fields
    ("blank(x) or y.z", {"x", "y"}),
    ("account.name | lower", {"account"}),
    ("1 + 2", set()),
]


@pytest.mark.parametrize(("source", "names"), NAMES)
def test_names(source: str, names: set[str]) -> None:
    assert Expression(source).names == frozenset(names)


SYNTAX = [
    ("score >=", "syntax error: unexpected 'end of template' in 'score >='"),
    ("a b", "unexpected 'b' after the expression in 'a b'"),
    ("x }} {{ y", "unexpected '}}' after the expression in 'x }} {{ y'"),
    ("{{ x }}", "syntax error: expected token ':', got '}' in '{{ x }}'"),
    ("", "empty expression in ''"),
    ("email | center(100)", "no filter named 'center' in 'email | center(100)'"),
    ("x is odd_thing", "no test named 'odd_thing' in 'x is odd_thing'"),
    ("x._private", "access to '_private' is not allowed in 'x._private'"),
]


@pytest.mark.parametrize(("source", "message"), SYNTAX)
def test_bad_expressions_say_what_is_wrong(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        Expression(source)
    assert str(caught.value) == message


ESCAPES = [
    "''.__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "x['__cl' ~ 'ass__']",
    "x | attr('__class__')",
    "x.append(1)",
    "cycler.__init__.__globals__",
    "self.__init__.__globals__",
    "lipsum.__globals__['os']",
    "config.items()",
    "range.__self__",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_fail_safely(source: str) -> None:
    """Either refused up front, refused at run time, or nothing there (None): never a leak."""
    try:
        result = Expression(source)({"x": ["a"]})
    except ExpressionError as exc:
        assert "not allowed" in str(exc) or "no filter named 'attr'" in str(exc)
    else:
        assert result is None


def test_private_access_refused_before_running() -> None:
    with pytest.raises(ExpressionError, match="access to '__class__' is not allowed"):
        Expression("''.__class__.__mro__")


@pytest.mark.parametrize(
    "source",
    ["'a' * 100000", "['a'] * 10001", "2 ** 1000", "'%99999999s' % 'a'", "'a' * 10000 * 10000"],
)
def test_resource_bounds(source: str) -> None:
    with pytest.raises(ExpressionError, match="cannot evaluate"):
        Expression(source)({})


def test_type_clash_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError) as caught:
        Expression("score - 'a'")({"score": 3})
    assert str(caught.value).startswith("cannot evaluate: unsupported operand")
    assert isinstance(caught.value, ValueError)  # engines treat it as a bad value


def test_helpers() -> None:
    assert blank(None) and blank("") and blank(" \t") and not blank("x") and not blank(0)
    assert domain("Ada@Example.COM") == "example.com"
    assert domain("a@b@c.io") == "c.io"
    assert domain("nobody") is None
    assert domain(None) is None


def test_expression_is_reusable_and_does_not_mutate_input() -> None:
    expr = Expression("score >= 50")
    values = {"score": None}
    assert expr(values) is False
    assert values == {"score": None}
    assert expr({"score": 51}) is True
    assert repr(expr) == "Expression('score >= 50')"
