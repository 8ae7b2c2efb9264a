"""OData query options of the Dataverse sandbox: $filter, $orderby, $select, $top, $count."""

from __future__ import annotations

import pytest

from sandboxes.dynamics.errors import DataverseError
from sandboxes.dynamics.metadata import Metadata
from sandboxes.dynamics.odata import (
    parse_count,
    parse_filter,
    parse_orderby,
    parse_select,
    parse_top,
)
from sandboxes.dynamics.standard_entities import standard_entities

LEAD = Metadata(standard_entities()).entity("lead")
ANN = "aa000000-0000-0000-0000-000000000001"
BOB = "bb000000-0000-0000-0000-000000000002"
CAROL = "cc000000-0000-0000-0000-000000000003"
ACME = "ac000000-0000-0000-0000-00000000000a"

ROWS = [
    {"leadid": ANN, "firstname": "Ann", "lastname": "O'Neil", "statecode": 0,
     "leadsourcecode": 8, "modifiedon": "2024-05-01T10:00:00Z", "revenue": 5000,
     "donotemail": False, "emailaddress1": "ann@acme.com", "_parentaccountid_value": ACME},
    {"leadid": BOB, "firstname": "bob", "lastname": "Smith", "statecode": 1,
     "leadsourcecode": 1, "modifiedon": "2024-06-01T10:00:00Z", "revenue": None,
     "donotemail": True, "emailaddress1": None, "_parentaccountid_value": None},
    {"leadid": CAROL, "firstname": "Carol", "lastname": "Smithers", "statecode": 2,
     "leadsourcecode": None, "modifiedon": "2024-07-01T00:00:00Z", "revenue": 12.5,
     "donotemail": False, "emailaddress1": "carol@globex.com", "_parentaccountid_value": ACME},
]  # fmt: skip


def names(text: str) -> list[str]:
    return [row["firstname"] for row in parse_filter(text, LEAD).apply(ROWS)]


def error_of(call, *args) -> DataverseError:
    with pytest.raises(DataverseError) as caught:
        call(*args)
    return caught.value


