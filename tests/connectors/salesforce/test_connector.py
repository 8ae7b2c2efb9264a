"""What only Salesforce does: ties, conversions, merges, bulk jobs, campaign statuses, limits."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest

from connectors.base import Op, OutboundRecord, WriteStatus
from connectors.conformance import changes_of, read_all
from connectors.errors import ConnectorError, ErrorKind
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.schema import IN_LIST_BYTES, parse_datetime
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.connectors.salesforce.sandbox_remote import SandboxRemote, rep_id, sandbox_settings


@pytest.fixture
def crm(sandbox: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    connector = SalesforceConnector("crm", sandbox_settings(sandbox, bulk_threshold=5))
    yield connector
    connector.close()


@pytest.fixture
def remote(sandbox: SalesforceSandbox, crm: SalesforceConnector,
           monkeypatch: pytest.MonkeyPatch) -> SandboxRemote:
    return SandboxRemote(sandbox, crm, "Lead", monkeypatch)


def lead(i: int, **extra: Any) -> dict[str, Any]:
    return {"LastName": f"Hopper{i}", "Company": "Navy", "Email": f"grace{i}@example.com",
            **extra}


def test_ties_on_the_cursor_are_reread_never_missed(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, remote: SandboxRemote,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One transaction stamps all its records alike: freeze the org clock to make three.
    # (A day ahead: the org's stamps never go back, and setting it up stamped its users.)
    # SystemModstamp has whole seconds, as in Salesforce: the milliseconds are dropped.
    frozen = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=123000)
    monkeypatch.setattr(sandbox.org, "_clock", lambda: frozen)
    with sandbox.state.org_lock:
        keys = [sandbox.org.insert("Lead", lead(i)) for i in range(3)]
    remote.set_page_size(2)
    pages = read_all(crm, "Lead")
    assert [len(p.changes) for p in pages] == [2, 1]
    expected = frozen.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert pages[0].cursor == expected == pages[1].cursor
    again = changes_of(read_all(crm, "Lead", pages[0].cursor))
    assert sorted(c.key for c in again) == sorted(keys)
    assert all(c.modified_at == frozen.replace(microsecond=0) for c in again)


def test_cursor_is_inclusive_and_later_edits_follow(
    crm: SalesforceConnector, remote: SandboxRemote
) -> None:
    first, second = remote.seed([lead(1), lead(2)])
    cursor = read_all(crm, "Lead")[-1].cursor
    assert [c.key for c in changes_of(read_all(crm, "Lead", cursor))] == [second]
    remote.edit(first, {"Title": "Rear Admiral"})
    later = changes_of(read_all(crm, "Lead", cursor, fields=["Title"]))
    assert [(c.key, dict(c.fields)) for c in later][-1] == (
        first, {"Id": first, "Title": "Rear Admiral"})


def test_conversion_gives_the_contact_as_successor(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, remote: SandboxRemote
) -> None:
    [key] = remote.seed([lead(1)])
    with sandbox.state.org_lock:
        converted = sandbox.org.convert_lead(key, do_not_create_opportunity=True)
    [change] = [c for c in changes_of(read_all(crm, "Lead", fields=["Email"])) if c.key == key]
    assert change.op is Op.UPSERT
    assert change.successor == ("Contact", converted["contactId"])
    assert change.fields["Email"] == "grace1@example.com"


def test_lookup_never_finds_a_converted_lead(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, remote: SandboxRemote
) -> None:
    converted, live = remote.seed([lead(1), lead(2)])
    with sandbox.state.org_lock:
        sandbox.org.convert_lead(converted, do_not_create_opportunity=True)
    found = crm.lookup("Lead", "Email", ["GRACE1@example.com", "grace2@EXAMPLE.com"])
    assert [c.key for c in found] == [live]


def test_merge_gives_the_loser_a_successor(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, remote: SandboxRemote
) -> None:
    master, loser = remote.seed([lead(1), lead(2)])
    with sandbox.state.org_lock:
        sandbox.org.merge("Lead", master, [loser], user_id=rep_id(sandbox))
    changes = {c.key: c for c in changes_of(read_all(crm, "Lead"))}
    assert changes[loser].op is Op.DELETE and changes[loser].successor == ("Lead", master)
    assert changes[master].op is Op.UPSERT and changes[master].successor is None


def test_plain_delete_has_no_successor(crm: SalesforceConnector, remote: SandboxRemote) -> None:
    [key] = remote.seed([lead(1)])
    remote.delete(key)
    [change] = changes_of(read_all(crm, "Lead"))
    assert (change.key, change.op, change.successor, dict(change.fields)) == (
        key, Op.DELETE, None, {})


def test_bulk_path_gives_per_record_results_in_order(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    records = [OutboundRecord(f"r{i}", None, lead(i)) for i in range(6)]
    records[3] = OutboundRecord("r3", None, {"Company": "Navy", "Email": "nobody@example.com"})
    before = crm.api_calls
    results = crm.write("Lead", records)
    assert [r.ref for r in results] == [f"r{i}" for i in range(6)]
    assert [r.status for r in results] == [WriteStatus.CREATED] * 3 + [WriteStatus.FAILED] + [
        WriteStatus.CREATED] * 2
    failed = results[3].error
    assert failed is not None and (failed.kind, failed.code, failed.field) == (
        ErrorKind.VALIDATION, "REQUIRED_FIELD_MISSING", "LastName")
    with sandbox.state.org_lock:
        emails = {sandbox.org.get("Lead", r.key or "")["Email"] for r in results if r.ok}
    assert emails == {f"grace{i}@example.com" for i in (0, 1, 2, 4, 5)}
    # create, upload, close, at least one poll, three result files, one describe for the hint
    assert crm.api_calls - before >= 8


def test_bulk_upsert_matches_results_by_external_id(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    def batch(title: str) -> list[OutboundRecord]:
        return [OutboundRecord(f"h{i}", None, lead(i, Title=title),
                               external_id=("Syncline_Id__c", f"hub-{i}")) for i in range(5)]

    created = crm.write("Lead", batch("Ensign"))
    assert [r.status for r in created] == [WriteStatus.CREATED] * 5
    updated = crm.write("Lead", list(reversed(batch("Admiral"))))
    assert [r.status for r in updated] == [WriteStatus.UPDATED] * 5
    assert [r.key for r in updated] == [r.key for r in reversed(created)]
    with sandbox.state.org_lock:
        titles = {sandbox.org.get("Lead", r.key or "")["Title"] for r in created}
    assert titles == {"Admiral"}


def test_campaign_member_status_is_created_on_demand(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, remote: SandboxRemote
) -> None:
    [person] = remote.seed([lead(1)])
    with sandbox.state.org_lock:
        campaign = sandbox.org.insert("Campaign", {"Name": "Spring webinar"})
    member = OutboundRecord("m", None, {"CampaignId": campaign, "LeadId": person,
                                        "Status": "Attended"})
    [result] = crm.write("CampaignMember", [member])
    assert result.status is WriteStatus.CREATED, result.error
    with sandbox.state.org_lock:
        labels = [r["Label"] for r in sandbox.org.rows("CampaignMemberStatus", False)
                  if r["CampaignId"] == campaign]
        assert sandbox.org.get("CampaignMember", result.key or "")["Status"] == "Attended"
    assert labels.count("Attended") == 1


def test_row_locks_are_resent_once_within_the_write(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(crm.writer, "sleep", slept.append)
    sandbox.faults.inject("lock", 1)
    results = crm.write("Lead", [OutboundRecord(f"r{i}", None, lead(i)) for i in range(3)])
    assert all(r.status is WriteStatus.CREATED for r in results)
    assert len(slept) == 1
    sandbox.faults.inject("lock", 2)
    [stuck] = crm.write("Lead", [OutboundRecord("x", None, lead(9))])
    assert stuck.error is not None and stuck.error.kind is ErrorKind.TRANSIENT
    assert stuck.error.code == "UNABLE_TO_LOCK_ROW"


def test_usage_comes_from_the_responses(sandbox: SalesforceSandbox,
                                        crm: SalesforceConnector) -> None:
    assert crm.usage() is None  # nothing asked yet: no extra call to find out
    crm.check()
    crm.describe(["Lead"])
    usage = crm.usage()
    assert usage is not None
    assert (usage.used, usage.limit) == (sandbox.limits.used, sandbox.limits.daily_max)


def test_spent_daily_limit_is_rate_limited_without_short_retries(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.check()
    monkeypatch.setattr(sandbox.limits, "daily_max", sandbox.limits.used)
    slept: list[float] = []
    crm.retry = crm.retry.__class__(sleep=slept.append)
    with pytest.raises(ConnectorError) as info:
        crm.describe(["Lead"])
    error = info.value
    assert (error.kind, error.code, error.status) == (
        ErrorKind.RATE_LIMITED, "REQUEST_LIMIT_EXCEEDED", 403)
    assert "daily API limit" in error.message and slept == []
    assert error.retry_after is not None and error.retry_after >= 600


def test_unknown_field_and_cursor_are_config(crm: SalesforceConnector) -> None:
    with pytest.raises(ConnectorError) as info:
        crm.read_changes("Lead", None, fields=["Nope__c"])
    assert (info.value.kind, info.value.code) == (ErrorKind.CONFIG, "INVALID_FIELD")
    with pytest.raises(ConnectorError) as info:
        crm.read_changes("Lead", "yesterday")
    assert info.value.kind is ErrorKind.CONFIG


def test_describe_maps_types_and_required(crm: SalesforceConnector) -> None:
    lead_info = crm.describe(["Lead"])["Lead"]
    fields = lead_info.fields
    assert (lead_info.key_field, lead_info.cursor_field) == ("Id", "SystemModstamp")
    assert fields["LastName"].required and not fields["Email"].required
    assert not fields["OwnerId"].required  # defaulted on create
    assert fields["Score__c"].type == "number"
    assert fields["ConvertedContactId"].reference_to == ("Contact",)
    assert fields["Syncline_Id__c"].external_id


def test_ui_url_points_at_lightning(sandbox: SalesforceSandbox, crm: SalesforceConnector) -> None:
    crm.check()
    assert crm.ui_url("Lead", "00Q000000000001AAA") == (
        f"{sandbox.url}/lightning/r/Lead/00Q000000000001AAA/view")


def test_lookups_and_version_checks_fill_the_uri_but_never_pass_its_limit(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    """Salesforce refuses URIs over 16,384 bytes (414); fewer, fuller queries save calls."""
    emails = [f"a.rather.long.mailbox.name.{i:04d}@subsidiary.example.com" for i in range(1200)]
    with sandbox.state.org_lock:
        keys = [sandbox.org.insert("Lead", {"LastName": f"L{i}", "Company": "Navy",
                                            "Email": email})
                for i, email in enumerate(emails)]
    crm.describe(["Lead"])
    before = crm.api_calls
    found = crm.lookup("Lead", "Email", emails, fields=["Email"])
    assert len(found) == 1200
    lookups = crm.api_calls - before
    # as few queries as the URI allows (the sandbox answers 414 beyond 16,384 bytes, as
    # Salesforce does), where these long addresses fit fewer than 200 to a query
    encoded = sum(len(quote_plus(f"'{email}', ")) for email in emails)
    assert 1 < lookups <= math.ceil(encoded / IN_LIST_BYTES) + 1

    version = read_all(crm, "Lead")[-1].cursor
    with sandbox.state.org_lock:  # a sales rep edits one record after that version
        # (in a later second: within the version's own second the values decide, see below)
        sandbox.org.bump_clock(parse_datetime(version) + timedelta(seconds=1))
        sandbox.org.update("Lead", keys[7], {"Title": "Rear Admiral"}, user_id=rep_id(sandbox))
    collections = SalesforceConnector("crm", sandbox_settings(sandbox))  # no Bulk below 2,000
    collections.describe(["Lead"])
    before = collections.api_calls
    # The rep made all of them in the version's second: what they held then (no description)
    # is what these updates are based on, as the engine says with ``expected``.
    updates = [OutboundRecord(f"u{i}", key, {"Description": "checked"}, if_match=version,
                              expected={"Description": None})
               for i, key in enumerate(keys[:900])]
    results = collections.write("Lead", updates)
    checks_and_writes = collections.api_calls - before
    collections.close()
    assert [r.ref for r in results if not r.ok] == ["u7"]
    assert results[7].error is not None and results[7].error.kind is ErrorKind.CONFLICT
    assert checks_and_writes <= 3 + 5, "900 ids in at most 3 check queries, 5 Collections calls"
