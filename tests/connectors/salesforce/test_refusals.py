"""Fields Salesforce refuses, named by the connector and left out by one resend per batch.

Against the SalesforceSandbox over its real wire formats: Collections results, the 400 a
text in a number field gets for the whole request, and Bulk API 2.0 failedResults CSV.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from connectors.base import OutboundRecord, WriteResult, WriteStatus
from connectors.salesforce import SalesforceConnector
from jobs.refusals import write_dropping_refused
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.connectors.salesforce.sandbox_remote import sandbox_settings

READ_ONLY = (
    "Unable to create/update fields: IsConverted. Please check the security settings of this "
    "field and verify that it is read/write for your profile or permission set."
)


class Counted:
    """The connector, with the API calls of each of its write batches noted."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.connector = connector
        self.batches: list[tuple[int, int]] = []  # (records, API calls)

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        before = self.connector.api_calls
        results = self.connector.write(object_name, records)
        self.batches.append((len(records), self.connector.api_calls - before))
        return results


@pytest.fixture
def crm(sandbox: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    connector = SalesforceConnector("crm", sandbox_settings(sandbox, bulk_threshold=4))
    connector.describe(["Lead"])  # the hints' describe, cached: calls below are writes only
    yield connector
    connector.close()


def lead(ref: str, **fields: Any) -> OutboundRecord:
    return OutboundRecord(ref, None, {"LastName": ref.title(), "Company": "Navy", **fields},
                          external_id=("Syncline_Id__c", f"hub-{ref}"))


def stored(sandbox: SalesforceSandbox, result: WriteResult) -> dict[str, Any]:
    with sandbox.state.org_lock:
        return sandbox.org.get("Lead", result.key or "")


def test_collections_refusals_are_resent_once_without_their_fields(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    counted = Counted(crm)
    results = write_dropping_refused(counted, "Lead", [  # type: ignore[arg-type]
        lead("ada", Phone="555-0100"),
        lead("grace", LeadSource="call after 5pm", Phone="555-0101"),
        lead("alan", Email="not-an-email", Title="Dr", IsConverted=True),
    ])

    # Three records are one Collections call; the two refused ones, one more.
    assert counted.batches == [(3, 1), (2, 1)]
    assert [r.status for r in results] == [WriteStatus.CREATED] * 3
    assert [r.refused_fields for r in results] == [[], ["LeadSource"], ["IsConverted", "Email"]]
    picklist = results[1].refused[0]
    assert (picklist.code, picklist.message, picklist.value) == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Lead Source: bad value for restricted picklist field: call after 5pm", "call after 5pm")
    assert picklist.hint is not None and "value_map" in picklist.hint
    read_only, email = results[2].refused
    assert (read_only.code, read_only.message) == ("INVALID_FIELD_FOR_INSERT_UPDATE", READ_ONLY)
    assert (email.code, email.message) == (
        "INVALID_EMAIL_ADDRESS", "Email: invalid email address: not-an-email")
    grace, alan = stored(sandbox, results[1]), stored(sandbox, results[2])
    assert (grace["Phone"], grace["LeadSource"]) == ("555-0101", None)
    assert (alan["Title"], alan["Email"], alan["IsConverted"]) == ("Dr", None, False)


def test_a_text_in_a_number_field_fails_its_record_not_the_request(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    counted = Counted(crm)
    results = write_dropping_refused(counted, "Lead", [  # type: ignore[arg-type]
        lead("ada"), lead("grace", NumberOfEmployees="many", Title="RADM"), lead("alan")])

    # The request refused whole, the two others again, then grace without the number.
    assert counted.batches == [(3, 2), (1, 1)]
    assert [r.status for r in results] == [WriteStatus.CREATED] * 3
    [refusal] = results[1].refused
    assert (refusal.field, refusal.code, refusal.value) == (
        "NumberOfEmployees", "JSON_PARSER_ERROR", "many")
    assert refusal.message.startswith(
        "Cannot deserialize instance of int from VALUE_STRING value many or request may be "
        "missing a required field at [line:1, column:")
    assert stored(sandbox, results[1])["Title"] == "RADM"


def test_bulk_failed_results_name_the_fields_and_the_resend_is_one_call(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    counted = Counted(crm)
    records = [lead("ada"), lead("grace", LeadSource="call after 5pm"),
               lead("alan", Title="x" * 129, Phone="555-0102"),
               lead("edsger", Email="not-an-email")]
    results = write_dropping_refused(counted, "Lead", records)  # type: ignore[arg-type]

    # Four records are one Bulk job (several calls); the three refused ones, one Collections.
    assert [size for size, _ in counted.batches] == [4, 3]
    assert counted.batches[1][1] == 1
    assert [r.status for r in results] == [WriteStatus.CREATED] * 4
    assert [r.refused_fields for r in results] == [[], ["LeadSource"], ["Title"], ["Email"]]
    assert results[2].refused[0].message == (
        f"Title: data value too large: {'x' * 129} (max length=128)")
    assert stored(sandbox, results[2])["Phone"] == "555-0102"


def test_bulk_rows_a_number_field_cannot_read_are_named_too(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    records = [lead(name) for name in ("ada", "grace", "alan")]
    records.append(lead("edsger", NumberOfEmployees="many", Phone="555-0103"))
    results = write_dropping_refused(crm, "Lead", records)

    assert [r.status for r in results] == [WriteStatus.CREATED] * 4
    [refusal] = results[3].refused
    assert (refusal.field, refusal.code) == ("NumberOfEmployees", "INVALID_FIELD")
    assert refusal.message.startswith("Failed to deserialize field at col ")
    assert refusal.message.endswith("Due to, 'many' is not a valid value for the type xsd:int")
    assert stored(sandbox, results[3])["Phone"] == "555-0103"


def test_an_update_resent_is_checked_against_its_version_again(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    [created] = crm.write("Lead", [lead("grace")])
    assert created.version is not None
    update = OutboundRecord("grace", created.key, {"Title": "RADM", "LeadSource": "Fax"},
                            if_match=created.version, expected={"Title": None})
    counted = Counted(crm)
    [result] = write_dropping_refused(counted, "Lead", [update])  # type: ignore[arg-type]

    # Each attempt: the version check (one query) and the write.
    assert counted.batches == [(1, 2), (1, 2)]
    assert (result.status, result.refused_fields) == (WriteStatus.UPDATED, ["LeadSource"])
    assert stored(sandbox, result)["Title"] == "RADM"
