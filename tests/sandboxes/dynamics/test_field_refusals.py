"""Refusals of one column inside a ``$batch`` with continue-on-error, as Dataverse answers them.

Each embedded response of a refused record is ``HTTP/1.1 400`` with ``{"error": {"code",
"message"}}`` and the rest of the batch goes through (the batch itself answers 200). Too long:
StringLengthTooLong 0x80044331 naming the attribute, as "Execute batch operations" shows it;
an option no option set has: PicklistValueOutOfRange 0x8004431a; a value the column's type
cannot hold: ODataClientPayloadError 0x80048d19 with the OData reader's words. A read-only
column is ignored (the SDK reference: "If the target contains values for attributes that are
not valid for update, they are ignored"), and Dataverse checks no email format.
"""

from __future__ import annotations

import pytest
import requests

from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.sandboxes.dynamics.test_batch import API, BatchClient, http_part, read_batch_response

CONTINUE = "odata.continue-on-error"


@pytest.fixture
def client(sandbox: DynamicsSandbox) -> BatchClient:
    return BatchClient(sandbox)


def lead(**columns: object) -> dict:
    return {"lastname": "Hopper", "subject": "Compilers", **columns}


def test_each_refused_record_answers_its_own_400_and_the_rest_go_through(
    client: BatchClient,
) -> None:
    response = client.send(
        http_part("POST", f"{API}/leads", lead(companyname="x" * 101)),
        http_part("POST", f"{API}/leads", lead(leadsourcecode=99)),
        http_part("POST", f"{API}/leads", lead(numberofemployees="many")),
        http_part("POST", f"{API}/leads", lead(lastname="Lovelace")),
        prefer=CONTINUE,
    )

    assert response.status_code == 200
    parts = read_batch_response(response)
    assert [part.status for part in parts] == [400, 400, 400, 204]
    assert parts[0].json() == {"error": {
        "code": "0x80044331",
        "message": "A validation error occurred.  The length of the 'companyname' attribute of "
                   "the 'lead' entity exceeded the maximum allowed length of '100'."}}
    assert parts[1].json()["error"]["code"] == "0x8004431a"
    assert "'leadsourcecode'" in parts[1].json()["error"]["message"]
    payload = parts[2].json()["error"]
    assert payload["code"] == "0x80048d19"
    assert payload["message"].endswith(
        "Cannot convert the literal 'many' to the expected type 'Edm.Int32'.")
    assert [row["lastname"] for row in client.leads()] == ["Lovelace"]


def test_read_only_columns_are_ignored_and_emails_are_not_checked(
    sandbox: DynamicsSandbox, client: BatchClient,
) -> None:
    response = client.send(
        http_part("POST", f"{API}/leads", lead(fullname="Someone Else",
                                               emailaddress1="not-an-email")),
        prefer=CONTINUE,
    )
    [part] = read_batch_response(response)
    assert part.status == 204
    guid = part.headers["odata-entityid"].rsplit("(", 1)[1].rstrip(")")
    row = requests.get(f"{sandbox.api_url}/leads({guid})?$select=fullname,emailaddress1",
                       headers=client.headers).json()
    assert (row["fullname"], row["emailaddress1"]) == ("Hopper", "not-an-email")