# ---------------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("statecode eq 1", ["bob"]),
        ("statecode ne 1", ["Ann", "Carol"]),
        ("statecode gt 0", ["bob", "Carol"]),
        ("statecode ge 1", ["bob", "Carol"]),
        ("statecode lt 1", ["Ann"]),
        ("statecode le 1", ["Ann", "bob"]),
        ("revenue gt 100", ["Ann"]),
        ("revenue lt 12.6", ["Carol"]),
        ("donotemail eq true", ["bob"]),
        ("donotemail eq false", ["Ann", "Carol"]),
    ],
)
def test_comparison_operators(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_string_comparison_is_case_insensitive_and_unescapes_quotes() -> None:
    assert names("firstname eq 'BOB'") == ["bob"]
    assert names("lastname eq 'o''neil'") == ["Ann"]
    assert names("firstname gt 'b'") == ["bob", "Carol"]


def test_guids_are_unquoted_and_case_insensitive() -> None:
    assert names(f"leadid eq {BOB.upper()}") == ["bob"]
    assert names(f"_parentaccountid_value eq {ACME}") == ["Ann", "Carol"]


def test_datetimes_are_unquoted_and_compared_as_instants() -> None:
    assert names("modifiedon gt 2024-05-15T00:00:00Z") == ["bob", "Carol"]
    assert names("modifiedon ge 2024-06-01T12:00:00+02:00") == ["bob", "Carol"]
    assert names("modifiedon lt 2024-06-01") == ["Ann"]


def test_null_comparisons_follow_sql() -> None:
    assert names("revenue eq null") == ["bob"]
    assert names("revenue ne null") == ["Ann", "Carol"]
    # A NULL column never equals nor differs from a value (Dataverse's `ne` skips nulls).
    assert names("revenue ne 5000") == ["Carol"]
    assert names("not (revenue eq 5000)") == ["Carol"]


def test_column_to_column_comparison() -> None:
    assert names("firstname eq lastname") == []
    assert names("firstname ne lastname") == ["Ann", "bob", "Carol"]


# ---------------------------------------------------------------------- logic and precedence


def test_and_binds_tighter_than_or() -> None:
    assert names("statecode eq 0 or statecode eq 1 and firstname eq 'nobody'") == ["Ann"]
    assert names("(statecode eq 0 or statecode eq 1) and firstname eq 'bob'") == ["bob"]


def test_not_binds_tighter_than_and() -> None:
    assert names("not statecode eq 0 and statecode eq 2") == ["Carol"]
    assert names("not (statecode eq 0 or statecode eq 2)") == ["bob"]
    assert names("not not statecode eq 1") == ["bob"]


def test_boolean_literal_filters() -> None:
    assert names("true") == ["Ann", "bob", "Carol"]
    assert names("false or statecode eq 2") == ["Carol"]


def test_unknown_values_propagate_through_or() -> None:
    # revenue is NULL for bob: `revenue gt 1` is unknown, so only the other branch decides.
    assert names("revenue gt 1 or firstname eq 'bob'") == ["Ann", "bob", "Carol"]
    assert names("not (revenue gt 1 or firstname eq 'zed')") == []


# ---------------------------------------------------------------------- functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contains(lastname,'MITH')", ["bob", "Carol"]),
        ("startswith(lastname, 'smith')", ["bob", "Carol"]),
        ("endswith(emailaddress1,'@acme.com')", ["Ann"]),
        ("not contains(lastname,'ers')", ["Ann", "bob"]),
        ("contains(emailaddress1,'a')", ["Ann", "Carol"]),  # null email: unknown, excluded
    ],
)
def test_string_functions(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_in_takes_string_values_of_any_column_type() -> None:
    assert names(
        "Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=['0','2'])"
    ) == [
        "Ann",
        "Carol",
    ]
    assert names(
        f"Microsoft.Dynamics.CRM.In(PropertyName='leadid',PropertyValues=['{ANN}','{BOB.upper()}'])"
    ) == ["Ann", "bob"]
    assert names("Microsoft.Dynamics.CRM.In(PropertyName='firstname',PropertyValues=['ANN'])") == [
        "Ann"
    ]


def test_other_query_functions() -> None:
    assert names("Microsoft.Dynamics.CRM.NotIn(PropertyName='statecode',PropertyValues=['0'])") == [
        "bob",
        "Carol",
    ]
    assert names(
        "Microsoft.Dynamics.CRM.Between(PropertyName='revenue',PropertyValues=['10','100'])"
    ) == ["Carol"]
    assert names("Microsoft.Dynamics.CRM.Null(PropertyName='emailaddress1')") == ["bob"]
    assert names("Microsoft.Dynamics.CRM.NotNull(PropertyName='revenue')") == ["Ann", "Carol"]


def test_filter_without_entity_skips_name_checks() -> None:
    assert parse_filter("anything eq 'X'")({"anything": "x"})
    assert not parse_filter("anything eq 'X'")({})


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("firstname eq", "Expression expected at position 12 in 'firstname eq'."),
        ("firstname eq 'a' or", "Expression expected at position 19 in 'firstname eq 'a' or'."),
        ("firstname eq 'x", "Syntax error at position 13 in 'firstname eq 'x'."),
        ("firstname == 'x'", "Syntax error at position 10 in 'firstname == 'x''."),
        ("(statecode eq 1", "Expression expected at position 15 in '(statecode eq 1'."),
    ],
)
def test_syntax_errors_use_odata_wording(text: str, message: str) -> None:
    error = error_of(parse_filter, text, LEAD)
    assert (error.status, error.code, error.message) == (400, "0x80060888", message)


def test_empty_filter_is_an_error() -> None:
    assert error_of(parse_filter, "  ", LEAD).status == 400


def test_unknown_property_is_reported_by_name() -> None:
    error = error_of(parse_filter, "Firstname eq 'x'", LEAD)
    assert error.status == 400
    assert error.message == (
        "Could not find a property named 'Firstname' on type 'Microsoft.Dynamics.CRM.lead'."
    )
    # Lookups are filtered through their `_x_value` property, never their logical name.
    assert "'parentaccountid'" in error_of(parse_filter, f"parentaccountid eq {ACME}", LEAD).message


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("statecode eq 'x'", "'Edm.Int32' and 'Edm.String' for operator kind 'Equal'"),
        ("firstname gt 5", "'Edm.String' and 'Edm.Int32' for operator kind 'GreaterThan'"),
        ("leadid eq 'abc'", "'Edm.Guid' and 'Edm.String' for operator kind 'Equal'"),
        ("modifiedon le 5.5", "'Edm.DateTimeOffset' and 'Edm.Decimal' for operator kind"),
    ],
)
def test_incompatible_literal_types_are_refused(text: str, types: str) -> None:
    error = error_of(parse_filter, text, LEAD)
    assert error.message.startswith("A binary operator with incompatible types was detected.")
    assert types in error.message


