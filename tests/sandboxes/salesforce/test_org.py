import threading
from datetime import UTC, datetime, timedelta

import pytest

from sandboxes.salesforce.config import SandboxConfig
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.org import Org

CONFIG = SandboxConfig.load()


class Clock:
    """A settable clock so tests can move time (and move it backwards)."""

    def __init__(self) -> None:
        # Milliseconds on the clock, none on the stamps: SystemModstamp has whole seconds.
        self.now = datetime(2024, 5, 1, 10, 22, 31, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def org(clock) -> Org:
    return Org(CONFIG, clock=clock)


def lead(**fields):
    return {"LastName": "Doe", "Company": "Acme", **fields}


def failure(call, *args, **kwargs) -> SalesforceError:
    with pytest.raises(SalesforceError) as caught:
        call(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------------- CRUD


def test_insert_sets_system_fields_and_defaults(org):
    record_id = org.insert("Lead", lead(FirstName="Jane", Email="jane@acme.example"))
    row = org.get("Lead", record_id)
    assert record_id.startswith("00Q") and len(record_id) == 18
    assert row["Id"] == record_id
    assert row["Name"] == "Jane Doe"
    assert row["Status"] == "Open - Not Contacted"
    assert row["IsDeleted"] is False and row["IsConverted"] is False
    assert row["OwnerId"] == row["CreatedById"] == org.default_owner_id
    assert row["SystemModstamp"] == row["CreatedDate"] == "2024-05-01T10:22:31.000+0000"
    assert row["Title"] is None


def test_update_changes_only_given_fields_and_bumps_modstamps(org, clock):
    record_id = org.insert("Lead", lead(FirstName="Jane"))
    clock.now += timedelta(seconds=5)
    org.update("lead", record_id[:15], {"title": "CTO", "LastName": "Roe"})
    row = org.get("Lead", record_id)
    assert (row["Title"], row["Name"], row["FirstName"]) == ("CTO", "Jane Roe", "Jane")
    assert row["SystemModstamp"] == row["LastModifiedDate"] == "2024-05-01T10:22:36.000+0000"
    assert row["CreatedDate"] == "2024-05-01T10:22:31.000+0000"


def test_get_with_fields_and_unknown_field(org):
    record_id = org.insert("Lead", lead())
    assert org.get("Lead", record_id, ["Company", "lastname"]) == {
        "Company": "Acme",
        "LastName": "Doe",
    }
    assert failure(org.get, "Lead", record_id, ["Nope"]).code == "INVALID_FIELD"


def test_unknown_malformed_and_wrong_type_ids(org):
    record_id = org.insert("Lead", lead())
    unknown = record_id[:8] + "ZZZZZZZ"
    error = failure(org.get, "Lead", unknown)
    assert (error.code, error.status) == ("NOT_FOUND", 404)
    assert failure(org.update, "Lead", "123", {"Title": "x"}).code == "MALFORMED_ID"
    account_id = org.insert("Account", {"Name": "Acme"})
    assert failure(org.update, "Lead", account_id, {"Title": "x"}).code == "MALFORMED_ID"
    assert failure(org.get, "Nope", record_id).status == 404


def test_delete_keeps_the_row_for_query_all(org, clock):
    record_id = org.insert("Lead", lead())
    clock.now += timedelta(minutes=1)
    org.delete("Lead", record_id)
    error = failure(org.get, "Lead", record_id)
    assert (error.code, error.status) == ("ENTITY_IS_DELETED", 404)
    assert failure(org.delete, "Lead", record_id).code == "ENTITY_IS_DELETED"
    assert failure(org.update, "Lead", record_id, {"Title": "x"}).code == "ENTITY_IS_DELETED"
    assert record_id not in [row["Id"] for row in org.rows("Lead", False)]
    (deleted,) = [row for row in org.rows("Lead", True) if row["Id"] == record_id]
    assert deleted["IsDeleted"] is True
    assert deleted["SystemModstamp"] == "2024-05-01T10:23:31.000+0000"
    assert org.by_id(record_id) == ("Lead", deleted)


def test_deleting_an_account_cascades_to_contacts(org):
    account_id = org.insert("Account", {"Name": "Acme"})
    contact_id = org.insert("Contact", {"LastName": "Doe", "AccountId": account_id})
    org.delete("Account", account_id)
    assert failure(org.get, "Contact", contact_id).code == "ENTITY_IS_DELETED"


def test_users_are_read_only(org):
    assert failure(org.insert, "User", {"LastName": "X"}).code == "INSUFFICIENT_ACCESS_OR_READONLY"
    user = org.get("User", org.default_owner_id)
    assert user["Username"] == CONFIG.users[0].username
    assert [u.username for u in org.users] == [u.username for u in CONFIG.users]


# ------------------------------------------------------------------------- upsert


def test_upsert_creates_then_updates_case_insensitively(org):
    record_id, created = org.upsert("Lead", "Syncline_Id__c", "AbC-1", lead())
    assert created is True
    assert org.get("Lead", record_id)["Syncline_Id__c"] == "AbC-1"
    again, created = org.upsert("Lead", "syncline_id__c", "abc-1", {"Title": "CEO"})
    assert (again, created) == (record_id, False)
    assert org.get("Lead", record_id)["Title"] == "CEO"


def test_upsert_accepts_the_key_in_the_body_when_it_agrees(org):
    record_id, _ = org.upsert("Lead", "Syncline_Id__c", "k1", lead(Syncline_Id__c="k1"))
    assert org.upsert("Lead", "Syncline_Id__c", "k1", {"Syncline_Id__c": "K1"}) == (
        record_id,
        False,
    )
    assert failure(org.upsert, "Lead", "Syncline_Id__c", "k1", {"Syncline_Id__c": "k2"}).code == (
        "INVALID_FIELD"
    )
    assert failure(org.upsert, "Lead", "Syncline_Id__c", "k1", {"Id": record_id}).code == (
        "INVALID_FIELD"
    )


def test_upsert_on_a_non_external_field_is_not_found(org):
    error = failure(org.upsert, "Lead", "Email", "a@b.example", lead())
    assert (error.code, error.status) == ("NOT_FOUND", 404)


def test_upsert_with_several_matches_is_a_300():
    config = SandboxConfig.from_dict(
        {
            "connected_apps": [{"client_id": "a", "client_secret": "b"}],
            "users": [{"username": "u@example.com", "last_name": "U"}],
            "custom_fields": [
                {"object": "Lead", "name": "Legacy_Id__c", "type": "string", "external_id": True}
            ],
        }
    )
    org = Org(config)
    org.insert("Lead", lead(Legacy_Id__c="L-1"))
    org.insert("Lead", lead(LastName="Other", Legacy_Id__c="l-1"))
    error = failure(org.upsert, "Lead", "Legacy_Id__c", "L-1", {"Title": "x"})
    assert (error.code, error.status) == ("MULTIPLE_RECORDS", 300)
    assert len(org.match_ids("Lead", "Legacy_Id__c", "L-1")) == 2


def test_unique_external_id_rejects_a_second_record(org):
    first = org.insert("Lead", lead(Syncline_Id__c="dup"))
    error = failure(org.insert, "Lead", lead(LastName="Two", Syncline_Id__c="DUP"))
    assert error.code == "DUPLICATE_VALUE"
    assert error.message == (
        f"duplicate value found: Syncline_Id__c duplicates value on record with id: {first}"
    )
    org.delete("Lead", first)
    # Recycled rows no longer hold the value.
    assert org.insert("Lead", lead(LastName="Three", Syncline_Id__c="dup"))


# ------------------------------------------------------------------------- validation


def test_required_fields_listed_together(org):
    error = failure(org.insert, "Lead", {"FirstName": "x"})
    assert (error.code, error.message, error.fields) == (
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [LastName, Company]",
        ["LastName", "Company"],
    )
    record_id = org.insert("Lead", lead())
    error = failure(org.update, "Lead", record_id, {"Company": None})
    assert error.message == "Required fields are missing: [Company]"


def test_every_field_problem_of_a_record_is_reported_in_order(org):
    error = failure(
        org.insert,
        "Lead",
        lead(
            Nope__c=1,
            IsConverted=True,
            NumberOfEmployees="many",
            Company="x" * 256,
            LeadSource="Carrier Pigeon",
            Email="not-an-email",
        ),
    )
    assert [item["code"] for item in error.errors] == [
        "INVALID_FIELD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "STRING_TOO_LONG",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_EMAIL_ADDRESS",
    ]
    messages = [item["message"] for item in error.errors]
    assert messages[0] == "No such column 'Nope__c' on sobject of type Lead"
    assert messages[1].startswith("Unable to create/update fields: IsConverted.")
    assert messages[2] == "Employees: value not of required type: many"
    assert messages[3] == f"Company: data value too large: {'x' * 256} (max length=255)"
    assert messages[4] == "Lead Source: bad value for restricted picklist field: Carrier Pigeon"
    assert messages[5] == "Email: invalid email address: not-an-email"
    assert error.errors[4]["fields"] == ["LeadSource"]
    assert org.rows("Lead") == []


def test_values_are_coerced_to_api_json(org):
    record_id = org.insert(
        "Lead",
        lead(
            HasOptedOutOfEmail="true",
            NumberOfEmployees="250",
            AnnualRevenue=1000000,
            Score__c="12.345",
        ),
    )
    row = org.get("Lead", record_id)
    assert row["HasOptedOutOfEmail"] is True
    assert row["NumberOfEmployees"] == 250
    assert row["AnnualRevenue"] == 1000000.0
    assert row["Score__c"] == 12.35
    campaign_id = org.insert(
        "Campaign", {"Name": "Spring", "StartDate": "2024-03-01", "IsActive": True}
    )
    assert org.get("Campaign", campaign_id)["StartDate"] == "2024-03-01"
    assert failure(org.update, "Campaign", campaign_id, {"StartDate": "March"}).code == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD"
    )
    assert failure(org.update, "Campaign", campaign_id, {"IsActive": "perhaps"}).code == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD"
    )


