"""Columns Dataverse refuses, named by the connector and left out by one resend per batch.

Against the DynamicsSandbox over ``$batch`` with continue-on-error: each refused record's
embedded 400, an option label no option has (refused before sending), a bad number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import OutboundRecord, WriteResult, WriteStatus
from connectors.dynamics import DynamicsConnector
from jobs.refusals import write_dropping_refused
from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.connectors.dynamics.sandbox_remote import sandbox_settings


@pytest.fixture
def crm(sandbox: DynamicsSandbox) -> Iterator[DynamicsConnector]:
    connector = DynamicsConnector("crm", sandbox_settings(sandbox))
    connector.describe(["lead"])  # metadata, cached: the calls below are writes only
    yield connector
    connector.close()


def lead(ref: str, **columns: Any) -> OutboundRecord:
    return OutboundRecord(ref, None, {"lastname": ref.title(), "subject": "Compilers",
                                      **columns})


def stored(sandbox: DynamicsSandbox, result: WriteResult) -> dict[str, Any]:
    return sandbox.env.get("lead", result.key or "")


def test_refused_columns_are_left_out_in_one_more_batch(
    sandbox: DynamicsSandbox, crm: DynamicsConnector
) -> None:
    before = crm.api_calls
    results = write_dropping_refused(crm, "lead", [
        lead("ada", jobtitle="Countess"),
        lead("grace", companyname="x" * 101, jobtitle="RADM"),
        lead("alan", leadsourcecode="call after 5pm", jobtitle="Dr"),
        lead("edsger", numberofemployees="many", jobtitle="Prof"),
    ])

    assert crm.api_calls - before == 2  # the batch, then one batch of the three refused
    assert [r.status for r in results] == [WriteStatus.CREATED] * 4
    assert [r.refused_fields for r in results] == [
        [], ["companyname"], ["leadsourcecode"], ["numberofemployees"]]
    too_long = results[1].refused[0]
    assert (too_long.code, too_long.message) == (
        "0x80044331",
        "A validation error occurred.  The length of the 'companyname' attribute of the "
        "'lead' entity exceeded the maximum allowed length of '100'.")
    option = results[2].refused[0]
    assert option.picklist is not None and "Advertisement" in option.picklist.allowed
    assert option.hint is not None and "value_map" in option.hint
    number = results[3].refused[0]
    assert number.code == "0x80048d19"
    assert number.message.endswith(
        "Cannot convert the literal 'many' to the expected type 'Edm.Int32'.")
    rows = [stored(sandbox, result) for result in results]
    assert [row["jobtitle"] for row in rows] == ["Countess", "RADM", "Dr", "Prof"]
    assert (rows[1]["companyname"], rows[2]["leadsourcecode"],
            rows[3]["numberofemployees"]) == (None, None, None)


def test_an_update_resent_keeps_its_row_version(
    sandbox: DynamicsSandbox, crm: DynamicsConnector
) -> None:
    [created] = crm.write("lead", [lead("grace")])
    update = OutboundRecord("grace", created.key, {"jobtitle": "RADM",
                                                   "companyname": "x" * 101},
                            if_match=created.version)
    [result] = write_dropping_refused(crm, "lead", [update])
    assert (result.status, result.refused_fields) == (WriteStatus.UPDATED, ["companyname"])
    assert stored(sandbox, result)["jobtitle"] == "RADM"
    # Someone else's edit since that version: the resend is refused, never overwrites.
    sandbox.env.update("lead", created.key or "", {"jobtitle": "Rear Admiral"})
    stale = OutboundRecord("grace", created.key, {"jobtitle": "X", "companyname": "x" * 101},
                           if_match=result.version)
    [conflict] = write_dropping_refused(crm, "lead", [stale])
    assert conflict.status is WriteStatus.FAILED and conflict.refused == ()
    assert stored(sandbox, result)["jobtitle"] == "Rear Admiral"
