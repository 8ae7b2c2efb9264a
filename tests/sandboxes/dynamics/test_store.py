"""The Dataverse sandbox's Environment: CRUD, keys, validation, change tracking, messages."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sandboxes.dynamics.errors import DataverseError
from sandboxes.dynamics.store import Environment


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 10, 22, 31, 456000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def env(clock: FakeClock) -> Environment:
    return Environment(clock=clock)


def error_of(call, *args, **kwargs) -> DataverseError:
    with pytest.raises(DataverseError) as caught:
        call(*args, **kwargs)
    return caught.value


# ---------------------------------------------------------------------- create / get


def test_create_returns_a_lower_case_guid_and_fills_system_columns(env: Environment) -> None:
    guid = env.create("lead", {"firstname": "Yvonne", "lastname": "McKay", "subject": "Demo"})
    assert guid == str(uuid.UUID(guid))
    row = env.get("lead", guid)
    assert row["leadid"] == guid
    assert row["fullname"] == "Yvonne McKay"
    assert (row["statecode"], row["statuscode"]) == (0, 1)
    assert row["createdon"] == row["modifiedon"] == "2024-05-01T10:22:31Z"
    assert row["_ownerid_value"] == env.default_user_id
    assert row["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    assert row["emailaddress1"] is None  # unset columns read as null
    assert row["_parentcontactid_value"] is None


def test_versionnumber_is_one_counter_across_entities(env: Environment) -> None:
    lead = env.create("lead", {"lastname": "A"})
    account = env.create("account", {"name": "B"})
    first, second = (
        env.get("lead", lead)["versionnumber"],
        env.get("account", account)["versionnumber"],
    )
    assert second == first + 1
    env.update("lead", lead, {"firstname": "X"})
    assert env.get("lead", lead)["versionnumber"] == second + 1 == env.version


def test_update_moves_modifiedon_and_recomputes_fullname(
    env: Environment, clock: FakeClock
) -> None:
    guid = env.create("contact", {"firstname": "Ann", "lastname": "Lee"})
    clock.advance(90)
    env.update("contact", guid, {"lastname": "Long"})
    row = env.get("contact", guid)
    assert row["fullname"] == "Ann Long"
    assert row["createdon"] == "2024-05-01T10:22:31Z"
    assert row["modifiedon"] == "2024-05-01T10:24:01Z"


def test_create_with_a_supplied_id_keeps_it_lower_cased(env: Environment) -> None:
    wanted = "6A5C3D2E-1F0B-4C3D-9E8F-7A6B5C4D3E2F"
    assert env.create("lead", {"leadid": wanted, "lastname": "X"}) == wanted.lower()
    error = error_of(env.create, "lead", {"leadid": wanted, "lastname": "Y"})
    assert (error.status, error.code) == (412, "0x80040237")


def test_computed_and_read_only_columns_in_a_payload_are_ignored(env: Environment) -> None:
    guid = env.create("lead", {"lastname": "Real", "fullname": "Fake", "versionnumber": 1})
    row = env.get("lead", guid)
    assert row["fullname"] == "Real"
    assert row["versionnumber"] == env.version


def test_get_missing_row_is_404_with_dataverse_wording(env: Environment) -> None:
    missing = str(uuid.uuid4())
    error = error_of(env.get, "lead", missing)
    assert error.status == 404
    assert error.body() == {
        "error": {"code": "0x80040217", "message": f"lead With Id = {missing} Does Not Exist"}
    }


def test_entities_are_found_by_entity_set_name_too(env: Environment) -> None:
    guid = env.create("leads", {"lastname": "Set"})
    assert env.get("lead", guid)["lastname"] == "Set"
    assert error_of(env.create, "Leads", {}).code == "0x8006088a"


# ---------------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    "form", ["accounts({id})", "/accounts({id})", "https://x/api/data/v9.2/accounts({id})"]
)
def test_odata_bind_sets_the_lookup_and_its_logical_name(env: Environment, form: str) -> None:
    account = env.create("account", {"name": "Acme"})
    contact = env.create(
        "contact", {"lastname": "X", "parentcustomerid_account@odata.bind": form.format(id=account)}
    )
    row = env.get("contact", contact)
    assert row["_parentcustomerid_value"] == account
    assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"


def test_binding_null_clears_a_lookup(env: Environment) -> None:
    account = env.create("account", {"name": "Acme"})
    contact = env.create("contact", {"parentcustomerid_account@odata.bind": f"accounts({account})"})
    env.update("contact", contact, {"parentcustomerid_account@odata.bind": None})
    assert env.get("contact", contact)["_parentcustomerid_value"] is None


def test_binding_a_missing_row_is_404(env: Environment) -> None:
    missing = str(uuid.uuid4())
    error = error_of(env.create, "lead", {"parentcontactid@odata.bind": f"contacts({missing})"})
    assert (error.status, error.message) == (404, f"contact With Id = {missing} Does Not Exist")


def test_binding_the_wrong_entity_set_or_navigation_fails(env: Environment) -> None:
    lead = env.create("lead", {"lastname": "L"})
    wrong_set = error_of(
        env.create, "contact", {"parentcustomerid_account@odata.bind": f"leads({lead})"}
    )
    assert wrong_set.status == 400
    unknown = error_of(env.create, "contact", {"parentcustomerid@odata.bind": f"leads({lead})"})
    assert unknown.code == "0x80048d19"
    assert "undeclared property 'parentcustomerid'" in unknown.message


def test_lookup_value_properties_are_read_only(env: Environment) -> None:
    error = error_of(env.create, "contact", {"_parentcustomerid_value": str(uuid.uuid4())})
    assert error.code == "0x0", "an unknown property, as the client errors page documents it"


# ---------------------------------------------------------------------- validation


def test_unknown_attribute_is_refused(env: Environment) -> None:
    error = error_of(env.create, "lead", {"lastname": "X", "foo": 1})
    # "Troubleshoot Dataverse Web API client errors": code 0x0 and these words.
    assert (error.status, error.code) == (400, "0x0")
    assert error.message == (
        "An error occurred while validating input parameters: Microsoft.Crm.CrmException: "
        "Invalid property 'foo' was found in entity 'Microsoft.Dynamics.CRM.lead'. ---> "
        "Microsoft.OData.ODataException: Does not support untyped value in non-open type.")


def test_string_longer_than_max_length_is_refused(env: Environment) -> None:
    assert len(env.create("lead", {"firstname": "x" * 50})) == 36
    error = error_of(env.create, "lead", {"firstname": "x" * 51})
    assert error.code == "0x80044331"
    assert (
        "The length of the 'firstname' attribute of the 'lead' entity exceeded the maximum "
        "allowed length of '50'." in error.message
    )


def test_option_set_value_outside_the_range_is_refused(env: Environment) -> None:
    assert env.get("lead", env.create("lead", {"leadsourcecode": 8}))["leadsourcecode"] == 8
    error = error_of(env.create, "lead", {"leadsourcecode": 99})
    assert error.code == "0x8004431a"
    assert error.message == (
        "A validation error occurred. The value 99 of 'leadsourcecode' on record of type "
        "'lead' is outside the valid range."
    )


@pytest.mark.parametrize(
    ("values", "edm"),
    [
        ({"numberofemployees": "12"}, "Edm.Int32"),
        ({"donotemail": "yes"}, "Edm.Boolean"),
        ({"firstname": 5}, "Edm.String"),
        ({"revenue": True}, "Edm.Decimal"),
    ],
)
def test_values_of_the_wrong_type_are_refused(env: Environment, values: dict, edm: str) -> None:
    error = error_of(env.create, "lead", values)
    assert error.code == "0x80048d19"
    assert f"to the expected type '{edm}'" in error.message


def test_datetimes_are_stored_in_utc_at_second_precision(env: Environment) -> None:
    guid = env.create("campaign", {"name": "C", "proposedstart": "2024-06-01T12:30:15.250+02:00"})
    assert env.get("campaign", guid)["proposedstart"] == "2024-06-01T10:30:15Z"


def test_system_required_attribute_must_be_given(env: Environment) -> None:
    error = error_of(env.create, "list", {"createdfromcode": 4})
    assert error.status == 400
    assert "'listname'" in error.message
    marketing_list = env.create("list", {"listname": "L", "createdfromcode": 4})
    cleared = error_of(env.update, "list", marketing_list, {"listname": None})
    assert "'listname'" in cleared.message


def test_application_required_is_enforced_only_when_asked(clock: FakeClock) -> None:
    lenient = Environment(clock=clock)
    assert lenient.create("lead", {"firstname": "No last name"})
    strict = Environment(clock=clock, enforce_application_required=True)
    assert (
        "'lastname'" in error_of(strict.create, "lead", {"firstname": "F", "subject": "S"}).message
    )


def test_status_sets_its_state_and_state_defaults_its_status(env: Environment) -> None:
    guid = env.create("lead", {"lastname": "S"})
    env.update("lead", guid, {"statuscode": 5})
    assert (env.get("lead", guid)["statecode"], env.get("lead", guid)["statuscode"]) == (2, 5)
    env.update("lead", guid, {"statecode": 0})
    assert (env.get("lead", guid)["statecode"], env.get("lead", guid)["statuscode"]) == (0, 1)
    error = error_of(env.update, "lead", guid, {"statecode": 0, "statuscode": 3})
    # InvalidStateCodeStatusCode in Microsoft's "Web service error codes" list.
    assert (error.code, error.message) == (
        "0x80048408", "State code is invalid or state code is valid but status code is invalid "
        "for a specified state code.")


# ---------------------------------------------------------------------- update / If-Match


def test_update_of_a_missing_row_is_404(env: Environment) -> None:
    assert error_of(env.update, "lead", str(uuid.uuid4()), {"lastname": "X"}).status == 404


def test_if_match_checks_the_row_version(env: Environment) -> None:
    guid = env.create("lead", {"lastname": "V"})
    version = env.get("lead", guid)["versionnumber"]
    error = error_of(env.update, "lead", guid, {"lastname": "W"}, if_match=f'W/"{version - 1}"')
    assert (error.status, error.code) == (412, "0x80060882")
    assert error.message == (
        "The version of the existing record doesn't match the RowVersion property provided."
    )
    env.update("lead", guid, {"lastname": "W"}, if_match=f'W/"{version}"')
    env.update("lead", guid, {"lastname": "Z"}, if_match="*")
    assert env.get("lead", guid)["lastname"] == "Z"


def test_delete_honours_if_match_and_then_404s(env: Environment) -> None:
    guid = env.create("lead", {"lastname": "D"})
    stale = env.get("lead", guid)["versionnumber"] + 1
    assert error_of(env.delete, "lead", guid, if_match=f'W/"{stale}"').status == 412
    env.delete("lead", guid)
    assert error_of(env.get, "lead", guid).status == 404
    assert error_of(env.delete, "lead", guid).status == 404


# ---------------------------------------------------------------------- upsert / keys


def test_upsert_by_a_new_guid_creates_with_that_guid(env: Environment) -> None:
    wanted = str(uuid.uuid4())
    assert env.upsert("lead", {"leadid": wanted}, {"lastname": "New"}) == (wanted, True)
    assert env.upsert("lead", {"leadid": wanted}, {"lastname": "Again"}) == (wanted, False)
    assert env.get("lead", wanted)["lastname"] == "Again"


def test_upsert_by_alternate_key_matches_case_insensitively(env: Environment) -> None:
    guid, created = env.upsert("lead", {"syncline_hubid": "Hub-1"}, {"lastname": "One"})
    assert created
    assert env.get("lead", guid)["syncline_hubid"] == "Hub-1"
    assert env.upsert("lead", {"syncline_hubid": "hub-1"}, {"lastname": "Two"}) == (guid, False)
    assert env.get("lead", guid)["lastname"] == "Two"
    assert env.lookup_key("lead", {"syncline_hubid": "HUB-1"}) == guid


def test_upsert_by_email_key_defined_on_lead(env: Environment) -> None:
    guid, _ = env.upsert("lead", {"emailaddress1": "a@b.com"}, {"lastname": "E"})
    assert env.upsert("lead", {"emailaddress1": "a@b.com"}, {"firstname": "F"}) == (guid, False)


def test_create_only_upsert_refuses_an_existing_row(env: Environment) -> None:
    env.upsert("lead", {"syncline_hubid": "h"}, {"lastname": "A"})
    error = error_of(
        env.upsert, "lead", {"syncline_hubid": "h"}, {"lastname": "B"}, if_none_match=True
    )
    assert (error.status, error.code) == (412, "0x80040237")
    assert error.message == "A record with matching key values already exists."
    _, created = env.upsert(
        "lead", {"syncline_hubid": "other"}, {"lastname": "C"}, if_none_match=True
    )
    assert created


def test_upsert_refuses_key_columns_in_the_body_and_undefined_keys(env: Environment) -> None:
    repeated = error_of(env.upsert, "lead", {"syncline_hubid": "h"}, {"syncline_hubid": "h"})
    assert repeated.status == 400 and "syncline_hubid" in repeated.message
    undefined = error_of(env.upsert, "lead", {"lastname": "x"}, {})
    assert "not a defined key for the lead entity" in undefined.message
    assert error_of(env.upsert, "contact", {"emailaddress1": "x@y"}, {}).status == 400


def test_alternate_key_values_must_be_unique_but_nulls_may_repeat(env: Environment) -> None:
    env.create("contact", {"syncline_hubid": "same"})
    error = error_of(env.create, "contact", {"syncline_hubid": "SAME"})
    assert (error.status, error.code) == (412, "0x80040237")
    env.create("contact", {"lastname": "no key 1"})
    env.create("contact", {"lastname": "no key 2"})
    assert len(env.rows("contact")) == 3


def test_changing_a_key_value_frees_the_old_one(env: Environment) -> None:
    guid = env.create("account", {"name": "A", "syncline_hubid": "old"})
    env.update("account", guid, {"syncline_hubid": "new"})
    assert env.lookup_key("account", {"syncline_hubid": "old"}) is None
    assert env.lookup_key("account", {"syncline_hubid": "new"}) == guid


# ---------------------------------------------------------------------- duplicate detection


def test_duplicate_detection_only_when_asked(env: Environment) -> None:
    env.create("contact", {"lastname": "A", "emailaddress1": "dup@x.com"})
    assert env.create("contact", {"lastname": "B", "emailaddress1": "dup@x.com"})
    error = error_of(
        env.create,
        "contact",
        {"lastname": "C", "emailaddress1": " DUP@x.com "},
        detect_duplicates=True,
    )
    assert (error.status, error.code) == (500, "0x80040333")
    assert error.message == (
        "A record was not created or updated because a duplicate of the current record "
        "already exists."
    )


def test_duplicate_detection_on_update_ignores_the_row_itself(env: Environment) -> None:
    first = env.create("contact", {"lastname": "A", "emailaddress1": "a@x.com"})
    second = env.create("contact", {"lastname": "B", "emailaddress1": "b@x.com"})
    env.update("contact", first, {"lastname": "A2"}, detect_duplicates=True)
    error = error_of(
        env.update, "contact", second, {"emailaddress1": "a@x.com"}, detect_duplicates=True
    )
    assert error.code == "0x80040333"


def test_the_email_key_on_lead_refuses_a_second_lead_with_that_email(env: Environment) -> None:
    env.create("lead", {"lastname": "A", "emailaddress1": "a@x.com"})
    second = env.create("lead", {"lastname": "B", "emailaddress1": "b@x.com"})
    error = error_of(env.update, "lead", second, {"emailaddress1": "A@x.com"})
    assert (error.status, error.code) == (412, "0x80040237")


# ---------------------------------------------------------------------- change tracking


def test_changes_since_lists_changed_rows_then_deletions(env: Environment) -> None:
    kept = env.create("lead", {"lastname": "Kept"})
    gone = env.create("lead", {"lastname": "Gone"})
    _, _, token = env.changes_since("lead", 0)
    env.update("lead", kept, {"firstname": "Now"})
    env.delete("lead", gone)
    fresh = env.create("lead", {"lastname": "Fresh"})
    changed, deleted, new_token = env.changes_since("lead", token)
    assert [row["leadid"] for row in changed] == [kept, fresh]
    assert changed[0]["firstname"] == "Now"
    assert deleted == [gone]
    assert new_token == env.version
    assert env.changes_since("lead", new_token) == ([], [], new_token)


def test_a_row_created_and_deleted_between_syncs_shows_as_deleted(env: Environment) -> None:
    _, _, token = env.changes_since("contact", 0)
    brief = env.create("contact", {"lastname": "Brief"})
    env.delete("contact", brief)
    changed, deleted, _ = env.changes_since("contact", token)
    assert changed == []
    assert deleted == [brief]


def test_changes_are_per_entity(env: Environment) -> None:
    env.create("account", {"name": "A"})
    assert env.changes_since("lead", 0)[:2] == ([], [])


def test_tokens_from_before_a_reset_are_refused(env: Environment) -> None:
    env.create("lead", {"lastname": "A"})
    _, _, token = env.changes_since("lead", 0)
    env.reset()
    assert env.rows("lead") == []
    error = error_of(env.changes_since, "lead", token)
    assert (error.code, error.message) == ("0x80044352", "Version stamp associated with the "
                                           "client has expired. Please perform a full sync.")
    assert env.changes_since("lead", env.version)[:2] == ([], [])


# ---------------------------------------------------------------------- deletes cascade


def test_deleting_an_account_cascades_to_its_contacts_and_unlinks_leads(env: Environment) -> None:
    account = env.create("account", {"name": "Parent"})
    contact = env.create("contact", {"parentcustomerid_account@odata.bind": f"accounts({account})"})
    lead = env.create("lead", {"parentaccountid@odata.bind": f"accounts({account})"})
    _, _, token = env.changes_since("lead", 0)
    env.delete("account", account)
    assert env.find("contact", contact) is None
    assert env.get("lead", lead)["_parentaccountid_value"] is None
    assert [row["leadid"] for row in env.changes_since("lead", token)[0]] == [lead]
    assert env.changes_since("contact", 0)[1] == [contact]


# ---------------------------------------------------------------------- savepoints


def test_savepoint_rolls_back_rows_keys_and_tombstones(env: Environment) -> None:
    existing = env.create("lead", {"lastname": "Stay", "syncline_hubid": "k1"})
    version = env.version
    with pytest.raises(DataverseError), env.savepoint():
        env.create("lead", {"lastname": "New", "syncline_hubid": "k2"})
        env.update("lead", existing, {"lastname": "Changed"})
        env.delete("lead", existing)
        env.create("lead", {"firstname": "x" * 51})
    assert [row["lastname"] for row in env.rows("lead")] == ["Stay"]
    assert env.lookup_key("lead", {"syncline_hubid": "k2"}) is None
    assert env.lookup_key("lead", {"syncline_hubid": "k1"}) == existing
    assert env.changes_since("lead", version) == ([], [], env.version)


def test_nested_savepoints(env: Environment) -> None:
    with env.savepoint():
        env.create("lead", {"lastname": "Outer"})
        with pytest.raises(RuntimeError), env.savepoint():
            env.create("lead", {"lastname": "Inner"})
            raise RuntimeError
        assert [row["lastname"] for row in env.rows("lead")] == ["Outer"]
    assert [row["lastname"] for row in env.rows("lead")] == ["Outer"]
    with pytest.raises(RuntimeError), env.savepoint():
        with env.savepoint():
            env.create("lead", {"lastname": "Committed inner"})
        raise RuntimeError
    assert [row["lastname"] for row in env.rows("lead")] == ["Outer"]


# ---------------------------------------------------------------------- qualification


def test_qualify_lead_creates_account_contact_and_opportunity(env: Environment) -> None:
    lead = env.create(
        "lead",
        {
            "firstname": "Ann",
            "lastname": "Lee",
            "emailaddress1": "ann@acme.com",
            "companyname": "Acme",
            "jobtitle": "CTO",
            "telephone1": "555",
            "subject": "Big deal",
        },
    )
    ids = env.qualify_lead(lead)
    account = env.get("account", ids["accountid"])
    contact = env.get("contact", ids["contactid"])
    opportunity = env.get("opportunity", ids["opportunityid"])
    assert account["name"] == "Acme"
    assert account["_originatingleadid_value"] == lead
    assert (contact["fullname"], contact["emailaddress1"], contact["jobtitle"]) == (
        "Ann Lee",
        "ann@acme.com",
        "CTO",
    )
    assert contact["_parentcustomerid_value"] == ids["accountid"]
    assert contact["_originatingleadid_value"] == lead
    assert opportunity["name"] == "Big deal"
    assert opportunity["_parentcontactid_value"] == ids["contactid"]
    assert opportunity["_parentaccountid_value"] == ids["accountid"]
    assert opportunity["_originatingleadid_value"] == lead
    qualified = env.get("lead", lead)
    assert (qualified["statecode"], qualified["statuscode"]) == (1, 3)
    assert qualified["_parentcontactid_value"] == ids["contactid"]
    assert qualified["_parentaccountid_value"] == ids["accountid"]
    assert qualified["_qualifyingopportunityid_value"] == ids["opportunityid"]
    env.update("lead", lead, {"description": "still editable"})
    assert error_of(env.qualify_lead, lead).status == 400


def test_qualify_without_company_creates_no_account(env: Environment) -> None:
    lead = env.create("lead", {"lastname": "Solo"})
    ids = env.qualify_lead(lead, create_opportunity=False)
    assert ids["accountid"] is None and ids["opportunityid"] is None
    assert env.get("contact", ids["contactid"])["_parentcustomerid_value"] is None
    assert env.rows("opportunity") == []


def test_a_failed_qualification_leaves_nothing_behind(env: Environment) -> None:
    lead = env.create("lead", {"lastname": "L", "companyname": "Acme"})
    env.create("account", {"name": "Taken", "syncline_hubid": "x"})
    env.update("lead", lead, {"statecode": 2})
    with pytest.raises(DataverseError):
        env.qualify_lead(lead)
    assert len(env.rows("account")) == 1
    assert env.rows("contact") == []


# ---------------------------------------------------------------------- marketing lists


def test_list_members_are_added_once_and_counted(env: Environment) -> None:
    marketing_list = env.create("list", {"listname": "Webinar", "createdfromcode": 4})
    lead = env.create("lead", {"lastname": "Member"})
    member = env.add_list_member(marketing_list, lead)
    assert env.add_list_member(marketing_list, lead) == member
    row = env.get("listmember", member)
    assert (row["_listid_value"], row["_entityid_value"]) == (marketing_list, lead)
    assert row["_entityid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "lead"
    assert len(env.rows("listmember")) == 1
    assert env.get("list", marketing_list)["membercount"] == 1
    env.remove_list_member(marketing_list, lead)
    assert env.rows("listmember") == []
    assert env.get("list", marketing_list)["membercount"] == 0


def test_list_members_must_be_of_the_lists_type(env: Environment) -> None:
    marketing_list = env.create("list", {"listname": "Contacts", "createdfromcode": 2})
    lead = env.create("lead", {"lastname": "Wrong type"})
    assert error_of(env.add_list_member, marketing_list, lead).status == 404
    dynamic = env.create("list", {"listname": "Dyn", "createdfromcode": 4, "type": True})
    assert error_of(env.add_list_member, dynamic, lead).status == 400


def test_deleting_a_member_or_list_removes_memberships(env: Environment) -> None:
    marketing_list = env.create("list", {"listname": "L", "createdfromcode": 4})
    leads = [env.create("lead", {"lastname": f"M{n}"}) for n in range(3)]
    for lead in leads:
        env.add_list_member(marketing_list, lead)
    env.delete("lead", leads[0])
    assert env.get("list", marketing_list)["membercount"] == 2
    env.delete("list", marketing_list)
    assert env.rows("listmember") == []
    assert env.membership(marketing_list, leads[1]) is None


# ---------------------------------------------------------------------- concurrency


def test_concurrent_creates_get_distinct_ids_and_versions(env: Environment) -> None:
    def work(worker: int) -> None:
        for n in range(200):
            env.upsert("contact", {"syncline_hubid": f"{worker}-{n}"}, {"lastname": "T"})

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = env.rows("contact")
    assert len(rows) == 800
    assert len({row["versionnumber"] for row in rows}) == 800
