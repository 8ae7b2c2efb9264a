"""Rule explanations: the smallest failing clauses of a false or failing rule, with the values."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import Environment
from jinja2.parser import Parser

from mappings.explain import check_rule, describe, to_source, why
from mappings.expressions import Expression

RULE = "email and not unsubscribed and (score >= 40 or lifecycle_stage in ['MQL', 'SQL'])"
LEAD = {"email": "ann@example.com", "unsubscribed": False, "score": 12, "lifecycle_stage": "Lead"}

#: (rule, record, the sentences that explain why the rule is false for it).
FALSE_RULES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("score >= 40", {"score": 12}, ["`score >= 40` was false: score is 12"]),
    ("score >= 40", {}, ["`score >= 40` was false: score is blank"]),
    ("email", {"email": None}, ["email is blank"]),
    ("email", {"email": ""}, ["email is blank"]),
    ("unsubscribed", {"unsubscribed": False}, ["unsubscribed is false"]),
    (
        RULE,
        LEAD,
        [
            "`score >= 40` was false: score is 12",
            "`lifecycle_stage in ['MQL', 'SQL']` was false: lifecycle_stage is 'Lead'",
        ],
    ),
    # `and`: every false operand, in source order (all of them must change).
    (
        RULE,
        {**LEAD, "email": None, "unsubscribed": True, "score": 90},
        ["email is blank", "`not unsubscribed` was false: unsubscribed is true"],
    ),
    # `or`: every operand, all false.
    (
        "lead_source == 'Web' or country in ['GB', 'IE']",
        {"lead_source": "Partner Referral", "country": "FR"},
        [
            "`lead_source == 'Web'` was false: lead_source is 'Partner Referral'",
            "`country in ['GB', 'IE']` was false: country is 'FR'",
        ],
    ),
    # `not` over a compound: the operand(s) that were true.
    (
        "not (unsubscribed or bounced)",
        {"unsubscribed": False, "bounced": True},
        ["bounced is true"],
    ),
    (
        "not (email and score > 10)",
        {"email": "a@b.co", "score": 11},
        ["email is 'a@b.co'", "`score > 10` was true: score is 11"],
    ),
    (
        "not unsubscribed",
        {"unsubscribed": True},
        ["`not unsubscribed` was false: unsubscribed is true"],
    ),
    ("not (score > 10)", {"score": 11}, ["`not (score > 10)` was false: score is 11"]),
    # Tests and the blank() / domain() helpers.
    ("not blank(company)", {"company": ""}, ["`not blank(company)` was false: company is blank"]),
    ("blank(company)", {"company": "Acme"}, ["`blank(company)` was false: company is 'Acme'"]),
    ("title is not none", {}, ["`title is not none` was false: title is blank"]),
    (
        "domain(email) != 'example.com'",
        {"email": "ann@EXAMPLE.com"},
        ["`domain(email) != 'example.com'` was false: email is 'ann@EXAMPLE.com'"],
    ),
    # Filters and arithmetic stay whole: the clause is the comparison, with every field it reads.
    (
        "score | default(0) + bonus >= 40",
        {"score": 30, "bonus": 5},
        ["`score|default(0) + bonus >= 40` was false: score is 30, bonus is 5"],
    ),
    ("LeadSource != 'Partner Referral'", {"LeadSource": "Partner Referral"},
     ["`LeadSource != 'Partner Referral'` was false: LeadSource is 'Partner Referral'"]),
    # A rule that reads no field at all.
    ("1 > 2", {}, ["`1 > 2` was false"]),
]


@pytest.mark.parametrize(("rule", "record", "sentences"), FALSE_RULES)
def test_a_false_rule_names_its_failing_clauses_with_their_values(
    rule: str, record: dict[str, Any], sentences: list[str]
) -> None:
    assert Expression(rule)(record) in (False, None, "", 0)  # the table is about false rules
    check = check_rule("sync_rule", rule, record)
    assert check.passed is False and check.error is None
    assert [c.sentence for c in check.clauses] == sentences
    assert check.sentence == "the sync_rule is false: " + "; ".join(sentences)


def test_a_true_rule_has_no_clauses() -> None:
    check = check_rule("sync_rule", RULE, {**LEAD, "score": 55})
    assert check.passed is True and check.clauses == ()
    assert check.sentence == "the sync_rule is true"


def test_no_rule_lets_everything_through() -> None:
    check = check_rule("pull_rule", None, {})
    assert check.passed is True and check.sentence == "no pull_rule: every record qualifies"


def test_a_failing_rule_names_the_smallest_clause_that_cannot_be_evaluated() -> None:
    check = check_rule("sync_rule", "email and score - 'a' > 3", {"email": "a@b.co", "score": 12})
    assert check.passed is False
    assert check.error is not None and "cannot evaluate" in check.error
    [clause] = check.clauses
    assert clause.text == "score - 'a'" and clause.outcome is None
    assert clause.sentence.startswith("`score - 'a'` cannot be evaluated: unsupported operand")
    assert clause.sentence.endswith("(score is 12)")
    assert check.sentence.startswith("the sync_rule fails: `score - 'a'` cannot be evaluated")


def test_an_if_else_is_blamed_only_for_the_branch_it_took() -> None:
    rule = "(score - 'a' if vip else score) > 1"
    check = check_rule("sync_rule", rule, {"vip": True, "score": 3})
    assert [c.text for c in check.clauses] == ["score - 'a'"]


def test_fields_the_values_do_not_know_are_not_guessed() -> None:
    check = check_rule("pull_rule", "Status__c == 'Open' and Email", {"Email": "a@b.co"},
                       known={"Email"})
    assert check.passed is None and check.unknown == ("Status__c",)
    assert "reads Status__c, which is not known here" in check.sentence


def test_why_also_explains_a_true_result() -> None:
    assert [c.sentence for c in why("a or b", {"a": 0, "b": 2}, outcome=True)] == ["b is 2"]


def test_clauses_as_json_keep_the_values() -> None:
    [clause, _] = check_rule("sync_rule", RULE, LEAD).clauses
    assert clause.as_json() == {
        "clause": "score >= 40",
        "outcome": False,
        "values": {"score": 12},
        "error": None,
        "sentence": "`score >= 40` was false: score is 12",
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "blank"), ("", "blank"), (True, "true"), (0, "0"), (2.5, "2.5"), ("it's", '"it\'s"'),
     (["a"], '["a"]'), ("x" * 200, repr("x" * 79 + "…"))],
)
def test_values_are_quoted_as_sentences_need_them(value: Any, text: str) -> None:
    assert describe(value) == text


PRINTED = [
    "a if b else c if d else e",
    "(a if b else c) if d else e",
    "-x|abs ** 2",
    "(a + b)|abs",
    "not (a > 1)",
    "not not a",
    "x[1:2]",
    "x[::2]",
    "x is divisibleby(3)",
    "x is not none",
    "'a' ~ b ~ (c + 1)",
    "(1,)",
    "a - (b - c)",
    "(a - b) - c",
    "2 ** 3 ** 2",
    "2 ** (3 ** 2)",
    "{'a': [1, 2]}['a'][0]",
    "company|default('[none]')",
    "blank(x) or y.z",
    "(a or b) and c",
    "a or b and c",
    "x|replace('a', 'b')|upper",
    "x|truncate(10, killwords=true)",
    "'%s-%d' % (name, 3)",
    "0 < score < 10",
    "'a\\nb' == x and \"it's\" != y",
    "-(-x)",
    "none == x or true",
]


@pytest.mark.parametrize("source", PRINTED)
def test_clauses_print_back_to_source_that_parses_to_the_same_tree(source: str) -> None:
    def parse(text: str) -> Any:
        return Parser(Environment(), text, state="variable").parse_expression()

    tree = parse(source)
    printed = to_source(tree)
    assert parse(printed) == tree, printed
    # And they run in the sandbox, as the engine's rules do.
    Expression(printed)
