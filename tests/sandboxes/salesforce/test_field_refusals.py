"""Refusals of one field, as Salesforce words and shapes them on each API a client writes with.

Collections results carry ``statusCode``, ``message`` and ``fields`` per record (HTTP 200);
single-record calls answer a 400 list of ``errorCode``/``message``/``fields``; a value the
JSON reader cannot read fails the whole request with JSON_PARSER_ERROR and no ``fields``;
Bulk API 2.0 lists failed rows as ``"sf__Id","sf__Error",<uploaded columns>`` with
``CODE:message:Field --`` cells.
"""

from __future__ import annotations

import json
import re

import pytest

from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandboxes.salesforce.test_app import Api, new_lead
from tests.sandboxes.salesforce.test_bulk import Bulk

READ_ONLY = (
    "Unable to create/update fields: IsConverted. Please check the security settings of this "
    "field and verify that it is read/write for your profile or permission set."
)


@pytest.fixture
def api(sandbox: SalesforceSandbox) -> Api:
    return Api(sandbox)


def lead(**fields: object) -> dict:
    return {"attributes": {"type": "Lead"}, "LastName": "Hopper", "Company": "Navy", **fields}


def count_leads(api: Api) -> int:
    return api.get("query", params={"q": "SELECT COUNT() FROM Lead"}).json()["totalSize"]


def test_collections_name_the_refused_field_of_each_record(api: Api) -> None:
    long_company = "x" * 256
    response = api.post("composite/sobjects", json={"allOrNone": False, "records": [
        lead(Company=long_company),
        lead(LeadSource="call after 5pm"),
        lead(Email="not-an-email"),
        lead(IsConverted=True),
        lead(Email="grace@example.com"),
    ]})

    assert response.status_code == 200
    results = response.json()
    assert [result["success"] for result in results] == [False] * 4 + [True]
    assert [result["errors"] for result in results[:4]] == [
        [{"statusCode": "STRING_TOO_LONG", "fields": ["Company"],
          "message": f"Company: data value too large: {long_company} (max length=255)"}],
        [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["LeadSource"],
          "message": "Lead Source: bad value for restricted picklist field: call after 5pm"}],
        [{"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
          "message": "Email: invalid email address: not-an-email"}],
        [{"statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["IsConverted"],
          "message": READ_ONLY}],
    ]
    assert count_leads(api) == 1


def test_a_read_only_field_in_a_single_update_is_a_400_list(api: Api) -> None:
    record_id = new_lead(api)
    response = api.patch(f"sobjects/Lead/{record_id}", json={"IsConverted": True})
    assert response.status_code == 400
    assert response.json() == [{"message": READ_ONLY,
                                "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                                "fields": ["IsConverted"]}]


def test_a_text_in_a_number_field_refuses_the_whole_collections_request(api: Api) -> None:
    body = json.dumps({"allOrNone": False, "records": [
        lead(Email="a@example.com"), lead(NumberOfEmployees="many"), lead()]})
    response = api.post("composite/sobjects", data=body,
                        headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    [error] = response.json()
    assert set(error) == {"message", "errorCode"}  # no "fields": the reader names none
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    # The place is where the value ends in the body as sent.
    end = body.index('"many"') + len('"many"')
    assert error["message"] == (
        "Cannot deserialize instance of int from VALUE_STRING value many or request may be "
        f"missing a required field at [line:1, column:{end + 1}]")
    assert count_leads(api) == 0


def test_unreadable_dates_and_checkboxes_refuse_single_writes_too(api: Api) -> None:
    record_id = new_lead(api)
    date = api.post("sobjects/Campaign", json={"Name": "Spring", "StartDate": "1 March"})
    checkbox = api.patch(f"sobjects/Lead/{record_id}", json={"HasOptedOutOfEmail": "perhaps"})
    numeric_text = api.patch(f"sobjects/Lead/{record_id}", json={"NumberOfEmployees": "250"})

    assert (date.status_code, checkbox.status_code, numeric_text.status_code) == (400, 400, 204)
    assert re.fullmatch(r"Cannot deserialize instance of date from VALUE_STRING value 1 March "
                        r"or request may be missing a required field at \[line:1, column:\d+\]",
                        date.json()[0]["message"])
    assert checkbox.json()[0]["message"].startswith(
        "Cannot deserialize instance of boolean from VALUE_STRING value perhaps ")


def test_bulk_failed_rows_name_the_refused_field(sandbox: SalesforceSandbox) -> None:
    bulk = Bulk(sandbox)
    text = ("LastName,NumberOfEmployees,Company,LeadSource,Email\n"
            "A,12,Navy,Web,a@example.com\n"
            "B,many,Navy,Web,b@example.com\n"
            f"C,12,{'x' * 256},Web,c@example.com\n"
            "D,12,Navy,call after 5pm,d@example.com\n"
            "E,12,Navy,Web,not-an-email\n")
    job_id, info = bulk.run_ingest(text, object="Lead", operation="insert")
    failures = {row["LastName"]: row for row in bulk.results(job_id, "failedResults")}
    successes = bulk.results(job_id, "successfulResults")

    assert info["numberRecordsFailed"] == 4
    assert [row["LastName"] for row in successes] == ["A"]
    assert list(failures["B"])[:2] == ["sf__Id", "sf__Error"]
    assert {name: row["sf__Error"] for name, row in failures.items()} == {
        "B": "INVALID_FIELD:Failed to deserialize field at col 2. Due to, 'many' is not a valid "
             "value for the type xsd:int:NumberOfEmployees --",
        "C": f"STRING_TOO_LONG:Company: data value too large: {'x' * 256} (max length=255)"
             ":Company --",
        "D": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Lead Source: bad value for restricted "
             "picklist field: call after 5pm:LeadSource --",
        "E": "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --",
    }
    assert failures["B"]["sf__Id"] == ""  # an insert that failed has no id


def test_bulk_errors_naming_no_field_end_without_one(sandbox: SalesforceSandbox) -> None:
    bulk = Bulk(sandbox)
    job_id, _ = bulk.run_ingest("Id,Company\n00Q5e000000zzzzAAA,Ghost\n", object="Lead",
                                operation="update")
    [failure] = bulk.results(job_id, "failedResults")
    assert failure["sf__Error"].endswith(":--")
