"""Get updated / get deleted through simple-salesforce: minute windows, 30 days back at most."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandboxes.salesforce.sandbox import SalesforceSandbox


def test_updated_and_deleted_cover_whole_minutes_of_the_window() -> None:
    with SalesforceSandbox() as sandbox:
        # The org's clock (a day ahead: modstamps never go back), to place records in minutes.
        base = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
        moment = [base + timedelta(seconds=10)]
        sandbox.org._clock = lambda: moment[0]
        kept = sandbox.org.insert("Lead", {"LastName": "Kept", "Company": "Acme"})
        gone = sandbox.org.insert("Lead", {"LastName": "Gone", "Company": "Acme"})
        moment[0] += timedelta(minutes=3)
        sandbox.org.delete("Lead", gone)
        moment[0] += timedelta(minutes=3)
        sf = Salesforce(instance_url=sandbox.url, session_id=sandbox.issue_token(),
                        session=sandbox.session())
        start = base + timedelta(seconds=59)  # truncated to the whole minute: base
        end = base + timedelta(minutes=5)
        updated = sf.Lead.updated(start, end)
        deleted = sf.Lead.deleted(start, end)
        assert updated["ids"] == [kept]
        assert updated["latestDateCovered"] == end.strftime("%Y-%m-%dT%H:%M:00.000+0000")
        assert [r["id"] for r in deleted["deletedRecords"]] == [gone]
        deleted_at = base + timedelta(minutes=3, seconds=10)
        assert deleted["deletedRecords"][0]["deletedDate"].startswith(
            deleted_at.strftime("%Y-%m-%dT%H:%M:%S")
        )
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.Lead.updated(start - timedelta(days=31), end)
        assert info.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
