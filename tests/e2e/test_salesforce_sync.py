"""The engine, the shipped Salesforce mappings and the real connector against the sandbox org."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import SalesforceHub


def ann(sf: SalesforceHub, **values: Any) -> str:
    """A marketing-qualified hub person (the shipped lead mapping's sync_rule lets her out)."""
    fields: dict[str, Any] = {
        "email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "company": "Acme",
        "phone": "(415) 555-0100", "lead_source": "Webinar", "score": 70,
    }
    return sf.add_person(**{**fields, **values})


def test_a_hub_person_becomes_a_lead_edits_flow_both_ways_then_nothing_moves(
    sf: SalesforceHub,
) -> None:
    person_id = ann(sf)

    first = sf.run()

    assert (first.status, first.created_remote) == ("success", 1)
    lead = sf.lead_by_email("ann@acme.com")
    assert lead["Syncline_Id__c"] == person_id
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Ann", "Lee", "Acme")
    assert lead["Phone"] == "+14155550100", "phones go out in E.164"
    assert lead["LeadSource"] == "Web", "the value_map turns Webinar into Web"
    assert lead["Score__c"] == 70
    assert sf.remote_ids(person_id) == {"Lead": lead["Id"]}

    sf.update("Lead", lead["Id"], {"Title": "VP Marketing", "City": "Oakland"})
    second = sf.run()
    assert (second.status, second.updated_hub, second.updated_remote) == ("success", 1, 0)
    person = sf.person(person_id)
    assert (person.title, person.city) == ("VP Marketing", "Oakland")

    sf.edit_person(person_id, first_name="Annie", phone="+1 415 555 0199")
    third = sf.run()
    assert (third.status, third.updated_remote, third.updated_hub) == ("success", 1, 0)
    lead = sf.get("Lead", lead["Id"])
    assert (lead["FirstName"], lead["Phone"]) == ("Annie", "+14155550199")

    idle = sf.run()
    assert (idle.status, idle.writes, idle.failed) == ("success", 0, 0), "no ping-pong"
    assert idle.api_calls <= 2, "an idle cycle costs a read, not writes"
    assert len(sf.leads()) == 1 and len(sf.people()) == 1
