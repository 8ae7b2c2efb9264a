"""Get updated / get deleted: minute windows, 30 days back at most, and Salesforce's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandboxes.salesforce import routes_replication
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


def _get(sandbox: SalesforceSandbox, path: str, **params: str) -> requests.Response:
    return requests.get(f"{sandbox.url}/services/data/v59.0/{path}", params=params,
                        headers={"Authorization": f"Bearer {sandbox.issue_token()}"})


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


@pytest.mark.parametrize(
    ("start", "end", "status", "code", "message"),
    [
        (timedelta(minutes=-1), timedelta(seconds=59), 400, "INVALID_REPLICATION_DATE",
         "endDate must chronologically follow the startDate by more than a minute"),
        (timedelta(minutes=-5), timedelta(minutes=-10), 400, "INVALID_REPLICATION_DATE",
         "endDate must chronologically follow the startDate by more than a minute"),
        (timedelta(minutes=5), timedelta(minutes=20), 400, "INVALID_REPLICATION_DATE",
         "endDate must chronologically follow the startDate by more than a minute"),
        ("no zone", timedelta(0), 400, "INVALID_REPLICATION_DATE", "with a time zone"),
    ],
    ids=["a minute", "reversed", "in the future", "no time zone"],
)
def test_a_window_outside_the_rules_is_refused_with_salesforces_error(
    start: timedelta | str, end: timedelta, status: int, code: str, message: str
) -> None:
    with SalesforceSandbox() as sandbox:
        now = sandbox.org.now().replace(second=0, microsecond=0)  # in whole minutes
        params = {"start": now.strftime("%Y-%m-%dT%H:%M:%S") if isinstance(start, str)
                  else _iso(now + start), "end": _iso(now + end)}
        for resource in ("updated", "deleted"):
            answer = _get(sandbox, f"sobjects/Lead/{resource}/", **params)
            assert answer.status_code == status, answer.text
            [error] = answer.json()
            assert error["errorCode"] == code and message in error["message"], error


def test_only_replicateable_objects_are_served() -> None:
    with SalesforceSandbox() as sandbox:
        sandbox.org.schema.objects["CampaignMemberStatus"].replicateable = False
        now = sandbox.org.now()
        window = {"start": _iso(now - timedelta(minutes=5)), "end": _iso(now)}
        refused = _get(sandbox, "sobjects/CampaignMemberStatus/deleted/", **window)
        assert refused.status_code == 400
        assert refused.json()[0]["errorCode"] == "INVALID_TYPE"
        assert _get(sandbox, "sobjects/CampaignMemberStatus/describe").json()[
            "replicateable"] is False
        assert _get(sandbox, "sobjects/Nope/deleted/", **window).status_code == 404
        assert _get(sandbox, "sobjects/Lead/deleted/", **window).status_code == 200


def test_the_last_minute_is_covered_whole_and_again_from_latest_date_covered() -> None:
    with SalesforceSandbox() as sandbox:
        base = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
        moment = [base + timedelta(minutes=2, seconds=30)]
        sandbox.org._clock = lambda: moment[0]
        gone = sandbox.org.insert("Lead", {"LastName": "Gone", "Company": "Acme"})
        sandbox.org.delete("Lead", gone)  # at base + 2:30
        moment[0] = base + timedelta(minutes=9)

        first = _get(sandbox, "sobjects/Lead/deleted/", start=_iso(base),
                     end=_iso(base + timedelta(minutes=2, seconds=59))).json()
        assert [r["id"] for r in first["deletedRecords"]] == [gone]
        assert first["latestDateCovered"].startswith(
            (base + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:00"))
        again = _get(sandbox, "sobjects/Lead/deleted/", start=first["latestDateCovered"],
                     end=_iso(base + timedelta(minutes=6))).json()
        assert [r["id"] for r in again["deletedRecords"]] == [gone], "a repeat, never a miss"
        later = _get(sandbox, "sobjects/Lead/deleted/", start=_iso(base + timedelta(minutes=3)),
                     end=_iso(base + timedelta(minutes=6))).json()
        assert later["deletedRecords"] == []


def test_more_than_the_id_limit_is_exceeded_id_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_replication, "ID_LIMIT", 1)
    with SalesforceSandbox() as sandbox:
        now = sandbox.org.now()
        for name in ("A", "B"):
            sandbox.org.delete("Lead", sandbox.org.insert("Lead", {"LastName": name,
                                                                    "Company": "Acme"}))
        window = {"start": _iso(now - timedelta(minutes=5)), "end": _iso(now)}
        answer = _get(sandbox, "sobjects/Lead/deleted/", **window)
        assert answer.status_code == 400
        assert answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
