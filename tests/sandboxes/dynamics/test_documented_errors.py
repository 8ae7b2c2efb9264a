"""The Dataverse sandbox answers, code and words, as Microsoft documents the error.

Sources: "Web service error codes (Microsoft Dataverse)" (the List), "Troubleshoot Dataverse
Web API client errors" and "Compose HTTP requests and handle errors" on learn.microsoft.com.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.sandboxes.dynamics.test_app import Api, entity_guid


@pytest.fixture
def sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sb:
        yield sb


@pytest.fixture
def api(sandbox: DynamicsSandbox) -> Api:
    return Api(sandbox)


def test_a_table_without_track_changes_is_change_tracking_not_enabled(
    sandbox: DynamicsSandbox, api: Api
) -> None:
    sandbox.env.metadata.entity("campaign").change_tracking = False
    response = api.get("campaigns?$select=name", headers={"Prefer": "odata.track-changes"})
    assert response.status_code == 400
    # ChangeTrackingNotEnabledForEntity (the List): "Entity {0} isn't enabled for change tracking."
    assert response.json()["error"] == {
        "code": "0x80072491", "message": "Entity campaign isn't enabled for change tracking."}


def test_an_unreadable_delta_token_is_expired_version_stamp(api: Api) -> None:
    response = api.get("leads?$select=lastname&$deltatoken=not-a-token")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80044352",
        "message": "Version stamp associated with the client has expired. Please perform a "
                   "full sync."}


def test_qualifying_a_closed_lead_is_lead_already_in_closed_state(
    sandbox: DynamicsSandbox, api: Api
) -> None:
    lead = api.create_lead(companyname="Acme")
    sandbox.env.qualify_lead(lead)
    response = api.post(f"leads({lead})/Microsoft.Dynamics.CRM.QualifyLead", json={
        "CreateAccount": False, "CreateContact": True, "CreateOpportunity": False,
        "Status": 3})
    assert response.status_code == 400
    # LeadAlreadyInClosedState (the List), in its words.
    assert response.json()["error"] == {"code": "0x80040519",
                                        "message": "The lead is already closed."}


def test_a_bad_navigation_property_is_odata_client_payload_error(api: Api) -> None:
    response = api.post("contacts", json={
        "lastname": "contact",
        "parentcustomerid@odata.bind": f"accounts({uuid.uuid4()})"})
    assert response.status_code == 400
    error = response.json()["error"]
    # The client errors page's example, word for word up to the inner exception.
    assert error["code"] == "0x80048d19"
    assert error["message"].startswith(
        "Error identified in Payload provided by the user for Entity :'contacts', For more "
        "information on this error please follow this help link "
        "https://go.microsoft.com/fwlink/?linkid=2195293  ---->  InnerException : "
        "Microsoft.OData.ODataException: An undeclared property 'parentcustomerid' which only "
        "has property annotations in the payload but no property value was found in the "
        "payload.")


def test_a_value_of_the_wrong_type_is_odata_client_payload_error(api: Api) -> None:
    response = api.post("leads", json={"lastname": "L", "numberofemployees": "many"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80048d19"
    assert error["message"].startswith(
        "Error identified in Payload provided by the user for Entity :'leads',")
    assert error["message"].endswith(
        "InnerException : Microsoft.OData.ODataException: Cannot convert the literal 'many' to "
        "the expected type 'Edm.Int32'.")


def test_an_unknown_column_is_the_documented_invalid_property(api: Api) -> None:
    response = api.post("leads", json={"lastname": "L", "Name": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x0",
        "message": "An error occurred while validating input parameters: "
                   "Microsoft.Crm.CrmException: Invalid property 'Name' was found in entity "
                   "'Microsoft.Dynamics.CRM.lead'. ---> Microsoft.OData.ODataException: Does "
                   "not support untyped value in non-open type."}


def test_a_status_outside_its_state_is_invalid_state_code_status_code(api: Api) -> None:
    lead = api.create_lead()
    response = api.patch(f"leads({lead})", json={"statecode": 0, "statuscode": 3},
                         headers={"If-Match": "*"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80048408",
        "message": "State code is invalid or state code is valid but status code is invalid "
                   "for a specified state code."}


def test_an_injected_503_carries_the_documented_unexpected_error(
    sandbox: DynamicsSandbox, api: Api
) -> None:
    sandbox.faults.inject("transient", 1)
    response = api.get("leads")
    assert response.status_code == 503
    assert response.json()["error"] == {"code": "0x80040216",
                                        "message": "An unexpected error occurred."}


def test_documented_codes_already_right_stay_so(api: Api) -> None:
    lead = api.create_lead()
    stale = api.patch(f"leads({lead})", json={"firstname": "A"}, headers={"If-Match": 'W/"999"'})
    assert stale.status_code == 412
    assert stale.json()["error"] == {
        "code": "0x80060882",
        "message": "The version of the existing record doesn't match the RowVersion property "
                   "provided."}
    missing = api.get("Account")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "0x8006088a", "message": "Resource not found for the segment 'Account'."}
    created = api.post("leads", json={"lastname": "X"})
    assert entity_guid(created)