def test_string_functions_need_text_columns_and_text_arguments() -> None:
    assert "contains(Edm.String" in error_of(parse_filter, "contains(statecode,'1')", LEAD).message
    assert error_of(parse_filter, "startswith(firstname,1)", LEAD).status == 400


def test_unknown_and_malformed_query_functions() -> None:
    unknown = error_of(parse_filter, "Microsoft.Dynamics.CRM.Sometime(PropertyName='x')", LEAD)
    assert "unknown function with name 'Microsoft.Dynamics.CRM.Sometime'" in unknown.message
    no_values = error_of(parse_filter, "Microsoft.Dynamics.CRM.In(PropertyName='statecode')", LEAD)
    assert "PropertyValues" in no_values.message
    bad_value = "Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=['open'])"
    assert "'open'" in error_of(parse_filter, bad_value, LEAD).message
    between = "Microsoft.Dynamics.CRM.Between(PropertyName='revenue',PropertyValues=['1'])"
    assert error_of(parse_filter, between, LEAD).status == 400


# ---------------------------------------------------------------------- $orderby


def test_orderby_sorts_text_case_insensitively_with_nulls_first() -> None:
    ordered = parse_orderby("firstname", LEAD)(ROWS)
    assert [row["firstname"] for row in ordered] == ["Ann", "bob", "Carol"]
    by_revenue = parse_orderby("revenue asc", LEAD)(ROWS)
    assert [row["firstname"] for row in by_revenue] == ["bob", "Carol", "Ann"]
    descending = parse_orderby("revenue desc", LEAD)(ROWS)
    assert [row["firstname"] for row in descending] == ["Ann", "Carol", "bob"]


def test_orderby_several_keys_with_mixed_directions() -> None:
    ordered = parse_orderby("donotemail asc, modifiedon desc", LEAD)(ROWS)
    assert [row["firstname"] for row in ordered] == ["Carol", "Ann", "bob"]


def test_orderby_errors() -> None:
    assert "'nope'" in error_of(parse_orderby, "nope asc", LEAD).message
    assert error_of(parse_orderby, "firstname sideways", LEAD).code == "0x80060888"


# ---------------------------------------------------------------------- $select $top $count


def test_select_returns_names_and_checks_them() -> None:
    assert parse_select("firstname, _parentaccountid_value,firstname", LEAD) == [
        "firstname",
        "_parentaccountid_value",
    ]
    assert parse_select(None, LEAD) is None
    error = error_of(parse_select, "firstname,Name", LEAD)
    assert error.message == (
        "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.lead'."
    )


def test_top_and_count() -> None:
    assert parse_top("10") == 10
    assert "non-negative integer" in error_of(parse_top, "-1").message
    assert parse_count("true") is True and parse_count("false") is False
    assert error_of(parse_count, "yes").message == "'yes' is not a valid count option."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # many equalities on one column: a set lookup, same answers as one by one
        ("emailaddress1 eq 'ANN@acme.com' or emailaddress1 eq 'x@y.z' or "
         "emailaddress1 eq 'carol@globex.com'", ["Ann", "Carol"]),
        ("not (emailaddress1 eq 'ann@acme.com' or emailaddress1 eq 'a' or emailaddress1 eq 'b')",
         ["Carol"]),  # bob's null email stays unknown under not, as in SQL
        ("statecode eq 0 or statecode eq 2 or statecode eq 9", ["Ann", "Carol"]),
        ("statecode eq 0 or firstname eq 'bob' or statecode eq 2", ["Ann", "bob", "Carol"]),
    ],
)
def test_or_chains_of_equalities(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_or_chain_still_checks_literal_types() -> None:
    error = error_of(parse_filter, "statecode eq 'a' or statecode eq 1 or statecode eq 2", LEAD)
    assert "incompatible types" in error.message
