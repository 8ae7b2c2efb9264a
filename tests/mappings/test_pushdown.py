"""Which part of a pull_rule goes into the remote's query, and that it never drops a kept record."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import FieldInfo
from connectors.filters import matches
from connectors.salesforce.where import feed_condition, soql_condition
from mappings.expressions import Expression
from mappings.pushdown import split

SOURCES = ("Web", "Partner Referral", "Other")
FIELDS = {
    f.name: f
    for f in (
        FieldInfo("Id", "id"),
        FieldInfo("LeadSource", "picklist", picklist_values=SOURCES, restricted_picklist=True),
        FieldInfo("Status", "picklist", picklist_values=("Open", "Disqualified")),
        FieldInfo("Company", "string"),
        FieldInfo("Description", "text"),
        FieldInfo("Email", "email"),
        FieldInfo("Score__c", "number"),
        FieldInfo("NumberOfEmployees", "integer"),
        FieldInfo("HasOptedOutOfEmail", "boolean"),
        FieldInfo("CreatedDate", "datetime"),
    )
}

#: rule → the SOQL of what is pushed (None: nothing), and the clauses kept local.
CASES: list[tuple[str, str | None, tuple[str, ...]]] = [
    ("LeadSource != 'Partner Referral'",
     "LeadSource != 'Partner Referral' OR LeadSource = null", ()),
    ("LeadSource == 'Web'", "LeadSource = 'Web'", ("LeadSource == 'Web'",)),
    ("Score__c >= 50", "Score__c >= 50", ()),
    ("50 < Score__c", "Score__c > 50", ()),
    ("not Score__c < 50", "Score__c >= 50 OR Score__c = null", ()),
    ("NumberOfEmployees == 10", "NumberOfEmployees = 10", ()),
    ("HasOptedOutOfEmail == false", "HasOptedOutOfEmail = false", ()),
    ("not HasOptedOutOfEmail", "HasOptedOutOfEmail = false OR HasOptedOutOfEmail = null", ()),
    ("HasOptedOutOfEmail", "HasOptedOutOfEmail = true", ()),
    ("LeadSource in ['Web', 'Other']", "LeadSource IN ('Web', 'Other')",
     ("LeadSource in ['Web', 'Other']",)),
    ("LeadSource not in ['Web', 'Other']",
     "LeadSource NOT IN ('Web', 'Other') OR LeadSource = null", ()),
    ("LeadSource not in ['Web', none]", "LeadSource NOT IN ('Web')", ()),
    ("Email is none", "Email = null", ()),
    ("Email is not none", "Email != null", ()),
    ("Email == none", "Email = null", ()),
    ("Email", "Email != null", ("Email",)),
    ("not blank(Email)", "Email != null", ("not blank(Email)",)),
    ("blank(Score__c)", "Score__c = null", ()),
    ("Company == \"O'Brien\\\\Sons\"", "Company = 'O\\'Brien\\\\Sons'",
     ("Company == \"O'Brien\\\\Sons\"",)),
    # AND pushes the operands it can; the others stay local.
    ("Score__c >= 50 and blank(Email)", "Score__c >= 50", ("blank(Email)",)),
    ("LeadSource != 'Partner Referral' and (Score__c > 10 or HasOptedOutOfEmail == false)",
     "(LeadSource != 'Partner Referral' OR LeadSource = null) AND "
     "(Score__c > 10 OR HasOptedOutOfEmail = false)", ()),
    ("not (Score__c > 10 and LeadSource == 'Web')",
     "Score__c <= 10 OR Score__c = null OR LeadSource != 'Web' OR LeadSource = null", ()),
    ("not (Score__c > 10 and Company == 'Acme')", None,
     ("not (Score__c > 10 and Company == 'Acme')",)),
    # OR with a side that cannot be said: nothing of it is pushed.
    ("Score__c > 10 or blank(Email)", None, ("Score__c > 10 or blank(Email)",)),
    ("not (Score__c > 10 or blank(Email))", "(Score__c <= 10 OR Score__c = null) AND Email != null",
     ("not (Score__c > 10 or blank(Email))",)),
    # Text != ignores case remotely: only a restricted picklist value is exact.
    ("Status != 'Disqualified'", None, ("Status != 'Disqualified'",)),
    ("Company != 'Competitor'", None, ("Company != 'Competitor'",)),
    ("LeadSource != 'partner referral'", None, ("LeadSource != 'partner referral'",)),
    ("not LeadSource == 'Web'", "LeadSource != 'Web' OR LeadSource = null", ()),
    # Orderings on text or datetimes, type clashes, unknown names, calls: local.
    ("Company > 'M'", None, ("Company > 'M'",)),
    ("CreatedDate >= '2024-01-01'", None, ("CreatedDate >= '2024-01-01'",)),
    ("Score__c == '50'", None, ("Score__c == '50'",)),
    ("Score__c > 1e-5", None, ("Score__c > 1e-05",)),  # kept clauses are printed back
    ("Nope__c == 'x'", None, ("Nope__c == 'x'",)),
    ("domain(Email) == 'acme.com'", None, ("domain(Email) == 'acme.com'",)),
    ("Email | lower == 'a@b.c'", None, ("Email|lower == 'a@b.c'",)),
    ("not Email", None, ("not Email",)),
    ("blank(Email)", None, ("blank(Email)",)),
    ("1 < Score__c < 5", None, ("1 < Score__c < 5",)),
    ("Id == '00Q5e0000000001'", None, ("Id == '00Q5e0000000001'",)),
    ("Description == 'x'", None, ("Description == 'x'",)),
    ("HasOptedOutOfEmail in [true]", None, ("HasOptedOutOfEmail in [true]",)),
]


@pytest.mark.parametrize(("rule", "soql", "kept"), CASES, ids=[c[0] for c in CASES])
def test_what_each_rule_pushes(rule: str, soql: str | None, kept: tuple[str, ...]) -> None:
    found = split(rule, FIELDS)
    assert found is not None
    assert (soql_condition(found.pushed) if found.pushed else None) == soql
    assert found.kept == kept


def test_no_rule_no_filter() -> None:
    assert split(None, FIELDS) is None


def test_the_feed_query_keeps_deletes_and_converted_leads() -> None:
    found = split("LeadSource != 'Partner Referral'", FIELDS)
    assert found is not None and found.pushed is not None
    fields = {"IsDeleted", "IsConverted", "LeadSource"}
    assert feed_condition(found.pushed, fields, "Lead") == (
        "IsDeleted = true OR IsConverted = true OR "
        "(LeadSource != 'Partner Referral' OR LeadSource = null)"
    )
    score = split("Score__c > 5", FIELDS)
    assert score is not None and score.pushed is not None
    assert feed_condition(score.pushed, fields, "Contact") == "IsDeleted = true OR Score__c > 5"


# -- the filter never drops a record the rule keeps -------------------------------------------

RULES = [rule for rule, _, _ in CASES] + [
    "LeadSource not in ['Web'] and Score__c >= 10 and not HasOptedOutOfEmail",
    "not (LeadSource in ['Web', 'Other'] or Score__c < 3)",
    "(Company == 'Acme' or Company == 'ACME') and NumberOfEmployees > 3",
    "not (not (Score__c >= 5))",
    "Email and LeadSource != 'Web'",
]

_TEXT = st.sampled_from([None, "", " ", "Acme", "ACME", "acme", "Competitor", "a@b.c", "O'Brien"])
RECORDS = st.fixed_dictionaries({
    "LeadSource": st.sampled_from([None, *SOURCES]),  # restricted: only its exact values
    "Status": st.sampled_from([None, "Open", "open", "Disqualified", "disqualified"]),
    "Company": _TEXT,
    "Email": _TEXT,
    "Score__c": st.one_of(st.none(), st.integers(-5, 60), st.floats(-5, 60, allow_nan=False)),
    "NumberOfEmployees": st.one_of(st.none(), st.integers(0, 20)),
    "HasOptedOutOfEmail": st.one_of(st.none(), st.booleans()),
})


@settings(max_examples=300, deadline=None)
@given(record=RECORDS)
def test_a_pushed_filter_never_drops_a_record_the_rule_keeps(record: dict[str, Any]) -> None:
    for rule in RULES:
        found = split(rule, FIELDS)
        if found is None or found.pushed is None:
            continue
        try:
            kept = bool(Expression(rule)(record))
        except ValueError:
            continue  # the rule fails on this record: no keeping to protect
        if kept:
            assert matches(found.pushed, record), (rule, record)