def test_reference_fields_must_point_at_live_records(org):
    account_id = org.insert("Account", {"Name": "Acme"})
    lead_id = org.insert("Lead", lead())
    assert failure(org.insert, "Contact", {"LastName": "D", "AccountId": lead_id}).code == (
        "MALFORMED_ID"
    )
    missing = account_id[:10] + "99999"
    assert failure(org.insert, "Contact", {"LastName": "D", "AccountId": missing}).code == (
        "INVALID_CROSS_REFERENCE_KEY"
    )
    org.delete("Account", account_id)
    assert failure(org.insert, "Contact", {"LastName": "D", "AccountId": account_id}).code == (
        "ENTITY_IS_DELETED"
    )


def test_validation_rules_from_config(org):
    error = failure(org.insert, "Lead", lead(Status="Working - Contacted"))
    assert (error.code, error.message, error.fields) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "A lead being worked needs a phone number so sales can call it.",
        ["Phone"],
    )
    assert org.insert("Lead", lead(Status="Working - Contacted", Phone="+1 555 0100"))
    error = failure(org.insert, "Account", {"Name": "Acme", "Website": "acme.example"})
    assert error.message == "Website must start with http:// or https://"
    assert org.insert("Account", {"Name": "Acme", "Website": "https://acme.example"})


