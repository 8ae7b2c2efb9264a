"""Convergence under Salesforce's bad days: 503s, row locks, 429s and tokens expiring mid-run."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import OutboundRecord, WriteResult
from connectors.salesforce import SalesforceConnector
from jobs.report import RunReport
from tests.e2e.harness import SalesforceHub

HUB_PEOPLE = 60
SALESFORCE_LEADS = 30
MAX_CYCLES = 25


def _expire_tokens_before_the_first_write(sf: SalesforceHub) -> None:
    """The session dies between the cycle's reads and its writes, as a 2-hour token does."""

    def hook(connector: SalesforceConnector) -> None:
        real_write = connector.write
        expired = False

        def write(object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
            nonlocal expired
            if not expired:
                expired = True
                sf.sandbox.expire_tokens()
            return real_write(object_name, records)

        connector.write = write  # type: ignore[method-assign]

    sf.on_connect = hook


def _converged(sf: SalesforceHub, report: RunReport) -> bool:
    return (report.status == "success" and report.writes == 0 and report.failed == 0
            and not sf.errors("open", "retrying"))


def test_faults_and_expiring_tokens_still_converge_without_duplicates(sf: SalesforceHub) -> None:
    hub_ids = {
        sf.add_person(email=f"hub{i}@acme.com", first_name=f"Hub{i}", last_name="Person",
                      company="Acme", score=50 + i % 40, aql=True, title=f"Title {i}",
                      # Half with a stage, half getting Salesforce's default Status.
                      lifecycle_stage="Lead" if i % 2 else None): f"hub{i}@acme.com"
        for i in range(HUB_PEOPLE)
    }
    lead_ids = {
        sf.insert("Lead", {"Email": f"sf{i}@corp.com", "FirstName": f"Sf{i}", "LastName": "Lead",
                           "Company": "Corp", "Title": f"Rep title {i}"}): f"sf{i}@corp.com"
        for i in range(SALESFORCE_LEADS)
    }
    sf.sandbox.faults.configure(rate_503=0.2, lock_rate=0.2, rate_429=0.2, retry_after_s=0,
                                seed=7)
    _expire_tokens_before_the_first_write(sf)

    reports: list[RunReport] = []
    while not reports or not _converged(sf, reports[-1]):
        assert len(reports) < MAX_CYCLES, [(r.status, r.writes, r.failed, r.message)
                                           for r in reports]
        if len(reports) == 2:
            sf.sandbox.expire_tokens()  # and once more between cycles
        sf.make_retries_due()
        reports.append(sf.run())

    assert sf.slept, "the faults did happen and were retried"
    sf.sandbox.faults.clear()
    leads = sf.leads()
    people = sf.people()
    assert len(leads) == HUB_PEOPLE + SALESFORCE_LEADS, "no duplicates in Salesforce"
    assert len(people) == HUB_PEOPLE + SALESFORCE_LEADS, "no duplicates in the hub"
    by_email = {str(r["Email"]): r for r in leads}
    assert len(by_email) == len(leads)
    for person in people:
        link = sf.remote_ids(person.id)
        assert list(link) == ["Lead"], f"{person.email}: {link}"
        lead = by_email[str(person.email)]
        assert lead["Id"] == link["Lead"]
        assert (lead["FirstName"], lead["LastName"], lead["Title"]) == (
            person.first_name, person.last_name, person.title)
    for person_id, email in hub_ids.items():
        lead = by_email[email]
        assert lead["Syncline_Id__c"] == person_id
        assert lead["Score__c"] == sf.person(person_id).score
    assert {p.email for p in people} >= set(lead_ids.values()), "every Salesforce Lead came in"
    assert sf.errors("open", "retrying") == []
