"""The lead mapping's pull_rule goes into the SOQL the sandbox org answers: excluded Leads never
come over the wire, what the query cannot say is still checked in the hub, and the engine does
for linked, deleted, converted and failed Leads exactly what it did when it read them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.salesforce import SalesforceConnector
from tests.e2e.harness import SalesforceHub

PARTNER = "Partner Referral"


def lead(name: str, **values: Any) -> dict[str, Any]:
    """A Web lead of Acme named ``name`` (its email is name@acme.com)."""
    return {"FirstName": name.title(), "LastName": "Lee", "Company": "Acme",
            "Email": f"{name}@acme.com", "LeadSource": "Web", **values}


class Wire:
    """What the org sent back to the Lead change reads: their SOQL and the rows returned."""

    def __init__(self, sf: SalesforceHub) -> None:
        self.queries: list[str] = []
        self.rows: list[dict[str, Any]] = []
        sf.on_connect = self.watch

    def watch(self, connector: SalesforceConnector) -> None:
        real = connector.query_pages

        def query_pages(soql: str, **kw: Any) -> Iterator[dict[str, Any]]:
            feed = "ORDER BY SystemModstamp" in soql and " FROM Lead " in soql
            if feed:
                self.queries.append(soql)
            for result in real(soql, **kw):
                if feed:
                    self.rows += result.get("records") or []
                yield result

        connector.query_pages = query_pages  # type: ignore[method-assign]

    def emails(self) -> list[str]:
        return sorted(str(row.get("Email")) for row in self.rows if row.get("Email"))

    def clear(self) -> None:
        self.queries.clear()
        self.rows.clear()


def test_partner_leads_are_never_transferred_and_the_local_part_still_applies(
    sf: SalesforceHub,
) -> None:
    # domain() has no SOQL form: that half of the rule stays in the hub.
    rule = f"LeadSource != '{PARTNER}' and domain(Email) != 'rival.com'"
    sf.edit_mapping("salesforce-lead", lambda data: data.update(pull_rule=rule))
    for name in ("ann", "bo"):
        sf.insert("Lead", lead(name))
    for name in ("pat", "pia"):
        sf.insert("Lead", lead(name, LeadSource=PARTNER))
    sf.insert("Lead", lead("spy", Email="spy@rival.com"))
    wire = Wire(sf)

    report = sf.run()

    assert wire.emails() == ["ann@acme.com", "bo@acme.com", "spy@rival.com"]
    [query] = wire.queries
    assert f"(LeadSource != '{PARTNER}' OR LeadSource = null)" in query
    assert (report.read, report.created_hub) == (3, 2)
    assert sorted(p.email for p in sf.people()) == ["ann@acme.com", "bo@acme.com"]


def test_a_linked_lead_that_becomes_a_partner_referral_is_left_alone_until_it_is_deleted(
    sf: SalesforceHub,
) -> None:
    lead_id = sf.insert("Lead", lead("ann", Title="CTO"))
    sf.run()
    [person] = sf.people()
    wire = Wire(sf)

    sf.update("Lead", lead_id, {"LeadSource": PARTNER, "Title": "Partner manager"})
    report = sf.run()

    assert wire.rows == [] and report.read == 0, "it no longer passes: not sent"
    assert sf.person(person.id).title == "CTO", "as when the rule skipped it in the hub"
    assert sf.remote_ids(person.id) == {"Lead": lead_id}, "still linked"

    sf.delete("Lead", lead_id)  # the rule says no, but a delete always comes
    report = sf.run()

    assert [row["Id"] for row in wire.rows] == [lead_id] and report.read == 1
    assert sf.remote_ids(person.id) == {}, "deletes.from_remote: unlink"
    assert sf.person(person.id).deleted_at is None


def test_a_lead_converted_out_of_the_rule_still_moves_its_person_to_the_contact(
    sf: SalesforceHub,
) -> None:
    sf.edit_mapping("salesforce-lead", lambda data: data.update(pull_rule="not IsConverted"))
    lead_id = sf.insert("Lead", lead("ann"))
    sf.run()
    [person] = sf.people()
    wire = Wire(sf)

    with sf.sandbox.state.org_lock:
        converted = sf.sandbox.org.convert_lead(lead_id, do_not_create_opportunity=True,
                                                user_id=sf.rep)
    sf.run("salesforce-lead")
    sf.run("salesforce-contact")

    assert "IsConverted = false" in wire.queries[0]
    assert sf.remote_ids(person.id) == {"Contact": converted["contactId"]}
    assert [p.id for p in sf.people()] == [person.id]


def test_a_duplicate_set_aside_as_a_partner_referral_ends_its_error(sf: SalesforceHub) -> None:
    sf.insert("Lead", lead("ann"))
    sf.sandbox.org.duplicate_rules_on = False  # an import that went past the duplicate rule
    twin = sf.insert("Lead", lead("ann", FirstName="Annie"))
    sf.run()
    [error] = sf.errors("open")
    assert (error.code, error.remote_id) == ("DUPLICATE_REMOTE_RECORD", twin)
    wire = Wire(sf)

    sf.update("Lead", twin, {"LeadSource": PARTNER})
    sf.run()

    assert twin in wire.queries[0], "a record with an open error is read whatever the rule"
    assert [e.status for e in sf.errors()] == ["resolved"], "the rule keeps it out: over"
    assert len(sf.people()) == 1
