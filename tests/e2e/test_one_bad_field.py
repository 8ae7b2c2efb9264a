"""One bad field does not block the record: against the Salesforce sandbox and shipped mappings.

A rep types "call after 5pm" into a Lead's Phone; the hub gets a Lead Source Salesforce's
restricted picklist lacks. The record syncs without that field in the same cycle; the field
gets its own error with the cause in its words; fixing the value ends it.
"""

from __future__ import annotations

from tests.e2e.harness import SalesforceHub

LEAD = {"FirstName": "Ann", "LastName": "Lee", "Company": "Acme", "Email": "ann@acme.com",
        "Title": "CTO", "City": "Oakland", "Phone": "call after 5pm"}


def _field_errors(sf: SalesforceHub) -> list[tuple[str | None, str | None, str]]:
    return [(e.code, e.field, e.message) for e in sf.errors("open", "retrying")]


def test_a_phone_no_transform_can_read_leaves_the_phone_out_not_the_person(
    sf: SalesforceHub,
) -> None:
    lead_id = sf.insert("Lead", LEAD)

    report = sf.run()

    [person] = sf.people()
    assert (person.email, person.title, person.city, person.company) == (
        "ann@acme.com", "CTO", "Oakland", "Acme"
    ), "the rest of the Lead came in, in the same cycle"
    assert person.phone is None
    assert sf.remote_ids(person.id) == {"Lead": lead_id}
    assert report.created_hub == 1 and report.status == "partial"
    [(code, field, message)] = _field_errors(sf)
    assert (code, field) == ("FIELD_REFUSED", "Phone")
    assert "'call after 5pm' is not a phone number" in message
    [error] = sf.errors("open", "retrying")
    assert error.hint is not None and "The rest of the record synced" in error.hint

    sf.update("Lead", lead_id, {"Phone": "(415) 555-0100"})
    sf.run()

    assert sf.person(person.id).phone == "+14155550100"
    assert _field_errors(sf) == [], "the field synced: its error is over"


def test_a_value_the_crm_refuses_is_left_out_and_the_lead_is_still_created(
    sf: SalesforceHub,
) -> None:
    person_id = sf.add_person(
        email="bo@acme.com", first_name="Bo", last_name="Ng", company="Acme", score=70, aql=True,
        lead_source="Podcast",  # no value_map entry, and not in the restricted picklist
    )

    report = sf.run()

    lead = sf.lead_by_email("bo@acme.com")
    assert (lead["FirstName"], lead["Company"], lead["Score__c"]) == ("Bo", "Acme", 70)
    assert not lead.get("LeadSource")
    assert report.created_remote == 1
    assert sf.remote_ids(person_id) == {"Lead": lead["Id"]}
    [error] = sf.errors("open", "retrying")
    assert (error.code, error.field) == ("FIELD_REFUSED", "LeadSource")
    assert "bad value for restricted picklist field: Podcast" in error.message
    assert error.hint is not None and "Podcast" in error.hint

    sf.edit_person(person_id, lead_source="Webinar")
    sf.run()

    webinar = sf.mapped("salesforce-lead", "lead_source", "Webinar")
    assert sf.get("Lead", lead["Id"])["LeadSource"] == webinar
    assert sf.errors("open", "retrying") == []
    idle = sf.run()
    assert (idle.writes, idle.failed) == (0, 0), "nothing left to send: no ping-pong"


def test_fail_record_keeps_the_whole_record_back(sf: SalesforceHub) -> None:
    """For a mapping whose records must never be partial, today's behaviour stays on offer."""
    sf.edit_mapping("salesforce-lead", lambda data: data.update(on_field_error="fail_record"))
    sf.insert("Lead", LEAD)

    report = sf.run()

    assert sf.people() == []
    assert report.failed == 1
    [error] = sf.errors("open", "retrying")
    assert (error.code, error.field) == ("TRANSFORM_FAILED", "Phone")
