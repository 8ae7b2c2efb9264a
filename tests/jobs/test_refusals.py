"""One bad field does not block the record: write_dropping_refused against the memory CRM.

What a user would see in the CRM (the records and the fields they hold), what each result
says, and the calls it cost: one write, plus one for every batch holding refused records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from connectors.base import OutboundRecord, WriteResult, WriteStatus
from connectors.errors import ErrorKind
from connectors.memory import MemoryConnector, MemoryStore
from jobs.refusals import write_dropping_refused

SCHEMA = {"Lead": {"fields": {
    "Rating__c": {"type": "string", "updateable": False, "createable": False},
    "Employees__c": {"type": "integer"},
}}}


@pytest.fixture
def crm() -> Iterator[MemoryConnector]:
    connector = MemoryConnector("crm", {"store": MemoryStore(), "schema": SCHEMA,
                                        "max_batch_size": 3})
    yield connector
    connector.close()


def lead(ref: str, **fields: Any) -> OutboundRecord:
    return OutboundRecord(ref, None, {"LastName": ref.title(), "Company": "Navy", **fields})


def write(crm: MemoryConnector, records: Sequence[OutboundRecord], **options: Any
          ) -> tuple[list[WriteResult], int]:
    before = crm.api_calls
    results = write_dropping_refused(crm, "Lead", records, **options)
    return results, crm.api_calls - before


def stored(crm: MemoryConnector, key: str | None) -> dict[str, Any]:
    assert key is not None
    row = crm.store.get("Lead", key)
    assert row is not None
    return row


def test_refused_records_go_again_without_the_field_in_one_call(crm: MemoryConnector) -> None:
    records = [
        lead("ada", Phone="555-0100"),
        lead("grace", LeadSource="call after 5pm", Phone="555-0101"),
        lead("alan", Title="x" * 129, Employees__c="many", Country="UK"),
        lead("edsger", Email="not-an-email"),
    ]
    results, calls = write(crm, records)

    # Four records are two write calls of at most three; the three refused ones, one more.
    assert calls == 2 + 1
    assert [r.ref for r in results] == ["ada", "grace", "alan", "edsger"]
    assert [r.status for r in results] == [WriteStatus.CREATED] * 4
    assert [r.refused_fields for r in results] == [
        [], ["LeadSource"], ["Title", "Employees__c"], ["Email"]]
    picklist = results[1].refused[0]
    assert (picklist.code, picklist.value, picklist.message) == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "call after 5pm",
        "LeadSource: bad value for restricted picklist field: call after 5pm")
    assert picklist.picklist is not None and "Web" in picklist.picklist.allowed
    assert results[2].refused[0].message.startswith("Title: data value too large: xxx")
    # In the CRM: every record, with its other fields, and none of the refused values.
    grace = stored(crm, results[1].key)
    assert (grace["Phone"], grace.get("LeadSource")) == ("555-0101", None)
    alan = stored(crm, results[2].key)
    assert (alan["Country"], alan.get("Title"), alan.get("Employees__c")) == ("UK", None, None)
    assert crm.store.count("Lead") == 4


def test_a_create_refused_a_required_field_fails_after_its_one_resend(
    crm: MemoryConnector,
) -> None:
    results, calls = write(crm, [lead("alan", Company="x" * 256)])

    assert calls == 2
    [result] = results
    assert result.status is WriteStatus.FAILED
    assert result.error is not None and result.error.code == "REQUIRED_FIELD_MISSING"
    assert crm.store.count("Lead") == 0


def test_a_batch_without_refusals_costs_one_call(crm: MemoryConnector) -> None:
    results, calls = write(crm, [lead("ada"), lead("grace")])
    assert calls == 1
    assert all(r.ok and not r.refused for r in results)


def test_a_record_at_fault_itself_fails_whole_and_is_not_resent(crm: MemoryConnector) -> None:
    # No LastName (required: the record's own fault) and a bad picklist value besides.
    nameless = OutboundRecord("nameless", None, {"Company": "Navy", "LeadSource": "Fax"})
    results, calls = write(crm, [nameless, lead("ada")])

    assert calls == 1
    assert results[0].status is WriteStatus.FAILED and results[0].refused == ()
    assert results[0].error is not None and results[0].error.code == "REQUIRED_FIELD_MISSING"
    assert crm.store.count("Lead") == 1


def test_a_read_only_field_is_left_out_of_an_update(crm: MemoryConnector) -> None:
    key = crm.store.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    update = OutboundRecord("grace", key, {"Title": "RADM", "Rating__c": "Hot"})
    [result], calls = write(crm, [update])

    assert calls == 2
    assert (result.status, result.key, result.refused_fields) == (
        WriteStatus.UPDATED, key, ["Rating__c"])
    assert result.refused[0].code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert stored(crm, key)["Title"] == "RADM"


def test_an_update_left_with_nothing_to_write_is_not_resent(crm: MemoryConnector) -> None:
    key = crm.store.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    version = crm.store.version("Lead", key)
    only_bad = OutboundRecord("grace", key, {"LeadSource": "call after 5pm"}, if_match=version)
    [result], calls = write(crm, [only_bad])

    assert calls == 1
    # Nothing was written: the version the update was based on is still the record's.
    assert (result.status, result.key, result.version, result.refused_fields) == (
        WriteStatus.UNCHANGED, key, version, ["LeadSource"])
    assert crm.store.version("Lead", key) == version
    assert stored(crm, key).get("LeadSource") is None


def test_fail_record_keeps_todays_behaviour(crm: MemoryConnector) -> None:
    results, calls = write(crm, [lead("grace", LeadSource="call after 5pm"), lead("ada")],
                           on_field_error="fail_record")

    assert calls == 1
    assert [r.status for r in results] == [WriteStatus.FAILED, WriteStatus.CREATED]
    error = results[0].error
    assert error is not None and error.kind is ErrorKind.VALIDATION
    assert crm.store.count("Lead") == 1


def test_the_resend_keeps_the_version_it_is_based_on(crm: MemoryConnector) -> None:
    key = crm.store.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    version = crm.store.version("Lead", key)
    update = OutboundRecord("grace", key, {"Title": "RADM", "LeadSource": "Fax"},
                            if_match=version, expected={"Title": None, "LeadSource": None})
    sent: list[list[OutboundRecord]] = []
    write_batch = crm.write

    def write_and_let_a_rep_edit(object_name: str, records: Sequence[OutboundRecord]
                                 ) -> list[WriteResult]:
        sent.append(list(records))
        results = write_batch(object_name, records)
        if len(sent) == 1:  # between the two calls, a sales rep edits the record
            crm.store.update("Lead", key, {"Phone": "555-0199"})
        return results

    crm.write = write_and_let_a_rep_edit  # type: ignore[method-assign]
    [result], _ = write(crm, [update])

    [resent] = sent[1]
    assert (resent.if_match, resent.expected, dict(resent.fields)) == (
        version, {"Title": None}, {"Title": "RADM"})
    # The rep's edit came after the version the update was based on: no silent overwrite.
    assert result.status is WriteStatus.FAILED
    assert result.error is not None and result.error.kind is ErrorKind.CONFLICT
    assert stored(crm, key).get("Title") is None


def test_a_stale_record_is_a_conflict_and_never_resent(crm: MemoryConnector) -> None:
    key = crm.store.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    version = crm.store.version("Lead", key)
    crm.store.update("Lead", key, {"Phone": "555-0199"})
    stale = OutboundRecord("grace", key, {"LeadSource": "Fax", "Title": "RADM"},
                           if_match=version)
    [result], calls = write(crm, [stale])

    assert calls == 1
    assert result.error is not None and result.error.kind is ErrorKind.CONFLICT
    assert result.refused == ()
