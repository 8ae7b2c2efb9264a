"""Lead conversion and record merge: the platform operations that retire a record into another."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sandboxes.salesforce.errors import SalesforceError

if TYPE_CHECKING:
    from sandboxes.salesforce.org import Org

# Lead field → field on the record conversion creates (the standard lead field mapping).
_ACCOUNT_FROM_LEAD = {
    "Company": "Name",
    "Website": "Website",
    "Phone": "Phone",
    "Industry": "Industry",
    "AnnualRevenue": "AnnualRevenue",
    "NumberOfEmployees": "NumberOfEmployees",
    "Rating": "Rating",
    "LeadSource": "AccountSource",
    "Street": "BillingStreet",
    "City": "BillingCity",
    "State": "BillingState",
    "PostalCode": "BillingPostalCode",
    "Country": "BillingCountry",
}
_CONTACT_FROM_LEAD = {
    "Salutation": "Salutation",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Title": "Title",
    "Email": "Email",
    "Phone": "Phone",
    "MobilePhone": "MobilePhone",
    "Street": "MailingStreet",
    "City": "MailingCity",
    "State": "MailingState",
    "PostalCode": "MailingPostalCode",
    "Country": "MailingCountry",
    "LeadSource": "LeadSource",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
    "DoNotCall": "DoNotCall",
    "Description": "Description",
}
MERGEABLE = ("Lead", "Contact", "Account")


def convert_lead(
    org: Org,
    lead_id: str,
    *,
    account_id: str | None,
    contact_id: str | None,
    do_not_create_opportunity: bool,
    converted_status: str | None,
    user_id: str,
) -> dict:
    """Convert a lead into an Account, a Contact and (optionally) an Opportunity."""
    schema = org.schema
    lead = org._live_row(schema.objects["Lead"], lead_id)
    if lead["IsConverted"]:
        raise SalesforceError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    status = converted_status or next(iter(schema.lead_converted_statuses), None)
    if status is None or (
        schema.lead_converted_statuses and status not in schema.lead_converted_statuses
    ):
        raise SalesforceError("INVALID_STATUS", f"invalid convertedStatus: {status}")
    owner = lead["OwnerId"]

    account_meta = schema.objects["Account"]
    if account_id is not None:
        account = org._live_row(account_meta, account_id)
    else:
        fields = _mapped(lead, _ACCOUNT_FROM_LEAD, {"OwnerId": owner})
        account = org._tables["Account"][org._create(account_meta, fields, user_id)]

    contact_meta = schema.objects["Contact"]
    shared_custom = {
        name: name
        for name, meta in schema.objects["Lead"].fields.items()
        if meta.custom and not meta.external_id and contact_meta.field(name) is not None
    }
    mapping = {**_CONTACT_FROM_LEAD, **shared_custom}
    if contact_id is not None:
        contact = org._live_row(contact_meta, contact_id)
        # An existing contact keeps its values; the lead only fills the blanks.
        fills = {
            target: value
            for target, value in _mapped(lead, mapping, {"AccountId": account["Id"]}).items()
            if contact.get(target) in (None, "", False)
        }
        contact = org._change(contact_meta, contact, fills, user_id)
    else:
        fields = _mapped(lead, mapping, {"AccountId": account["Id"], "OwnerId": owner})
        contact = org._tables["Contact"][org._create(contact_meta, fields, user_id)]

    opportunity_id = None
    if not do_not_create_opportunity:
        opportunity_meta = schema.objects["Opportunity"]
        first_stage = opportunity_meta.fields["StageName"].picklist_values[0].value
        fields = {
            "Name": f"{lead['Company'] or lead['Name']}-"[:120],
            "StageName": first_stage,
            "CloseDate": _quarter_end(org.today()).isoformat(),
            "AccountId": account["Id"],
            "OwnerId": owner,
        }
        if lead["LeadSource"] is not None:
            fields["LeadSource"] = lead["LeadSource"]
        opportunity_id = org._create(opportunity_meta, fields, user_id)
        org._create(
            schema.objects["OpportunityContactRole"],
            {"OpportunityId": opportunity_id, "ContactId": contact["Id"], "IsPrimary": True},
            user_id,
        )

    org._change(
        schema.objects["Lead"],
        lead,
        {
            "IsConverted": True,
            "ConvertedDate": org.today().isoformat(),
            "ConvertedAccountId": account["Id"],
            "ConvertedContactId": contact["Id"],
            "ConvertedOpportunityId": opportunity_id,
            "Status": status,
        },
        user_id,
        system=True,
    )
    # The lead's campaign memberships now name the contact too (a sync sees them change).
    member_meta = schema.objects["CampaignMember"]
    for member in _children(org, lead["Id"], "CampaignMember"):
        if (member["CampaignId"], contact["Id"]) not in org.store.members:
            org._change(member_meta, member, {"ContactId": contact["Id"]}, user_id, system=True)
    return {"accountId": account["Id"], "contactId": contact["Id"], "opportunityId": opportunity_id}


def merge(org: Org, sobject: str, master_id: str, loser_ids: list[str], user_id: str) -> None:
    """Merge 1-2 records into a master: children move to it, the losers are deleted."""
    meta = org.schema.get(sobject)
    if meta.name not in MERGEABLE:
        raise SalesforceError("INVALID_OPERATION", f"Merge is not supported for {meta.name}.")
    if not loser_ids:
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [recordToMergeIds]"
        )
    if len(loser_ids) > 2:
        raise SalesforceError(
            "LIMIT_EXCEEDED", "A single merge request must contain at most 3 records to merge."
        )
    master = org._live_row(meta, master_id)
    losers = [org._live_row(meta, loser_id) for loser_id in loser_ids]
    ids = [master["Id"], *(loser["Id"] for loser in losers)]
    if len(set(ids)) != len(ids):
        raise SalesforceError("INVALID_OPERATION", "Cannot merge a record with itself.")
    if meta.name == "Lead" and any(row["IsConverted"] for row in [master, *losers]):
        raise SalesforceError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    for loser in losers:
        _reparent_children(org, loser["Id"], master["Id"], user_id)
        loser = org._change(meta, loser, {"MasterRecordId": master["Id"]}, user_id, system=True)
        org._soft_delete(meta, loser, user_id)
    org._touch(meta, org._tables[meta.name][master["Id"]], user_id)


def _reparent_children(org: Org, loser_id: str, master_id: str, user_id: str) -> None:
    for child_sobject, child_id in sorted(org.store.children.get(loser_id, ())):
        child = org._tables[child_sobject][child_id]
        if child["IsDeleted"]:
            continue
        child_meta = org.schema.objects[child_sobject]
        if (
            child_sobject == "CampaignMember"
            and (child["CampaignId"], master_id) in org.store.members
        ):
            # The master is already in that campaign: the loser's membership goes away.
            org._soft_delete(child_meta, child, user_id)
            continue
        moved = {
            name: master_id
            for name in org.store.cascading[child_sobject]
            if child[name] == loser_id
        }
        org._change(child_meta, child, moved, user_id, system=True)


def _children(org: Org, parent_id: str, sobject: str) -> list[dict]:
    table = org._tables[sobject]
    return [
        table[child_id]
        for child_sobject, child_id in sorted(org.store.children.get(parent_id, ()))
        if child_sobject == sobject and not table[child_id]["IsDeleted"]
    ]


def _mapped(source: dict, mapping: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    fields = {
        target: source[name]
        for name, target in mapping.items()
        if source.get(name) not in (None, "")
    }
    fields.update(extra)
    return fields


def _quarter_end(today: date) -> date:
    last_month = (today.month - 1) // 3 * 3 + 3
    next_month_first = date(today.year + last_month // 12, last_month % 12 + 1, 1)
    return date.fromordinal(next_month_first.toordinal() - 1)
