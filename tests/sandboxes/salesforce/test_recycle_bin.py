"""Records deleted for good: gone from queryAll, still listed by ``sobjects/{T}/deleted/``.

The Recycle Bin emptied (all of it or some ids), a hard delete (control route and Bulk API
``hardDelete``), the delete log trimmed by the platform (``earliestDateAvailable`` moves), the
30-day window, and the log kept across a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandboxes.salesforce import state
from sandboxes.salesforce.org import Org
from sandboxes.salesforce.recycle import hard_delete
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.clock import Clock
from tests.sandboxes.salesforce.test_bulk import Bulk

VERSION = "59.0"


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as running:
        yield running


@pytest.fixture
def clock(sandbox: SalesforceSandbox) -> Clock:
    """The org's clock, a day ahead of real time (the org's stamps never go back)."""
    moment = Clock((datetime.now(UTC) + timedelta(days=1)).replace(second=5))
    sandbox.org._clock = moment
    return moment


@pytest.fixture
def api(sandbox: SalesforceSandbox) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {sandbox.issue_token()}"
    return http


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def deleted(sandbox: SalesforceSandbox, api: requests.Session, start: datetime,
            end: datetime, sobject: str = "Lead") -> requests.Response:
    return api.get(f"{sandbox.url}/services/data/v{VERSION}/sobjects/{sobject}/deleted/",
                   params={"start": iso(start), "end": iso(end)})


def query_all(sandbox: SalesforceSandbox, api: requests.Session) -> dict[str, bool]:
    """Id → IsDeleted of every Lead queryAll returns."""
    response = api.get(f"{sandbox.url}/services/data/v{VERSION}/queryAll/",
                       params={"q": "SELECT Id, IsDeleted FROM Lead"})
    assert response.status_code == 200, response.text
    return {row["Id"]: row["IsDeleted"] for row in response.json()["records"]}


def control(sandbox: SalesforceSandbox, path: str, body: dict[str, Any] | None = None
            ) -> requests.Response:
    return requests.post(f"{sandbox.url}/__sandbox__/{path}", json=body)


def leads(sandbox: SalesforceSandbox, *names: str) -> list[str]:
    return [sandbox.org.insert("Lead", {"LastName": name, "Company": "Acme"}) for name in names]


def test_emptied_and_hard_deleted_records_leave_query_all_but_stay_listed(
    sandbox: SalesforceSandbox, clock: Clock, api: requests.Session
) -> None:
    start = clock.now.replace(second=0)
    binned, emptied, hard, kept = leads(sandbox, "Binned", "Emptied", "Hard", "Kept")
    clock.now += timedelta(minutes=1)
    sandbox.org.delete("Lead", binned)
    sandbox.org.delete("Lead", emptied)

    purged = control(sandbox, "recycle-bin/empty", {"ids": [emptied]})
    assert (purged.status_code, purged.json()) == (200, {"purged": [emptied]})
    clock.now += timedelta(minutes=1)
    gone = control(sandbox, "hard-delete", {"sobject": "Lead", "ids": [hard]})
    assert gone.status_code == 200, gone.text

    assert query_all(sandbox, api) == {binned: True, kept: False}
    clock.now += timedelta(minutes=2)
    answer = deleted(sandbox, api, start, clock.now)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["id"] for r in body["deletedRecords"]] == [binned, emptied, hard]
    assert body["deletedRecords"][2]["deletedDate"] == (
        (start + timedelta(minutes=2, seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"))
    assert body["latestDateCovered"] == clock.now.strftime("%Y-%m-%dT%H:%M:00.000+0000")
    assert body["earliestDateAvailable"] == (clock.now - timedelta(days=30)).strftime(
        "%Y-%m-%dT%H:%M:00.000+0000")

    everything = control(sandbox, "recycle-bin/empty")
    assert everything.json() == {"purged": [binned]}
    assert query_all(sandbox, api) == {kept: False}
    again = deleted(sandbox, api, start, clock.now).json()["deletedRecords"]
    assert sorted(r["id"] for r in again) == sorted([binned, emptied, hard])


def test_a_purge_naming_a_record_outside_the_bin_purges_nothing(
    sandbox: SalesforceSandbox, clock: Clock, api: requests.Session
) -> None:
    binned, live = leads(sandbox, "Binned", "Live")
    sandbox.org.delete("Lead", binned)

    refused = control(sandbox, "recycle-bin/empty", {"ids": [binned, live]})

    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_SANDBOX_REQUEST"
    assert live in refused.json()[0]["message"]
    assert query_all(sandbox, api) == {binned: True, live: False}
    assert control(sandbox, "hard-delete", {"sobject": "Lead", "ids": []}).status_code == 400


def test_a_hard_delete_takes_the_records_its_delete_cascades_to(
    sandbox: SalesforceSandbox, clock: Clock, api: requests.Session
) -> None:
    start = clock.now.replace(second=0)
    account = sandbox.org.insert("Account", {"Name": "Acme"})
    contact = sandbox.org.insert("Contact", {"LastName": "Lee", "AccountId": account})

    assert control(sandbox, "hard-delete", {"sobject": "Account", "ids": [account]}).ok

    assert sandbox.org.by_id(contact) is None and sandbox.org.by_id(account) is None
    clock.now += timedelta(minutes=3)
    listed = deleted(sandbox, api, start, clock.now, "Contact").json()["deletedRecords"]
    assert [r["id"] for r in listed] == [contact]


def test_bulk_hard_delete_deletes_past_the_bin(
    sandbox: SalesforceSandbox, clock: Clock, api: requests.Session
) -> None:
    start = clock.now.replace(second=0)
    soft, hard = leads(sandbox, "Soft", "Hard")
    bulk = Bulk(sandbox)

    _, info = bulk.run_ingest(f"Id\n{hard}\n", object="Lead", operation="hardDelete")
    _, other = bulk.run_ingest(f"Id\n{soft}\n", object="Lead", operation="delete")

    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 1)
    assert other["state"] == "JobComplete"
    assert query_all(sandbox, api) == {soft: True}
    clock.now += timedelta(minutes=3)
    listed = deleted(sandbox, api, start, clock.now).json()["deletedRecords"]
    assert sorted(r["id"] for r in listed) == sorted([soft, hard])


def test_a_trimmed_delete_log_moves_earliest_date_available(
    sandbox: SalesforceSandbox, clock: Clock, api: requests.Session
) -> None:
    start = clock.now.replace(second=0)
    old, recent = leads(sandbox, "Old", "Recent")
    assert control(sandbox, "hard-delete", {"sobject": "Lead", "ids": [old]}).ok
    clock.now += timedelta(minutes=10)
    assert control(sandbox, "hard-delete", {"sobject": "Lead", "ids": [recent]}).ok
    cut = start + timedelta(minutes=5)

    trimmed = control(sandbox, "delete-log/trim", {"sobject": "Lead", "before": iso(cut)})
    assert trimmed.json() == {
        "dropped": 1, "earliestDateAvailable": cut.strftime("%Y-%m-%dT%H:%M:00.000+0000")}

    clock.now += timedelta(minutes=2)
    too_early = deleted(sandbox, api, start, clock.now)
    assert too_early.status_code == 400
    assert too_early.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    body = deleted(sandbox, api, cut, clock.now).json()
    assert [r["id"] for r in body["deletedRecords"]] == [recent]
    assert body["earliestDateAvailable"] == cut.strftime("%Y-%m-%dT%H:%M:00.000+0000")


def test_deletions_stay_listed_until_the_30_days_pass(
    sandbox: SalesforceSandbox, clock: Clock, api: requests.Session
) -> None:
    [gone] = leads(sandbox, "Gone")
    assert control(sandbox, "hard-delete", {"sobject": "Lead", "ids": [gone]}).ok
    deleted_at = clock.now

    clock.now += timedelta(days=29, hours=23)
    floor = clock.now - timedelta(days=30)
    listed = deleted(sandbox, api, floor, clock.now).json()["deletedRecords"]
    assert [r["id"] for r in listed] == [gone]

    clock.now = deleted_at + timedelta(days=30, minutes=2)
    earliest = (clock.now - timedelta(days=30)).replace(second=0)
    assert deleted(sandbox, api, earliest, clock.now).json()["deletedRecords"] == []
    older = deleted(sandbox, api, earliest - timedelta(minutes=2), clock.now)
    assert older.status_code == 400
    assert older.json()[0]["message"] == "startDate cannot be more than 30 days ago"


def test_the_delete_log_survives_a_restart(tmp_path: Path) -> None:
    org = Org()
    gone = org.insert("Lead", {"LastName": "Gone", "Company": "Acme"})
    hard_delete(org, "Lead", [gone])
    org.delete_log.trim("Lead", datetime(2020, 1, 1, tzinfo=UTC))
    path = tmp_path / "org.json"
    state.save(org, path)

    again = Org()
    state.load(again, path)
    assert [record_id for record_id, _ in again.delete_log.listed("Lead")] == [gone]
    assert again.delete_log.trimmed == {"Lead": datetime(2020, 1, 1, tzinfo=UTC)}
    assert again.by_id(gone) is None
