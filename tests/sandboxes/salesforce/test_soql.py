"""SOQL subset of the Salesforce sandbox: parse + execute over an in-memory QuerySource."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from sandboxes.salesforce.errors import SalesforceError, SoqlError
from sandboxes.salesforce.soql import Query, QueryResult, execute, parse


def _field(
    name: str,
    type_: str,
    reference_to: str | None = None,
    relationship: str | None = None,
    custom: bool = False,
) -> dict:
    return {
        "name": name,
        "type": type_,
        "nillable": True,
        "custom": custom,
        "referenceTo": [reference_to] if reference_to else [],
        "relationshipName": relationship,
    }


DESCRIBES = {
    "User": [
        _field("Id", "id"),
        _field("Email", "email"),
        _field("Name", "string"),
        _field("ManagerId", "reference", "User", "Manager"),
        _field("IsDeleted", "boolean"),
    ],
    "Contact": [
        _field("Id", "id"),
        _field("LastName", "string"),
        _field("Email", "email"),
        _field("OwnerId", "reference", "User", "Owner"),
        _field("IsDeleted", "boolean"),
    ],
    "Lead": [
        _field("Id", "id"),
        _field("FirstName", "string"),
        _field("LastName", "string"),
        _field("Email", "email"),
        _field("Company", "string"),
        _field("Status", "picklist"),
        _field("NumberOfEmployees", "int"),
        _field("AnnualRevenue", "currency"),
        _field("IsConverted", "boolean"),
        _field("IsDeleted", "boolean"),
        _field("ConvertedDate", "date"),
        _field("ConvertedContactId", "reference", "Contact", "ConvertedContact"),
        _field("OwnerId", "reference", "User", "Owner"),
        _field("SystemModstamp", "datetime"),
        _field("Score__c", "double", custom=True),
        _field("Partner__c", "reference", "Contact", "Partner__r", custom=True),
    ],
}

USER_ANN = "005000000000001AAA"
USER_BOB = "005000000000002AAA"
CONTACT_CID = "003000000000001AAA"
LEAD_IDS = {name: f"00Q00000000000{index}AAA" for index, name in enumerate("ABCDE", start=1)}


def _lead(last: str, **fields: object) -> dict:
    row = {field["name"]: None for field in DESCRIBES["Lead"]}
    row.update(Id=LEAD_IDS[last[0]], LastName=last, IsConverted=False, IsDeleted=False)
    row.update(fields)
    return row


LEADS = [
    _lead(
        "Adams",
        FirstName="Ann",
        Email="ann@example.com",
        Company="Acme",
        Status="Open",
        NumberOfEmployees=50,
        AnnualRevenue=1000.5,
        OwnerId=USER_ANN,
        Score__c=1.5,
        SystemModstamp="2024-05-01T10:22:31.000+0000",
    ),
    _lead(
        "Brown",
        FirstName="Bob",
        Company="acme corp",
        Status="Working",
        OwnerId=USER_BOB,
        SystemModstamp="2024-05-01T10:22:31.500+0000",
    ),
    _lead(
        "Cole",
        FirstName="Cid",
        Email="cid@example.com",
        Company="100% Fun_Co",
        Status="Converted",
        NumberOfEmployees=5,
        IsConverted=True,
        ConvertedDate="2024-05-02",
        ConvertedContactId=CONTACT_CID,
        OwnerId=USER_ANN,
        Partner__c=CONTACT_CID,
        SystemModstamp="2024-05-02T00:00:00.000+0000",
    ),
    _lead(
        "Dunn",
        FirstName="Dee",
        Email="dee@example.com",
        Company="Gone",
        Status="Open",
        IsDeleted=True,
        OwnerId=USER_BOB,
        SystemModstamp="2024-04-30T08:00:00.000+0000",
    ),
    _lead(
        "Evans",
        FirstName="O'Neil",
        Email="EVE@Example.com",
        Company="100 Fun Co",
        NumberOfEmployees=500,
        SystemModstamp="2024-04-30T23:59:59.999+0000",
    ),
]
USERS = [
    {
        "Id": USER_ANN,
        "Email": "ann.owner@example.com",
        "Name": "Ann Owner",
        "ManagerId": USER_BOB,
        "IsDeleted": False,
    },
    {
        "Id": USER_BOB,
        "Email": "bob.owner@example.com",
        "Name": "Bob Owner",
        "ManagerId": None,
        "IsDeleted": False,
    },
]
CONTACTS = [
    {
        "Id": CONTACT_CID,
        "LastName": "Cole",
        "Email": "cid@example.com",
        "OwnerId": USER_ANN,
        "IsDeleted": False,
    },
]


class DictSource:
    """A QuerySource over the dict rows above."""

    def __init__(self) -> None:
        self.tables = {"Lead": LEADS, "User": USERS, "Contact": CONTACTS}

    def describe(self, sobject: str) -> dict:
        for name, fields in DESCRIBES.items():
            if name.lower() == sobject.lower():
                return {"name": name, "fields": fields}
        raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)

    def rows(self, sobject: str, include_deleted: bool) -> Iterable[dict]:
        return [row for row in self.tables[sobject] if include_deleted or not row["IsDeleted"]]

    def by_id(self, record_id: str) -> tuple[str, dict] | None:
        for name, rows in self.tables.items():
            for row in rows:
                if row["Id"] == record_id:
                    return name, row
        return None


def run(text: str, **options: object) -> QueryResult:
    return execute(parse(text), DictSource(), **options)


def last_names(text: str, **options: object) -> list[str]:
    return [record["LastName"] for record in run(text, **options).records]


def soql_error(text: str, **options: object) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        run(text, **options)
    return caught.value


# --- shape of the result -------------------------------------------------------------------


def test_records_carry_attributes_and_canonical_field_names() -> None:
    result = run("select id, EMAIL, lastname from lead where LastName = 'Adams'", version="58.0")
    assert result.total_size == 1
    assert result.records == [
        {
            "attributes": {
                "type": "Lead",
                "url": f"/services/data/v58.0/sobjects/Lead/{LEAD_IDS['A']}",
            },
            "Id": LEAD_IDS["A"],
            "Email": "ann@example.com",
            "LastName": "Adams",
        }
    ]


def test_parse_returns_a_query_and_keywords_are_case_insensitive() -> None:
    query = parse("sElEcT Id FrOm Lead wHeRe IsConverted = TRUE oRdEr bY Id dEsC lImIt 5")
    assert isinstance(query, Query)
    assert [r["Id"] for r in execute(query, DictSource()).records] == [LEAD_IDS["C"]]


def test_without_order_by_rows_come_in_stored_order_and_deleted_rows_are_hidden() -> None:
    assert last_names("SELECT LastName FROM Lead") == ["Adams", "Brown", "Cole", "Evans"]


def test_include_deleted_returns_deleted_rows_too() -> None:
    assert last_names("SELECT LastName FROM Lead WHERE IsDeleted = true") == []
    assert last_names("SELECT LastName FROM Lead WHERE IsDeleted = true", include_deleted=True) == [
        "Dunn"
    ]
    assert run("SELECT COUNT() FROM Lead", include_deleted=True).total_size == 5


def test_count_returns_the_count_and_no_records() -> None:
    result = run("SELECT COUNT() FROM Lead WHERE Email != null")
    assert (result.total_size, result.records) == (3, [])


# --- operators -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("NumberOfEmployees = 50", ["Adams"]),
        ("NumberOfEmployees != 50", ["Brown", "Cole", "Evans"]),
        ("NumberOfEmployees <> 50", ["Brown", "Cole", "Evans"]),
        ("NumberOfEmployees < 50", ["Cole"]),
        ("NumberOfEmployees <= 50", ["Adams", "Cole"]),
        ("NumberOfEmployees > 5", ["Adams", "Evans"]),
        ("NumberOfEmployees >= 5", ["Adams", "Cole", "Evans"]),
        ("AnnualRevenue > 1000.25", ["Adams"]),
        ("Score__c = 1.5", ["Adams"]),
        ("LastName < 'brown'", ["Adams"]),
        ("LastName >= 'COLE'", ["Cole", "Evans"]),
        ("IsConverted = false", ["Adams", "Brown", "Evans"]),
        ("IsConverted != true", ["Adams", "Brown", "Evans"]),
        ("ConvertedDate = 2024-05-02", ["Cole"]),
        ("ConvertedDate < 2024-05-02", []),
    ],
)
def test_comparison_operators(where: str, expected: list[str]) -> None:
    assert last_names(f"SELECT LastName FROM Lead WHERE {where}") == expected


def test_string_equality_is_case_insensitive() -> None:
    assert last_names("SELECT LastName FROM Lead WHERE Email = 'eve@example.COM'") == ["Evans"]
    assert last_names("SELECT LastName FROM Lead WHERE Company = 'ACME'") == ["Adams"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # Parentheses decide the grouping (Salesforce requires them when AND and OR mix).
        ("LastName = 'Adams' OR (LastName = 'Brown' AND Status = 'Open')", ["Adams"]),
        ("(LastName = 'Adams' OR LastName = 'Brown') AND Status = 'Open'", ["Adams"]),
        ("(LastName = 'Adams' OR LastName = 'Brown') AND Status = 'Working'", ["Brown"]),
        ("(LastName = 'Brown' AND Status = 'Working') OR LastName = 'Cole'", ["Brown", "Cole"]),
        ("Status = 'Working' OR (Status = 'Open' AND NumberOfEmployees > 100)", ["Brown"]),
        ("(Status = 'Working' OR Status = 'Open') AND NumberOfEmployees > 10", ["Adams"]),
        ("IsConverted = false AND Email != null AND NumberOfEmployees > 100", ["Evans"]),
        (
            "LastName = 'Evans' OR LastName = 'Adams' OR Status = 'Working'",
            ["Adams", "Brown", "Evans"],
        ),
        ("((LastName = 'Cole'))", ["Cole"]),
        ("NOT Status = 'Open'", ["Brown", "Cole", "Evans"]),
        ("NOT (Status = 'Open' OR Status = 'Working')", ["Cole", "Evans"]),
        ("IsConverted = false AND (NOT Email = null)", ["Adams", "Evans"]),
        ("(NOT IsConverted = true) AND (NOT (Email = null OR Status = 'Open'))", ["Evans"]),
    ],
)
def test_and_or_not_grouping(where: str, expected: list[str]) -> None:
    assert last_names(f"SELECT LastName FROM Lead WHERE {where}") == expected


@pytest.mark.parametrize(
    ("where", "token"),
    [
        ("LastName = 'Adams' OR LastName = 'Brown' AND Status = 'Open'", "AND"),
        ("LastName = 'Adams' AND LastName = 'Brown' OR Status = 'Open'", "OR"),
        ("IsConverted = false AND NOT Email = null", "NOT"),
        ("NOT Status = 'Open' AND IsConverted = false", "AND"),
        ("NOT NOT Status = 'Open'", "NOT"),
    ],
)
def test_mixing_and_or_not_without_parentheses_is_malformed(where: str, token: str) -> None:
    error = soql_error(f"SELECT LastName FROM Lead WHERE {where}")
    assert error.code == "MALFORMED_QUERY"
    assert error.message.endswith(f"unexpected token: '{token}'")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Status IN ('open', 'Working')", ["Adams", "Brown"]),
        ("Status NOT IN ('Open', 'Working')", ["Cole", "Evans"]),
        ("Status IN ('Open', null)", ["Adams", "Evans"]),
        ("Status NOT IN ('Open', null)", ["Brown", "Cole"]),
        ("NumberOfEmployees IN (5, 500)", ["Cole", "Evans"]),
        (f"Id IN ('{LEAD_IDS['A']}', '{LEAD_IDS['C']}')", ["Adams", "Cole"]),
        # A 15-character id matches its 18-character form.
        (f"Id IN ('{LEAD_IDS['B'][:15]}')", ["Brown"]),
        (f"Id = '{LEAD_IDS['B'][:15]}'", ["Brown"]),
    ],
)
def test_in_and_not_in(where: str, expected: list[str]) -> None:
    assert last_names(f"SELECT LastName FROM Lead WHERE {where}") == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Company LIKE 'acme%'", ["Adams", "Brown"]),
        ("Company LIKE 'ACME'", ["Adams"]),
        ("Company LIKE '%corp'", ["Brown"]),
        ("LastName LIKE '_o%'", ["Cole"]),
        ("LastName LIKE 'C_l_'", ["Cole"]),
        ("Company LIKE '100%'", ["Cole", "Evans"]),
        ("Company LIKE '100\\%%'", ["Cole"]),
        ("Company LIKE '%Fun\\_Co'", ["Cole"]),
        ("Email LIKE '%'", ["Adams", "Cole", "Evans"]),
        ("NOT Email LIKE 'a%'", ["Brown", "Cole", "Evans"]),
        ("FirstName LIKE 'O\\'%'", ["Evans"]),
    ],
)
def test_like(where: str, expected: list[str]) -> None:
    assert last_names(f"SELECT LastName FROM Lead WHERE {where}") == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Email = null", ["Brown"]),
        ("Email != null", ["Adams", "Cole", "Evans"]),
        # SOQL treats null as a value: a null field is "not equal" to a string...
        ("Email != 'ann@example.com'", ["Brown", "Cole", "Evans"]),
        # ...but never satisfies an ordering comparison.
        ("NumberOfEmployees < 1000", ["Adams", "Cole", "Evans"]),
        ("NumberOfEmployees > 0", ["Adams", "Cole", "Evans"]),
        ("NOT NumberOfEmployees > 0", ["Brown"]),
    ],
)
def test_null_semantics(where: str, expected: list[str]) -> None:
    assert last_names(f"SELECT LastName FROM Lead WHERE {where}") == expected


def test_string_escapes_in_literals() -> None:
    assert last_names("SELECT LastName FROM Lead WHERE FirstName = 'O\\'Neil'") == ["Evans"]
    assert last_names("SELECT LastName FROM Lead WHERE FirstName = 'O\\\\Neil'") == []


# --- datetimes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # 12:22:31+02:00 is 10:22:31Z: Adams sits exactly on it, Brown is 500 ms later.
        ("SystemModstamp > 2024-05-01T12:22:31+02:00", ["Brown", "Cole"]),
        ("SystemModstamp >= 2024-05-01T12:22:31+02:00", ["Adams", "Brown", "Cole"]),
        ("SystemModstamp = 2024-05-01T10:22:31Z", ["Adams"]),
        ("SystemModstamp = 2024-05-01T10:22:31.500Z", ["Brown"]),
        ("SystemModstamp > 2024-05-01T10:22:31.499Z", ["Brown", "Cole"]),
        ("SystemModstamp < 2024-05-01T05:22:31-05:00", ["Evans"]),
        ("SystemModstamp <= 2024-05-01T05:22:31-0500", ["Adams", "Evans"]),
        # Midnight at +05:30 is 18:30Z the day before, so Evans (23:59:59.999Z) is after it.
        ("SystemModstamp > 2024-05-01T00:00:00+05:30", ["Adams", "Brown", "Cole", "Evans"]),
        ("SystemModstamp >= 2024-04-30T16:00:00-08:00", ["Adams", "Brown", "Cole"]),
        ("SystemModstamp < 2024-05-01T00:00:00.000Z", ["Evans"]),
    ],
)
def test_datetime_comparisons_are_instant_comparisons(where: str, expected: list[str]) -> None:
    assert last_names(f"SELECT LastName FROM Lead WHERE {where}") == expected


def test_datetime_literals_accept_lowercase_and_long_fractions() -> None:
    assert last_names(
        "SELECT LastName FROM Lead WHERE SystemModstamp = 2024-05-01t10:22:31.500z"
    ) == ["Brown"]
    assert last_names(
        "SELECT LastName FROM Lead WHERE SystemModstamp = 2024-05-01T10:22:31.5000000Z"
    ) == ["Brown"]


def test_stored_datetimes_in_other_offsets_compare_as_instants() -> None:
    source = DictSource()
    pacific = _lead("Adams", SystemModstamp="2024-05-01T03:22:31.000-0700")  # 10:22:31Z
    source.tables = {**source.tables, "Lead": [pacific, LEADS[1]]}
    query = parse(
        "SELECT LastName, SystemModstamp FROM Lead "
        "WHERE SystemModstamp >= 2024-05-01T10:22:31Z ORDER BY SystemModstamp DESC"
    )
    records = execute(query, source).records
    assert [(r["LastName"], r["SystemModstamp"]) for r in records] == [
        ("Brown", "2024-05-01T10:22:31.500+0000"),
        ("Adams", "2024-05-01T03:22:31.000-0700"),  # returned as stored, compared as an instant
    ]


def test_keyset_paging_pattern() -> None:
    # The sync engine's pattern: strictly after (modstamp, id) of the last row seen.
    text = (
        "SELECT LastName FROM Lead WHERE SystemModstamp > 2024-05-01T10:22:31.000Z "
        f"OR (SystemModstamp = 2024-05-01T10:22:31.000Z AND Id > '{LEAD_IDS['A']}') "
        "ORDER BY SystemModstamp ASC, Id ASC LIMIT 1"
    )
    assert last_names(text) == ["Brown"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("SystemModstamp = TODAY", ["Cole"]),
        ("SystemModstamp = YESTERDAY", ["Adams", "Brown"]),
        ("SystemModstamp < TODAY", ["Adams", "Brown", "Evans"]),
        ("SystemModstamp > YESTERDAY", ["Cole"]),
        ("SystemModstamp = LAST_N_DAYS:1", ["Adams", "Brown", "Cole"]),
        ("SystemModstamp >= LAST_N_DAYS:2", ["Adams", "Brown", "Cole", "Evans"]),
        ("ConvertedDate = TODAY", ["Cole"]),
        ("ConvertedDate = TOMORROW", []),
    ],
)
def test_date_literals(where: str, expected: list[str]) -> None:
    now = datetime(2024, 5, 2, 15, 0, tzinfo=UTC)
    assert last_names(f"SELECT LastName FROM Lead WHERE {where}", now=now) == expected


# --- ordering and paging -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("NumberOfEmployees", ["Brown", "Cole", "Cole2", "Adams", "Evans"]),
        ("NumberOfEmployees ASC NULLS LAST", ["Cole", "Cole2", "Adams", "Evans", "Brown"]),
        ("NumberOfEmployees DESC", ["Evans", "Adams", "Cole", "Cole2", "Brown"]),
        ("NumberOfEmployees DESC NULLS FIRST", ["Brown", "Evans", "Adams", "Cole", "Cole2"]),
        ("Status, LastName DESC", ["Evans", "Cole", "Cole2", "Adams", "Brown"]),
        (
            "Status DESC NULLS LAST, NumberOfEmployees DESC",
            ["Brown", "Adams", "Cole", "Cole2", "Evans"],
        ),
        ("Company", ["Evans", "Cole", "Cole2", "Adams", "Brown"]),
    ],
)
def test_order_by_multi_key_with_nulls(order_by: str, expected: list[str]) -> None:
    # A second "Converted" lead makes Status ties; its FirstName tells the two Coles apart.
    source = DictSource()
    twin = _lead(
        "Cole",
        FirstName="Twin",
        Status="Converted",
        Company="100% Fun_Co",
        NumberOfEmployees=5,
        SystemModstamp="2024-05-03T00:00:00.000+0000",
    )
    source.tables = {**source.tables, "Lead": [*LEADS, twin]}
    records = execute(
        parse(f"SELECT LastName, FirstName FROM Lead ORDER BY {order_by}"), source
    ).records
    names = [r["LastName"] + ("2" if r["FirstName"] == "Twin" else "") for r in records]
    assert names == expected


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("LIMIT 2", ["Adams", "Brown"]),
        ("LIMIT 2 OFFSET 1", ["Brown", "Cole"]),
        ("OFFSET 3", ["Evans"]),
        ("LIMIT 0", []),
        ("OFFSET 10", []),
    ],
)
def test_limit_and_offset(clause: str, expected: list[str]) -> None:
    result = run(f"SELECT LastName FROM Lead ORDER BY LastName {clause}")
    assert [r["LastName"] for r in result.records] == expected
    assert result.total_size == len(expected)


# --- relationships -------------------------------------------------------------------------


def test_relationship_fields_come_back_nested_or_null() -> None:
    records = run(
        "SELECT LastName, Owner.Email, Owner.Name, ConvertedContact.Email, Partner__r.LastName "
        "FROM Lead WHERE LastName IN ('Cole', 'Evans') ORDER BY LastName"
    ).records
    user_url = f"/services/data/v59.0/sobjects/User/{USER_ANN}"
    contact_url = f"/services/data/v59.0/sobjects/Contact/{CONTACT_CID}"
    assert records[0]["Owner"] == {
        "attributes": {"type": "User", "url": user_url},
        "Email": "ann.owner@example.com",
        "Name": "Ann Owner",
    }
    assert records[0]["ConvertedContact"] == {
        "attributes": {"type": "Contact", "url": contact_url},
        "Email": "cid@example.com",
    }
    assert records[0]["Partner__r"]["LastName"] == "Cole"
    assert list(records[0]) == ["attributes", "LastName", "Owner", "ConvertedContact", "Partner__r"]
    assert records[1]["Owner"] is None
    assert records[1]["ConvertedContact"] is None


def test_columns_are_canonical_dotted_paths_in_select_order() -> None:
    result = run("SELECT lastname, owner.EMAIL, Id, LastName FROM Lead LIMIT 1")
    assert result.columns == ["LastName", "Owner.Email", "Id"]


def test_two_hop_relationship_select_and_filter() -> None:
    records = run(
        "SELECT LastName, owner.manager.email FROM Lead "
        "WHERE Owner.Manager.Email = 'BOB.owner@example.com'"
    ).records
    assert [r["LastName"] for r in records] == ["Adams", "Cole"]
    assert records[0]["Owner"]["Manager"]["Email"] == "bob.owner@example.com"
    assert records[0]["Owner"]["attributes"]["type"] == "User"


def test_relationship_filter_and_order() -> None:
    assert last_names(
        "SELECT LastName FROM Lead WHERE Owner.Email LIKE 'bob%' OR Owner.Name = null "
        "ORDER BY Owner.Name DESC, LastName"
    ) == ["Brown", "Evans"]


def test_object_name_may_prefix_a_field() -> None:
    assert last_names("SELECT Lead.LastName FROM Lead WHERE Lead.LastName = 'Cole'") == ["Cole"]


def test_fields_all_expands_to_every_field() -> None:
    record = run("SELECT FIELDS(ALL) FROM Lead WHERE LastName = 'Adams' LIMIT 1").records[0]
    assert list(record)[1:] == [field["name"] for field in DESCRIBES["Lead"]]
    custom = run("SELECT FIELDS(CUSTOM) FROM Lead LIMIT 1").records[0]
    assert list(custom)[1:] == ["Score__c", "Partner__c"]


# --- errors --------------------------------------------------------------------------------


def test_unknown_field_is_invalid_field_with_salesforce_caret_message() -> None:
    error = soql_error("SELECT Foo FROM Lead")
    assert error.code == "INVALID_FIELD"
    assert error.status == 400
    assert error.message == (
        "\nSELECT Foo FROM Lead\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Foo' on entity 'Lead'. If you are attempting to use a custom field, be "
        "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )
    assert error.rest_body() == [{"message": error.message, "errorCode": "INVALID_FIELD"}]
    assert isinstance(error, SalesforceError)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("SELECT Id FROM Lead WHERE Bogus = 1", "No such column 'Bogus' on entity 'Lead'"),
        ("SELECT Id FROM Lead ORDER BY Bogus", "No such column 'Bogus' on entity 'Lead'"),
        ("SELECT Owner.Bogus FROM Lead", "No such column 'Bogus' on entity 'User'"),
        ("SELECT Bogus.Email FROM Lead", "Didn't understand relationship 'Bogus' in field path"),
        (
            "SELECT Id FROM Lead WHERE SystemModstamp > '2024-05-01'",
            "value of filter criterion for field 'SystemModstamp' must be of type dateTime and "
            "should not be enclosed in quotes",
        ),
        ("SELECT Id FROM Lead WHERE SystemModstamp > 2024-05-01", "must be of type dateTime"),
        ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "must be of type integer"),
        ("SELECT Id FROM Lead WHERE IsConverted = 'true'", "must be of type boolean"),
        ("SELECT Id FROM Lead WHERE ConvertedDate = 2024-05-02T00:00:00Z", "must be of type date"),
        (
            "SELECT Id FROM Lead WHERE LastName = 5",
            "must be of type string and should be enclosed in quotes",
        ),
    ],
)
def test_field_errors(text: str, fragment: str) -> None:
    error = soql_error(text)
    assert error.code == "INVALID_FIELD"
    assert fragment in error.message
    assert "ERROR at Row:1:Column:" in error.message


def test_unknown_object_is_invalid_type() -> None:
    error = soql_error("SELECT Id FROM Foo")
    assert error.code == "INVALID_TYPE"
    assert error.message.endswith(
        "ERROR at Row:1:Column:16\nsObject type 'Foo' is not supported. If you are attempting to "
        "use a custom object, be sure to append the '__c' after the entity name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )


@pytest.mark.parametrize(
    ("text", "message_end"),
    [
        (
            "SELECT Id FROM Lead WHERE LastName = 'O'Brien'",
            "ERROR at Row:1:Column:41\nunexpected token: 'Brien'",
        ),
        ("SELECT Id FROM Lead WHERE", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM", "unexpected token: '<EOF>'"),
        ("SELECT Id Lead", "unexpected token: 'Lead'"),
        ("SELECT FROM Lead", "Column:8\nunexpected token: 'FROM'"),
        ('SELECT Id FROM Lead WHERE LastName = "x"', "unexpected token: '\"x\"'"),
        ("SELECT Id FROM Lead LIMIT 5 WHERE LastName = 'x'", "unexpected token: 'WHERE'"),
        ("SELECT Id FROM Lead WHERE SystemModstamp > 2024-05-01T10:22:31", "unexpected token:"),
        ("SELECT Id, COUNT() FROM Lead", "Column:12\nCOUNT() cannot be combined with other fields"),
        ("SELECT Id FROM Lead WHERE LastName = 'a\\qb'", "Illegal character sequence '\\q'"),
        ("SELECT Id FROM Lead WHERE SystemModstamp = SOMEDAY", "unexpected token: 'SOMEDAY'"),
        ("SELECT FIELDS(ALL) FROM Lead", "must have a LIMIT of at most 200"),
        ("", "SOQL statements cannot be empty or null"),
        ("SELECT Id FROM Lead WHERE ConvertedDate = 2024-02-30", "Invalid date: 2024-02-30"),
        ("SELECT Id FROM Lead WHERE SystemModstamp > 2024-13-01T00:00:00Z", "Invalid datetime"),
        ("SELECT COUNT(Id) FROM Lead", "aggregate functions other than COUNT()"),
        ("SELECT Id FROM Lead WHERE SystemModstamp > LAST_N_DAYS", "unexpected token"),
    ],
)
def test_malformed_queries(text: str, message_end: str) -> None:
    error = soql_error(text)
    assert error.code == "MALFORMED_QUERY"
    assert message_end in error.message


def test_malformed_query_points_at_the_offending_token_on_its_line() -> None:
    error = soql_error("SELECT Id\nFROM Lead\nWHERE LastName == 'x'")
    assert error.message == (
        "\nWHERE LastName == 'x'\n                ^\n"
        "ERROR at Row:3:Column:17\nunexpected token: '='"
    )


@pytest.mark.parametrize(
    "text",
    [
        "SELECT Id FROM Lead WHERE Id = 'not-an-id'",
        "SELECT Id FROM Lead WHERE OwnerId IN ('005000000000001AAA', 'short')",
        "SELECT Id FROM Lead WHERE NumberOfEmployees LIKE '5%'",
        "SELECT Id FROM Lead WHERE IsConverted > false",
    ],
)
def test_invalid_filter_operator(text: str) -> None:
    assert soql_error(text).code == "INVALID_QUERY_FILTER_OPERATOR"


def test_offset_over_2000_is_number_outside_valid_range() -> None:
    error = soql_error("SELECT Id FROM Lead OFFSET 2001")
    assert (error.code, error.message) == (
        "NUMBER_OUTSIDE_VALID_RANGE",
        "Maximum SOQL offset allowed is 2000",
    )
    assert run("SELECT Id FROM Lead OFFSET 2000").records == []


def test_salesforce_error_shapes() -> None:
    error = SalesforceError(
        "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]
    ).add("STRING_TOO_LONG", "Company: data value too large")
    assert error.status == 400
    assert error.rest_body() == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        },
        {"message": "Company: data value too large", "errorCode": "STRING_TOO_LONG"},
    ]
    assert error.record_errors() == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        },
        {"statusCode": "STRING_TOO_LONG", "message": "Company: data value too large", "fields": []},
    ]
    combined = SoqlError.combine([SoqlError("INVALID_FIELD", "a"), SoqlError("INVALID_TYPE", "b")])
    assert [item["errorCode"] for item in combined.rest_body()] == ["INVALID_FIELD", "INVALID_TYPE"]
