"""The engine, the shipped Salesforce mappings and the real connector against the sandbox org."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from connectors.base import OutboundRecord, WriteResult
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.schema import object_info
from core.hubschema import HubSchema
from core.models import Campaign, CampaignMember
from jobs import triage
from mappings.check import check_against_remote
from tests.clock import frozen_clock
from tests.e2e.harness import SalesforceHub


def ann(sf: SalesforceHub, **values: Any) -> str:
    """A marketing-qualified hub person (the shipped lead mapping's sync_rule lets her out)."""
    fields: dict[str, Any] = {
        "email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "company": "Acme",
        "phone": "(415) 555-0100", "lead_source": "Webinar", "score": 70, "aql": True,
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
    assert lead["LeadSource"] == sf.mapped("salesforce-lead", "lead_source", "Webinar")
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
    assert idle.api_calls == 1, "an idle cycle costs one read (describe is shared per process)"
    assert len(sf.leads()) == 1 and len(sf.people()) == 1


def test_field_rules_of_the_shipped_lead_mapping(sf: SalesforceHub) -> None:
    # Marketing owns the lead source: the rule may be to_remote or prefer_hub_unless_blank;
    # with a hub value, both keep it and put it back when sales changes it.
    source_rule = sf.field_row(sf.mapping_data("salesforce-lead"), "lead_source").get("rule")
    assert source_rule in ("to_remote", "prefer_hub_unless_blank")
    webinar = sf.mapped("salesforce-lead", "lead_source", "Webinar")
    assert webinar != "Other", "the test needs sales' value to differ from marketing's"
    person_id = ann(sf, attributes={"lead_status": "MQL"})
    sf.run()
    lead_id = sf.remote_ids(person_id)["Lead"]
    assert sf.get("Lead", lead_id)["Status"] == "Marketing Qualified", "value_map: MQL"

    # Sales works the lead: a new status, a tidier company, and fiddles with two fields that
    # marketing owns (to_remote): the score and the lead source.
    sf.update("Lead", lead_id, {"Status": "Working - Contacted", "Company": "Acme Inc.",
                                "Score__c": 5, "LeadSource": "Other"})
    sf.run()

    person = sf.person(person_id)
    assert person.attributes["lead_status"] == "Working", "Status comes back, value_map'd"
    assert person.company == "Acme Inc.", "prefer_remote_unless_blank: sales' company wins"
    assert (person.score, person.lead_source) == (70, "Webinar"), "marketing's fields stay"
    lead = sf.get("Lead", lead_id)
    assert (lead["Score__c"], lead["LeadSource"]) == (70, webinar), "marketing's values return"
    assert (lead["Status"], lead["Company"]) == ("Working - Contacted", "Acme Inc.")

    # Marketing renames the company in the hub: Salesforce's non-blank value stays, and the
    # hub's own value is not pushed over it.
    sf.edit_person(person_id, company="ACME Corporation", score=90)
    sf.run()
    lead = sf.get("Lead", lead_id)
    assert lead["Company"] == "Acme Inc.", "prefer_remote_unless_blank: into blank only"
    assert lead["Score__c"] == 90
    assert sf.run().writes == 0


def test_both_sides_change_the_same_field_and_the_newest_change_wins(
    sf: SalesforceHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Salesforce stamps whole seconds: within one second, which edit came last is unknowable,
    # so each edit here gets a second of its own.
    clock = frozen_clock(monkeypatch)
    first_id = ann(sf, title="Manager")
    second_id = ann(sf, email="bo@beta.io", first_name="Bo", title="Manager")
    sf.run()
    first_lead, second_lead = sf.remote_ids(first_id)["Lead"], sf.remote_ids(second_id)["Lead"]

    # Ann: the hub changes first, then sales; Bo: sales first, then the hub.
    sf.edit_person(first_id, title="Director (hub)")
    clock.advance(seconds=1)
    sf.update("Lead", first_lead, {"Title": "Director (sales)"})
    sf.update("Lead", second_lead, {"Title": "VP (sales)"})
    clock.advance(seconds=1)
    sf.edit_person(second_id, title="VP (hub)")

    report = sf.run()

    assert report.failed == 0 and sf.errors() == []
    assert sf.person(first_id).title == "Director (sales)"
    assert sf.get("Lead", first_lead)["Title"] == "Director (sales)"
    assert sf.person(second_id).title == "VP (hub)"
    assert sf.get("Lead", second_lead)["Title"] == "VP (hub)"
    assert sf.run().writes == 0, "a resolved conflict must not ping-pong"


def test_an_unmapped_restricted_picklist_value_is_an_error_with_the_fix_until_mapped(
    sf: SalesforceHub,
) -> None:
    person_id = ann(sf, lead_source="Podcast")

    report = sf.run()

    # The Lead goes without its lead source; that field alone has an error, in Salesforce's words.
    assert (report.status, report.failed, report.created_remote) == ("partial", 1, 1)
    assert sf.lead_by_email("ann@acme.com").get("LeadSource") is None
    [error] = sf.errors("open", "retrying")
    assert (error.hub_id, error.code, error.field) == (person_id, "FIELD_REFUSED", "LeadSource")
    assert error.message == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: "
                             "Lead Source: bad value for restricted picklist field: Podcast")
    assert error.hint is not None
    assert "value_map" in error.hint and "Podcast" in error.hint and "LeadSource" in error.hint
    described = sf.sandbox.org.describe("Lead")
    [lead_source] = [f for f in described["fields"] if f["name"] == "LeadSource"]
    allowed = [v["value"] for v in lead_source["picklistValues"] if v["active"]]
    assert "Other" in allowed and all(value in error.hint for value in allowed[:3])

    # The admin follows the hint, then presses "retry".
    sf.edit_mapping("salesforce-lead",
                    lambda data: sf.field_row(data, "lead_source")["value_map"].update(
                        {"Podcast": "Other"}))
    assert triage.retry(sf.engine, triage.ErrorFilter(mapping="salesforce-lead"), "admin") == 1
    retried = sf.run()

    assert (retried.status, retried.updated_remote, retried.failed) == ("success", 1, 0)
    lead = sf.lead_by_email("ann@acme.com")
    assert (lead["LeadSource"], lead["Syncline_Id__c"]) == ("Other", person_id)
    assert [e.status for e in sf.errors()] == ["resolved"]


def test_following_the_picklist_hint_passes_mappings_check_and_the_record_goes_through(
    sf: SalesforceHub,
) -> None:
    # The shipped lead row pulls and already maps keys to Web, Advertisement, Trade Show, ...
    person_id = ann(sf, lead_source="Podcast")
    assert sf.run().failed == 1
    [error] = sf.errors("open", "retrying")
    hint = error.hint or ""
    taken = set(sf.field_row(sf.mapping_data("salesforce-lead"), "lead_source")["value_map"]
                .values())
    offered = [v.strip() for v in hint.split("allowed: ", 1)[1].split(" (not ")[0].split(",")]
    assert offered and not taken & set(offered), f"no value another key maps to: {hint}"
    assert all(value in hint.split(" (not ", 1)[1] for value in taken), (
        "the taken values are named as such, so the admin sees why they are missing")

    # The admin takes the first value offered; the validator and `mappings check` accept it.
    sf.edit_mapping("salesforce-lead",
                    lambda data: sf.field_row(data, "lead_source")["value_map"].update(
                        {"Podcast": offered[0]}))  # reload() runs the loader: it would raise
    lead_info = object_info(sf.sandbox.org.describe("Lead"))
    problems = check_against_remote(sf.mappings["salesforce-lead"], {"Lead": lead_info},
                                    HubSchema.load(sf.folder / "hub.yaml"))
    assert [p for p in problems if p.level == "error"] == []
    assert triage.retry(sf.engine, triage.ErrorFilter(mapping="salesforce-lead"), "admin") == 1
    retried = sf.run()
    assert (retried.status, retried.updated_remote) == ("success", 1)
    assert sf.lead_by_email("ann@acme.com")["LeadSource"] == offered[0]
    sf.run()  # the new lead is read back once
    assert sf.run().writes == 0
    assert sf.person(person_id).lead_source == "Podcast", "it maps back to one hub value"


def test_a_salesforce_validation_rule_refusal_names_the_rule_message(sf: SalesforceHub) -> None:
    # A lead sales works (in the other CRM) goes out as "Working - Contacted", and the org's
    # rule wants a phone for that.
    person_id = ann(sf, phone=None, attributes={"lead_status": "Working"})

    report = sf.run()

    assert (report.status, report.failed) == ("partial", 1)
    [error] = sf.errors("open", "retrying")
    assert (error.hub_id, error.code) == (person_id, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert error.message == "A lead being worked needs a phone number so sales can call it."
    assert error.field == "Phone"
    assert error.hint is not None and "validation rule" in error.hint
    assert sf.leads() == []

    sf.edit_person(person_id, phone="415 555 0100")
    sf.make_retries_due()
    assert sf.run().created_remote == 1
    assert sf.lead_by_email("ann@acme.com")["Status"] == "Working - Contacted"
    assert [e.status for e in sf.errors()] == ["resolved"]


def test_a_converted_lead_moves_the_person_to_its_contact_for_good(sf: SalesforceHub) -> None:
    person_id = ann(sf)
    sf.run()
    lead_id = sf.remote_ids(person_id)["Lead"]

    with sf.sandbox.state.org_lock:
        converted = sf.sandbox.org.convert_lead(lead_id, do_not_create_opportunity=True,
                                                user_id=sf.rep)
    contact_id = converted["contactId"]
    sf.run("salesforce-lead")
    # The conversion made an Account too: synced first, the Contact's AccountId resolves.
    sf.run("salesforce-account")
    sf.run("salesforce-contact")

    assert sf.remote_ids(person_id) == {"Contact": contact_id}
    assert [p.id for p in sf.people()] == [person_id], "the Contact is not a new person"
    assert sf.errors("open", "retrying") == []

    sf.edit_person(person_id, title="CMO", score=95)
    lead_cycle = sf.run("salesforce-lead")
    contact_cycle = sf.run("salesforce-contact")

    assert lead_cycle.created_remote == 0 and lead_cycle.failed == 0
    assert [r["Id"] for r in sf.rows("Lead")] == [lead_id], "never a second Lead"
    contact = sf.get("Contact", contact_id)
    assert (contact["Title"], contact["Score__c"]) == ("CMO", 95)
    assert contact_cycle.updated_remote == 1
    assert sf.get("Lead", lead_id)["IsConverted"] is True
    assert [r.writes for r in (sf.run("salesforce-lead"), sf.run("salesforce-contact"))] == [0, 0]


def test_a_merged_lead_whose_master_is_linked_drops_its_link_but_keeps_the_person(
    sf: SalesforceHub,
) -> None:
    ann_id = ann(sf)
    bo_id = ann(sf, email="bo@acme.com", first_name="Bo")
    sf.run()
    ann_lead, bo_lead = sf.remote_ids(ann_id)["Lead"], sf.remote_ids(bo_id)["Lead"]

    with sf.sandbox.state.org_lock:
        sf.sandbox.org.merge("Lead", ann_lead, [bo_lead], user_id=sf.rep)
    report = sf.run()

    assert report.deleted == 0
    assert {p.id for p in sf.people()} == {ann_id, bo_id}, "a merge never deletes a hub person"
    assert sf.remote_ids(ann_id) == {"Lead": ann_lead}
    assert sf.remote_ids(bo_id).get("Lead") != bo_lead, "the merged-away Lead is not linked"
    assert sf.person(bo_id).deleted_at is None


def test_a_merged_lead_moves_its_link_to_an_unlinked_master(sf: SalesforceHub) -> None:
    person_id = ann(sf)
    sf.run()
    lead_id = sf.remote_ids(person_id)["Lead"]
    # Sales finds an older record of Ann's and keeps it; the hub never saw it.
    master = sf.insert("Lead", {"LastName": "Lee", "FirstName": "Annie", "Company": "Acme",
                                "Email": "ann.lee@acme.com"})
    with sf.sandbox.state.org_lock:
        sf.sandbox.org.merge("Lead", master, [lead_id], user_id=sf.rep)

    report = sf.run()

    assert report.deleted == 0
    assert sf.remote_ids(person_id) == {"Lead": master}
    assert [p.id for p in sf.people()] == [person_id], "the master is Ann, not a new person"
    assert len(sf.leads()) == 1


def test_a_lead_deleted_in_salesforce_unlinks_and_the_person_stays(sf: SalesforceHub) -> None:
    person_id = ann(sf)
    bo_id = ann(sf, email="bo@acme.com", first_name="Bo")
    sf.run()
    lead_id = sf.remote_ids(person_id)["Lead"]

    sf.delete("Lead", lead_id)
    report = sf.run()

    assert report.deleted == 0
    assert sf.person(person_id).deleted_at is None and len(sf.people()) == 2
    assert sf.remote_ids(person_id) == {}, "deletes.from_remote: unlink"
    assert "Lead" in sf.remote_ids(bo_id), "the other person's link is untouched"
    assert [r["Id"] for r in sf.leads()] == [sf.remote_ids(bo_id)["Lead"]], "no Lead re-created"


def test_the_cycle_after_a_salesforce_delete_still_succeeds(sf: SalesforceHub) -> None:
    """The inclusive cursor re-reads the delete after the unlink: it must be a no-op."""
    person_id = ann(sf)
    sf.run()
    sf.delete("Lead", sf.remote_ids(person_id)["Lead"])
    assert sf.run().status == "success"

    after = sf.run()

    assert (after.status, after.writes) == ("success", 0), after.message
    assert sf.errors("open", "retrying") == []


CAMPAIGN_SYNC = ("salesforce-account", "salesforce-lead", "salesforce-contact",
                 "salesforce-campaign", "salesforce-campaign-member")


def test_campaign_members_go_out_with_their_status_labels_and_come_back_by_lead_or_contact(
    sf: SalesforceHub,
) -> None:
    ann_id, bo_id = ann(sf), ann(sf, email="bo@acme.com", first_name="Bo")
    campaign_id = sf.add(Campaign(name="Spring Webinar", type="Webinar", status="Active"))
    sf.add(CampaignMember(person_id=ann_id, campaign_id=campaign_id, status="registered"))
    sf.add(CampaignMember(person_id=bo_id, campaign_id=campaign_id, status="attended"))

    reports = sf.run_all(CAMPAIGN_SYNC)

    assert [r.status for r in reports] == ["success"] * len(CAMPAIGN_SYNC), [
        (r.mapping, r.message) for r in reports]
    [campaign] = sf.rows("Campaign")
    assert (campaign["Name"], campaign["Syncline_Id__c"]) == ("Spring Webinar", campaign_id)
    assert campaign["Status"] == sf.mapped("salesforce-campaign", "status", "Active")
    members = {(m["LeadId"], m["Status"]) for m in sf.rows("CampaignMember")}
    assert members == {
        (sf.remote_ids(ann_id)["Lead"],
         sf.mapped("salesforce-campaign-member", "status", "registered")),
        (sf.remote_ids(bo_id)["Lead"],
         sf.mapped("salesforce-campaign-member", "status", "attended")),
    }
    labels = {s["Label"] for s in sf.rows("CampaignMemberStatus")
              if s["CampaignId"] == campaign["Id"]}
    assert {"Registered", "Attended"} <= labels, "missing statuses are created on demand"

    # Sales adds a Contact of theirs and a Lead of theirs to the campaign.
    contact = sf.insert("Contact", {"LastName": "Ng", "FirstName": "Cy", "Email": "cy@corp.com"})
    lead = sf.insert("Lead", {"LastName": "Diaz", "FirstName": "Di", "Company": "Dex",
                              "Email": "di@dex.io"})
    sf.insert("CampaignMember", {"CampaignId": campaign["Id"], "ContactId": contact,
                                 "Status": "Responded"})
    sf.insert("CampaignMember", {"CampaignId": campaign["Id"], "LeadId": lead,
                                 "Status": "Attended"})

    reports = sf.run_all(CAMPAIGN_SYNC)

    assert all(r.status == "success" for r in reports), [(r.mapping, r.message) for r in reports]
    cy, di = sf.person_by_email("cy@corp.com"), sf.person_by_email("di@dex.io")
    assert sf.remote_ids(cy.id) == {"Contact": contact}
    by_person = {m.person_id: m for m in sf.members()}
    assert set(by_person) == {ann_id, bo_id, cy.id, di.id}
    assert (by_person[cy.id].campaign_id, by_person[cy.id].status) == (campaign_id, "responded")
    assert (by_person[di.id].campaign_id, by_person[di.id].status) == (campaign_id, "attended")
    assert by_person[cy.id].responded is True
    assert sum(r.writes for r in sf.run_all(CAMPAIGN_SYNC)) == 0


class Killed(BaseException):  # noqa: N818 - not an error: a stand-in for kill -9
    """The process dies: nothing after the remote call runs, the local transaction is lost."""


def test_a_crash_after_salesforce_saved_the_leads_makes_no_duplicates(sf: SalesforceHub) -> None:
    people = [ann(sf, email=f"p{i}@acme.com", first_name=f"P{i}") for i in range(5)]

    def crash_after_write(connector: SalesforceConnector) -> None:
        real_write = connector.write

        def write(object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
            real_write(object_name, records)
            raise Killed("killed after Salesforce answered, before the hub committed")

        connector.write = write  # type: ignore[method-assign]

    sf.on_connect = crash_after_write
    with pytest.raises(Killed):
        sf.run()
    assert len(sf.leads()) == 5, "Salesforce saved them before the crash"
    assert sf.links() == [], "the hub never committed the links"

    sf.on_connect = None
    report = sf.run()

    assert report.status == "success" and report.created_remote == 0, report.as_json()
    leads = sf.leads()
    assert sorted(r["Syncline_Id__c"] for r in leads) == sorted(people), "one Lead per person"
    for person_id in people:
        lead_id = sf.remote_ids(person_id)["Lead"]
        assert sf.get("Lead", lead_id)["Syncline_Id__c"] == person_id
    assert len(sf.people()) == 5, "no hub person made from our own Leads"
    assert sf.run().writes == 0


def test_a_crash_does_not_make_the_next_cycle_blank_salesforce_defaults(
    sf: SalesforceHub,
) -> None:
    person_id = ann(sf)  # no lead_status: Salesforce gives the Lead its default Status

    def crash_after_write(connector: SalesforceConnector) -> None:
        real_write = connector.write

        def write(object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
            real_write(object_name, records)
            raise Killed("killed after Salesforce answered, before the hub committed")

        connector.write = write  # type: ignore[method-assign]

    sf.on_connect = crash_after_write
    with pytest.raises(Killed):
        sf.run()
    sf.on_connect = None
    [lead] = sf.leads()
    assert lead["Status"] == "Open - Not Contacted", "Salesforce's default"

    sf.run()

    assert sf.get("Lead", lead["Id"])["Status"] == "Open - Not Contacted"
    assert sf.person(person_id).attributes["lead_status"] == "Open", "the default comes in"

def test_api_budget_pauses_the_next_cycle_with_the_usage(sf: SalesforceHub) -> None:
    ann(sf)
    sf.sandbox.limits.daily_max = 100
    for _ in range(85):  # other integrations and people used most of today's allowance
        sf.sandbox.limits.count_call()

    first = sf.run()
    assert first.status == "success" and len(sf.leads()) == 1
    used = sf.sandbox.limits.used
    assert used > 85

    paused = sf.run()

    assert (paused.status, paused.api_calls) == ("paused", 0)
    assert sf.sandbox.limits.used == used, "a paused cycle calls nothing"
    [error] = sf.errors("open", "retrying")
    assert (error.code, error.level) == ("API_BUDGET_REACHED", "job")
    assert f"salesforce has used {used} of its 100 daily API calls ({used}%)" in error.message
    assert error.hint is not None and "api_budget" in error.hint
