"""Records deleted for good, read from ``sobjects/{T}/deleted/`` with a cursor of its own.

Against the sandbox on a clock the test moves: the first read, polling on from the cursor
(the last minute read again, never a delete missed), a cursor too old for the 30 days, a
delete log purged past the cursor, a window with more ids than one answer holds, an object
Salesforce does not replicate; and the second look at listed ids (``lookup_deleted``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import Op
from connectors.errors import ConnectorError, ErrorKind
from connectors.salesforce import SalesforceConnector
from sandboxes.salesforce import routes_replication
from sandboxes.salesforce.recycle import hard_delete
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.clock import Clock
from tests.connectors.salesforce.sandbox_remote import sandbox_settings


@pytest.fixture
def clock(sandbox: SalesforceSandbox) -> Clock:
    """The org's clock and the caller's ``now``: a day ahead (the org's stamps never go back)."""
    moment = Clock((datetime.now(UTC) + timedelta(days=1)).replace(second=7))
    sandbox.org._clock = moment
    return moment


@pytest.fixture
def crm(sandbox: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    connector = SalesforceConnector("crm", sandbox_settings(sandbox))
    connector.object_info("Lead")  # described once per process in real use: not counted below
    yield connector
    connector.close()


def gone_for_good(sandbox: SalesforceSandbox, *names: str) -> list[str]:
    """Leads a rep created, then deleted past the Recycle Bin."""
    with sandbox.state.org_lock:
        ids = [sandbox.org.insert("Lead", {"LastName": n, "Company": "Acme"}) for n in names]
        hard_delete(sandbox.org, "Lead", ids)
    return ids


def minute(moment: datetime) -> str:
    """A moment in whole minutes, as the connector's cursors write it."""
    return moment.replace(second=0).strftime("%Y-%m-%dT%H:%M:00.000Z")


def test_the_first_read_lists_what_salesforce_still_lists(
    sandbox: SalesforceSandbox, clock: Clock, crm: SalesforceConnector
) -> None:
    [gone] = gone_for_good(sandbox, "Gone")
    clock.advance(minutes=2)
    before = crm.api_calls

    found = crm.read_hard_deletes("Lead", None, now=clock.now)

    assert (list(found.keys), found.cursor, found.gap) == ([gone], minute(clock.now), None)
    assert crm.api_calls - before == 1


def test_polling_from_the_cursor_sees_each_later_delete_and_misses_none(
    sandbox: SalesforceSandbox, clock: Clock, crm: SalesforceConnector
) -> None:
    first = crm.read_hard_deletes("Lead", None, now=clock.now)
    [late] = gone_for_good(sandbox, "Late")  # in the minute the cursor names
    clock.advance(minutes=3)

    second = crm.read_hard_deletes("Lead", first.cursor, now=clock.now)
    assert list(second.keys) == [late] and second.cursor == minute(clock.now)

    [later] = gone_for_good(sandbox, "Later")
    clock.advance(minutes=2)
    third = crm.read_hard_deletes("Lead", second.cursor, now=clock.now)
    assert later in third.keys and third.gap is None


def test_a_cursor_too_recent_to_ask_about_costs_no_call(
    clock: Clock, crm: SalesforceConnector
) -> None:
    first = crm.read_hard_deletes("Lead", None, now=clock.now)
    before = crm.api_calls

    again = crm.read_hard_deletes("Lead", first.cursor, now=clock.advance(seconds=70))

    assert (list(again.keys), again.cursor, crm.api_calls) == ([], first.cursor, before)


def test_a_cursor_older_than_30_days_starts_at_the_oldest_minute_and_reports_the_gap(
    sandbox: SalesforceSandbox, clock: Clock, crm: SalesforceConnector
) -> None:
    stale = minute(clock.now - timedelta(days=40))
    [gone] = gone_for_good(sandbox, "Gone")
    clock.advance(minutes=3)

    found = crm.read_hard_deletes("Lead", stale, now=clock.now)

    assert list(found.keys) == [gone]
    assert found.gap is not None
    start, end = found.gap
    assert start == datetime.strptime(stale, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)
    oldest = (clock.now - timedelta(days=30)).replace(second=0)
    assert oldest < end <= oldest + timedelta(minutes=10), "the oldest minute Salesforce lists"


def test_a_delete_log_purged_past_the_cursor_is_a_gap_not_a_failure(
    sandbox: SalesforceSandbox, clock: Clock, crm: SalesforceConnector
) -> None:
    cursor = crm.read_hard_deletes("Lead", None, now=clock.now).cursor
    clock.advance(minutes=5)
    [early] = gone_for_good(sandbox, "Early")
    clock.advance(minutes=5)
    [late] = gone_for_good(sandbox, "Late")
    cut = clock.now.replace(second=0)
    sandbox.org.delete_log.trim("Lead", cut)  # the platform drops entries older than cut
    clock.advance(minutes=3)
    before = crm.api_calls

    found = crm.read_hard_deletes("Lead", cursor, now=clock.now)

    assert list(found.keys) == [late], f"{early} went with the purged log"
    assert found.gap == (datetime.strptime(str(cursor), "%Y-%m-%dT%H:%M:%S.000Z")
                         .replace(tzinfo=UTC), cut)
    assert crm.api_calls - before == 3, "the refused window, the probe, the window that fits"


def test_a_window_with_too_many_ids_is_read_in_parts(
    sandbox: SalesforceSandbox, clock: Clock, crm: SalesforceConnector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cursor = crm.read_hard_deletes("Lead", None, now=clock.now).cursor
    clock.advance(minutes=1)
    [first] = gone_for_good(sandbox, "First")
    clock.advance(minutes=20)
    [second] = gone_for_good(sandbox, "Second")
    clock.advance(minutes=5)
    monkeypatch.setattr(routes_replication, "ID_LIMIT", 1)

    part = crm.read_hard_deletes("Lead", cursor, now=clock.now)
    rest = crm.read_hard_deletes("Lead", part.cursor, now=clock.now)

    assert list(part.keys) == [first] and str(part.cursor) < minute(clock.now)
    assert list(rest.keys) == [second] and rest.cursor == minute(clock.now)


def test_an_object_salesforce_does_not_replicate_is_a_config_error(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    sandbox.org.schema.objects["CampaignMemberStatus"].replicateable = False
    try:
        with pytest.raises(ConnectorError) as info:
            crm.read_hard_deletes("CampaignMemberStatus", None)
    finally:
        sandbox.org.schema.objects["CampaignMemberStatus"].replicateable = True
    assert (info.value.kind, info.value.code) == (ErrorKind.CONFIG, "NOT_REPLICATEABLE")
    assert "deletes.from_remote" in (info.value.hint or "")


def test_lookup_deleted_keeps_what_the_deleted_list_does_not_say(
    sandbox: SalesforceSandbox, crm: SalesforceConnector
) -> None:
    with sandbox.state.org_lock:
        org = sandbox.org
        master, loser, binned, live = (
            org.insert("Lead", {"LastName": n, "Company": "Acme"})
            for n in ("Master", "Loser", "Binned", "Live"))
        org.merge("Lead", master, [loser])
        org.delete("Lead", binned)
    [gone] = gone_for_good(sandbox, "Gone")

    found = {c.key: c for c in crm.lookup_deleted("Lead", [loser, binned, live, gone])}

    assert set(found) == {loser, binned, live}, "a record deleted for good is unknown"
    assert (found[loser].op, found[loser].successor) == (Op.DELETE, ("Lead", master))
    assert (found[binned].op, found[binned].successor) == (Op.DELETE, None)
    assert found[live].op is Op.UPSERT
