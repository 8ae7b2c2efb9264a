"""Platform messages over several rows: QualifyLead and marketing list membership."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandboxes.dynamics.errors import (
    INVALID_ARGUMENT,
    LEAD_ALREADY_CLOSED,
    DataverseError,
    not_found,
)

if TYPE_CHECKING:
    from sandboxes.dynamics.store import Environment

# list.createdfromcode → the member entity.
MEMBER_ENTITY = {1: "account", 2: "contact", 4: "lead"}
_CONTACT_FIELDS = (
    "firstname", "middlename", "lastname", "salutation", "jobtitle", "emailaddress1",
    "emailaddress2", "telephone1", "mobilephone", "address1_line1", "address1_city",
    "address1_stateorprovince", "address1_postalcode", "address1_country", "donotemail",
    "donotbulkemail", "donotphone", "preferredcontactmethodcode",
)  # fmt: skip
_ACCOUNT_FIELDS = {
    "companyname": "name", "websiteurl": "websiteurl", "telephone1": "telephone1",
    "address1_city": "address1_city", "address1_country": "address1_country",
    "numberofemployees": "numberofemployees", "revenue": "revenue",
}  # fmt: skip


def _copy(lead: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {
        target: lead[source] for source, target in mapping.items() if lead.get(source) is not None
    }


def qualify_lead(
    env: Environment,
    guid: str,
    *,
    create_account: bool,
    create_contact: bool,
    create_opportunity: bool,
) -> dict[str, str | None]:
    """Qualify an open lead: create account/contact/opportunity from it, close it as Qualified.

    As in Dataverse, no account is created when the lead has no company name.
    """
    lead = env.get("lead", guid)
    leadid = lead["leadid"]
    if lead["statecode"] != 0:
        # The List's LeadAlreadyInClosedState, in its words.
        raise DataverseError(LEAD_ALREADY_CLOSED, "The lead is already closed.")
    origin = {"originatingleadid@odata.bind": f"leads({leadid})"}
    result: dict[str, str | None] = {"accountid": None, "contactid": None, "opportunityid": None}
    if create_account and lead.get("companyname"):
        result["accountid"] = env.create("account", {**_copy(lead, _ACCOUNT_FIELDS), **origin})
    if create_contact:
        values = {name: lead[name] for name in _CONTACT_FIELDS if lead.get(name) is not None}
        if result["accountid"]:
            values["parentcustomerid_account@odata.bind"] = f"accounts({result['accountid']})"
        result["contactid"] = env.create("contact", {**values, **origin})
        if result["accountid"]:
            env.update(
                "account", result["accountid"],
                {"primarycontactid@odata.bind": f"contacts({result['contactid']})"},
            )  # fmt: skip
    if create_opportunity:
        values = {"name": lead.get("subject") or lead.get("fullname") or "Opportunity", **origin}
        if lead.get("estimatedamount") is not None:
            values["estimatedvalue"] = lead["estimatedamount"]
        if lead.get("_campaignid_value"):
            values["campaignid@odata.bind"] = f"campaigns({lead['_campaignid_value']})"
        if result["accountid"]:
            values["parentaccountid@odata.bind"] = f"accounts({result['accountid']})"
            values["customerid_account@odata.bind"] = f"accounts({result['accountid']})"
        if result["contactid"]:
            values["parentcontactid@odata.bind"] = f"contacts({result['contactid']})"
            if not result["accountid"]:
                values["customerid_contact@odata.bind"] = f"contacts({result['contactid']})"
        result["opportunityid"] = env.create("opportunity", values)
    closing: dict[str, Any] = {"statecode": 1, "statuscode": 3}
    if result["accountid"]:
        closing["parentaccountid@odata.bind"] = f"accounts({result['accountid']})"
    if result["contactid"]:
        closing["parentcontactid@odata.bind"] = f"contacts({result['contactid']})"
    if result["opportunityid"]:
        closing["qualifyingopportunityid@odata.bind"] = f"opportunities({result['opportunityid']})"
    env.update("lead", leadid, closing)
    return result


def _static_list(env: Environment, list_id: str) -> dict:
    marketing_list = env.get("list", list_id)
    if marketing_list.get("type"):
        raise DataverseError(
            INVALID_ARGUMENT, "Members cannot be added to or removed from a dynamic list."
        )
    return marketing_list


def add_list_member(env: Environment, list_id: str, entity_guid: str) -> str:
    """AddMemberList: a listmember row for (list, member); the existing one when already there."""
    marketing_list = _static_list(env, list_id)
    member_entity = MEMBER_ENTITY[marketing_list["createdfromcode"]]
    member = env.get(member_entity, entity_guid)
    member_id = member[env.metadata.entity(member_entity).primary_id]
    existing = env.membership(marketing_list["listid"], member_id)
    if existing is not None:
        return existing
    listmember_id = env.create_system(
        "listmember",
        {
            "_listid_value": marketing_list["listid"],
            "_listid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "list",
            "_entityid_value": member_id,
            "_entityid_value@Microsoft.Dynamics.CRM.lookuplogicalname": member_entity,
        },
    )
    recount_list(env, marketing_list["listid"])
    return listmember_id


def remove_list_member(env: Environment, list_id: str, entity_guid: str) -> None:
    """RemoveMemberList: delete the (list, member) row; 404 when it is not a member."""
    marketing_list = _static_list(env, list_id)
    existing = env.membership(marketing_list["listid"], entity_guid)
    if existing is None:
        raise not_found("listmember", entity_guid)
    env.delete("listmember", existing)


def recount_list(env: Environment, list_id: str) -> None:
    """Keep `list.membercount` equal to the list's membership rows."""
    if env.find("list", list_id) is None:
        return
    env.set_system_values("list", list_id, {"membercount": env.member_count(list_id)})