def test_duplicate_rule_blocks_same_email_on_insert_and_update(org):
    first = org.insert("Lead", lead(Email="Jane@Acme.example"))
    error = failure(org.insert, "Lead", lead(Email="jane@acme.example"))
    assert (error.code, error.message, error.fields) == (
        "DUPLICATES_DETECTED",
        "Use one of these records?",
        [],
    )
    other = org.insert("Lead", lead(Email="other@acme.example"))
    assert failure(org.update, "Lead", other, {"Email": "JANE@acme.example"}).code == (
        "DUPLICATES_DETECTED"
    )
    org.update("Lead", first, {"Title": "Saving itself is no duplicate"})
    # Contacts have their own rule; a contact may share a lead's email.
    assert org.insert("Contact", {"LastName": "Doe", "Email": "jane@acme.example"})


def test_converted_status_and_opportunity_stage_derivations(org):
    account_id = org.insert("Account", {"Name": "Acme"})
    opportunity_id = org.insert(
        "Opportunity",
        {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2024-06-30",
         "AccountId": account_id, "Amount": 1000},
    )  # fmt: skip
    row = org.get("Opportunity", opportunity_id)
    assert (row["IsClosed"], row["IsWon"], row["Probability"]) == (False, False, 10.0)
    assert row["ExpectedRevenue"] == 100.0
    org.update("Opportunity", opportunity_id, {"StageName": "Closed Won"})
    row = org.get("Opportunity", opportunity_id)
    assert (row["IsClosed"], row["IsWon"], row["Probability"]) == (True, True, 100.0)
    assert failure(org.update, "Opportunity", opportunity_id, {"IsWon": False}).code == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )


# ------------------------------------------------------------------------- savepoints, stamps


def test_savepoint_undoes_everything_inside_and_nests(org):
    kept = org.insert("Lead", lead(Syncline_Id__c="kept"))
    with pytest.raises(RuntimeError), org.savepoint():
        org.update("Lead", kept, {"Title": "changed"})
        created = org.insert("Lead", lead(Syncline_Id__c="gone"))
        with org.savepoint():
            org.delete("Lead", kept)
        raise RuntimeError("roll back")
    assert org.get("Lead", kept)["Title"] is None
    assert org.by_id(created) is None
    # Indexes were restored too: the ext ids match exactly as before.
    assert org.match_ids("Lead", "Syncline_Id__c", "kept") == [kept]
    assert org.match_ids("Lead", "Syncline_Id__c", "gone") == []


def test_inner_savepoint_failure_keeps_outer_changes(org):
    with org.savepoint():
        outer = org.insert("Lead", lead(LastName="Outer"))
        with pytest.raises(SalesforceError), org.savepoint():
            org.insert("Lead", lead(LastName="Inner"))
            org.insert("Lead", {"LastName": "Bad"})  # no Company
    assert [row["LastName"] for row in org.rows("Lead")] == ["Outer"]
    assert org.get("Lead", outer)


def test_modstamps_never_go_backwards(org, clock):
    first = org.insert("Lead", lead(LastName="One"))
    clock.now -= timedelta(hours=1)
    second = org.insert("Lead", lead(LastName="Two"))
    one, two = org.get("Lead", first), org.get("Lead", second)
    assert two["SystemModstamp"] >= one["SystemModstamp"]
    clock.now += timedelta(hours=2, milliseconds=1)
    org.update("Lead", first, {"Title": "x"})
    assert org.get("Lead", first)["SystemModstamp"] > two["SystemModstamp"]


def test_concurrent_inserts_are_all_kept(org):
    def insert_many(worker: int) -> None:
        for index in range(100):
            org.upsert("Lead", "Syncline_Id__c", f"w{worker}-{index}", lead())

    threads = [threading.Thread(target=insert_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(org.rows("Lead")) == 400


# ------------------------------------------------------------------------- campaigns


def test_campaign_members_statuses_and_roll_ups(org, clock):
    campaign_id = org.insert("Campaign", {"Name": "Webinar", "Type": "Webinar"})
    statuses = sorted(
        (row["Label"], row["IsDefault"], row["HasResponded"])
        for row in org.rows("CampaignMemberStatus")
        if row["CampaignId"] == campaign_id
    )
    assert statuses == [("Responded", False, True), ("Sent", True, False)]
    lead_id = org.insert("Lead", lead())
    member_id = org.insert("CampaignMember", {"CampaignId": campaign_id, "LeadId": lead_id})
    member = org.get("CampaignMember", member_id)
    assert (member["Status"], member["HasResponded"]) == ("Sent", False)
    error = failure(org.insert, "CampaignMember", {"CampaignId": campaign_id, "LeadId": lead_id})
    assert (error.code, error.message) == ("DUPLICATE_VALUE", "Already a campaign member.")
    error = failure(org.update, "CampaignMember", member_id, {"Status": "Attended"})
    assert error.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error.message == "Status: bad value for restricted picklist field: Attended"
    org.update("CampaignMember", member_id, {"Status": "Responded"})
    member = org.get("CampaignMember", member_id)
    assert member["HasResponded"] is True and member["FirstRespondedDate"] == "2024-05-01"
    campaign = org.get("Campaign", campaign_id)
    assert (campaign["NumberOfLeads"], campaign["NumberOfResponses"]) == (1, 1)
    assert failure(org.update, "CampaignMember", member_id, {"CampaignId": campaign_id}).code == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    assert failure(org.insert, "CampaignMember", {"CampaignId": campaign_id}).code == (
        "REQUIRED_FIELD_MISSING"
    )
    org.delete("Lead", lead_id)
    assert failure(org.get, "CampaignMember", member_id).code == "ENTITY_IS_DELETED"
    assert org.get("Campaign", campaign_id)["NumberOfLeads"] == 0


def test_a_custom_member_status_can_be_added(org):
    campaign_id = org.insert("Campaign", {"Name": "Expo"})
    org.insert(
        "CampaignMemberStatus",
        {"CampaignId": campaign_id, "Label": "Attended", "HasResponded": True, "SortOrder": 3},
    )
    contact_id = org.insert("Contact", {"LastName": "Doe"})
    member_id = org.insert(
        "CampaignMember", {"CampaignId": campaign_id, "ContactId": contact_id, "Status": "Attended"}
    )
    assert org.get("CampaignMember", member_id)["HasResponded"] is True


# ------------------------------------------------------------------------- conversion, merge


def test_convert_lead(org, clock):
    lead_id = org.insert(
        "Lead",
        lead(FirstName="Jane", Email="jane@acme.example", Phone="555", Title="CTO",
             Country="France", LeadSource="Web", Score__c=42, Syncline_Id__c="hub-1"),
    )  # fmt: skip
    campaign_id = org.insert("Campaign", {"Name": "Spring"})
    member_id = org.insert("CampaignMember", {"CampaignId": campaign_id, "LeadId": lead_id})
    before = org.get("Lead", lead_id)["SystemModstamp"]
    clock.now += timedelta(seconds=1)
    result = org.convert_lead(lead_id)
    converted = org.get("Lead", lead_id)
    assert converted["IsConverted"] is True
    assert converted["ConvertedDate"] == "2024-05-01"
    assert converted["Status"] == "Closed - Converted"
    assert converted["SystemModstamp"] > before
    assert converted["ConvertedAccountId"] == result["accountId"]
    assert converted["ConvertedContactId"] == result["contactId"]
    assert converted["ConvertedOpportunityId"] == result["opportunityId"]
    contact = org.get("Contact", result["contactId"])
    assert (contact["Name"], contact["Email"], contact["Title"]) == (
        "Jane Doe", "jane@acme.example", "CTO",
    )  # fmt: skip
    assert (contact["MailingCountry"], contact["LeadSource"], contact["Score__c"]) == (
        "France", "Web", 42.0,
    )  # fmt: skip
    assert contact["Syncline_Id__c"] is None  # the hub's lead key stays on the lead
    assert contact["AccountId"] == result["accountId"]
    assert org.get("Account", result["accountId"])["Name"] == "Acme"
    opportunity = org.get("Opportunity", result["opportunityId"])
    assert opportunity["AccountId"] == result["accountId"] and opportunity["IsClosed"] is False
    roles = [row for row in org.rows("OpportunityContactRole") if row["ContactId"] == contact["Id"]]
    assert len(roles) == 1 and roles[0]["IsPrimary"] is True
    assert org.get("CampaignMember", member_id)["ContactId"] == result["contactId"]
    error = failure(org.update, "Lead", lead_id, {"Title": "x"})
    assert (error.code, error.message) == (
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "cannot reference converted lead",
    )
    assert failure(org.convert_lead, lead_id).code == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_convert_into_existing_account_and_contact_without_opportunity(org):
    account_id = org.insert("Account", {"Name": "Existing"})
    contact_id = org.insert("Contact", {"LastName": "Doe", "AccountId": account_id})
    lead_id = org.insert("Lead", lead(Email="doe@acme.example"))
    result = org.convert_lead(
        lead_id, account_id=account_id, contact_id=contact_id, do_not_create_opportunity=True
    )
    assert result == {"accountId": account_id, "contactId": contact_id, "opportunityId": None}
    # The existing contact keeps its values; blanks are filled from the lead.
    assert org.get("Contact", contact_id)["Email"] == "doe@acme.example"
    assert org.rows("Opportunity") == []
    assert len(org.rows("Account")) == 1


def test_a_failed_conversion_changes_nothing(org):
    lead_id = org.insert("Lead", lead(Website="acme.example"))  # breaks the Account rule
    error = failure(org.convert_lead, lead_id)
    assert error.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert org.get("Lead", lead_id)["IsConverted"] is False
    assert org.rows("Account") == [] and org.rows("Contact") == []


def test_merge_moves_children_and_deletes_losers(org, clock):
    campaign_id = org.insert("Campaign", {"Name": "Spring"})
    master = org.insert("Lead", lead(LastName="Master"))
    loser = org.insert("Lead", lead(LastName="Loser"))
    loser_member = org.insert("CampaignMember", {"CampaignId": campaign_id, "LeadId": loser})
    clock.now += timedelta(seconds=1)
    org.merge("Lead", master, [loser])
    gone = org.by_id(loser)[1]
    assert gone["IsDeleted"] is True and gone["MasterRecordId"] == master
    assert gone["SystemModstamp"] == "2024-05-01T10:22:32.000+0000"
    assert org.get("CampaignMember", loser_member)["LeadId"] == master
    assert org.get("Lead", master)["SystemModstamp"] == "2024-05-01T10:22:32.000+0000"


def test_merge_accounts_moves_contacts_and_limits(org):
    master = org.insert("Account", {"Name": "Acme"})
    losers = [org.insert("Account", {"Name": f"Acme {n}"}) for n in range(3)]
    contact = org.insert("Contact", {"LastName": "Doe", "AccountId": losers[0]})
    assert failure(org.merge, "Account", master, losers).code == "LIMIT_EXCEEDED"
    assert failure(org.merge, "Opportunity", master, losers[:1]).code == "INVALID_OPERATION"
    org.merge("Account", master, losers[:2])
    assert org.get("Contact", contact)["AccountId"] == master
    assert len(org.rows("Account")) == 2
