"""Entity metadata of the Dataverse sandbox and its EntityDefinitions / $metadata renderings."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from sandboxes.dynamics.errors import DataverseError
from sandboxes.dynamics.metadata import (
    Metadata,
    attribute_json,
    attributes_json,
    csdl_xml,
    entity_definition_json,
)
from sandboxes.dynamics.standard_entities import standard_entities

METADATA = Metadata(standard_entities())
ENTITY_SETS = {
    "lead": ("leads", "leadid", "fullname"),
    "contact": ("contacts", "contactid", "fullname"),
    "account": ("accounts", "accountid", "name"),
    "campaign": ("campaigns", "campaignid", "name"),
    "list": ("lists", "listid", "listname"),
    "listmember": ("listmembers", "listmemberid", "name"),
    "campaignresponse": ("campaignresponses", "activityid", "subject"),
    "opportunity": ("opportunities", "opportunityid", "name"),
}


@pytest.mark.parametrize(("logical", "names"), ENTITY_SETS.items())
def test_entities_have_their_dataverse_names(logical: str, names: tuple[str, str, str]) -> None:
    entity = METADATA.entity(logical)
    assert (entity.entity_set, entity.primary_id, entity.primary_name) == names
    assert METADATA.by_set(names[0]) is entity
    assert entity.change_tracking
    assert entity.attributes[entity.primary_id].is_primary_id


def test_unknown_entity_is_404_resource_not_found() -> None:
    with pytest.raises(DataverseError) as caught:
        METADATA.by_set("Lead")
    assert caught.value.status == 404
    assert caught.value.body() == {
        "error": {"code": "0x8006088a", "message": "Resource not found for the segment 'Lead'."}
    }


def test_lead_columns_lengths_and_requirement_levels() -> None:
    lead = METADATA.entity("lead")
    lengths = {name: lead.attributes[name].max_length for name in (
        "firstname", "lastname", "companyname", "emailaddress1", "jobtitle", "telephone1",
        "address1_city", "address1_country", "subject", "syncline_hubid",
    )}  # fmt: skip
    assert lengths == {
        "firstname": 50, "lastname": 50, "companyname": 100, "emailaddress1": 100,
        "jobtitle": 100, "telephone1": 50, "address1_city": 80, "address1_country": 80,
        "subject": 300, "syncline_hubid": 32,
    }  # fmt: skip
    assert lead.attributes["lastname"].required_level == "ApplicationRequired"
    assert lead.attributes["fullname"].valid_for_create is False
    assert lead.attributes["createdon"].valid_for_update is False


def test_option_sets_carry_values_labels_and_states() -> None:
    lead = METADATA.entity("lead")
    sources = {option.value: option.label for option in lead.attributes["leadsourcecode"].options}
    assert sources[8] == "Web" and sources[10] == "Other" and len(sources) == 10
    states = {option.value: option.label for option in lead.attributes["statecode"].options}
    assert states == {0: "Open", 1: "Qualified", 2: "Disqualified"}
    statuses = {(o.value, o.label, o.state) for o in lead.attributes["statuscode"].options}
    assert (3, "Qualified", 1) in statuses and (7, "Canceled", 2) in statuses
    assert lead.default_status(2) == 4
    created_from = METADATA.entity("list").attributes["createdfromcode"].option_values
    assert created_from == {1, 2, 4}
    responses = METADATA.entity("campaignresponse").attributes["responsecode"]
    assert responses.option_label(3) == "Do Not Send Marketing Materials"


def test_lookups_targets_and_navigation_properties() -> None:
    contact = METADATA.entity("contact")
    customer = contact.attributes["parentcustomerid"]
    assert customer.attribute_type == "Customer"
    assert customer.targets == ("account", "contact")
    assert contact.bindings["parentcustomerid_account"] == ("parentcustomerid", "account")
    assert contact.bindings["originatingleadid"] == ("originatingleadid", "lead")
    lead = METADATA.entity("lead")
    assert (
        lead.attribute("_qualifyingopportunityid_value").logical_name == "qualifyingopportunityid"
    )
    response = METADATA.entity("campaignresponse")
    assert response.bindings["regardingobjectid_campaign"] == ("regardingobjectid", "campaign")


def test_alternate_keys() -> None:
    assert METADATA.entity("lead").alternate_keys == {
        "syncline_hubid_key": ("syncline_hubid",),
        "emailaddress1_key": ("emailaddress1",),
    }
    for name in ("contact", "account", "campaign"):
        assert METADATA.entity(name).alternate_keys == {"syncline_hubid_key": ("syncline_hubid",)}


def test_entity_definition_json_shape() -> None:
    body = entity_definition_json(METADATA.entity("lead"), expand_attributes=True)
    assert body["LogicalName"] == "lead"
    assert body["EntitySetName"] == "leads"
    assert body["PrimaryIdAttribute"] == "leadid"
    assert body["ChangeTrackingEnabled"] is True
    assert {key["LogicalName"] for key in body["Keys"]} == {
        "syncline_hubid_key",
        "emailaddress1_key",
    }
    by_name = {attribute["LogicalName"]: attribute for attribute in body["Attributes"]}
    firstname = by_name["firstname"]
    assert firstname["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert firstname["AttributeTypeName"] == {"Value": "StringType"}
    assert firstname["MaxLength"] == 50
    assert firstname["RequiredLevel"]["Value"] == "None"
    assert by_name["lastname"]["RequiredLevel"]["Value"] == "ApplicationRequired"
    assert by_name["leadid"]["IsPrimaryId"] is True
    assert by_name["fullname"]["IsPrimaryName"] is True
    assert by_name["parentcontactid"]["Targets"] == ["contact"]
    assert "Attributes" not in entity_definition_json(METADATA.entity("lead"))


def test_option_set_attribute_json() -> None:
    lead = METADATA.entity("lead")
    body = attribute_json(lead, lead.attributes["leadsourcecode"])
    assert body["@odata.type"] == "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    web = next(option for option in body["OptionSet"]["Options"] if option["Value"] == 8)
    assert web["Label"]["UserLocalizedLabel"]["Label"] == "Web"
    status = attribute_json(lead, lead.attributes["statuscode"])
    qualified = status["OptionSet"]["Options"][2]
    assert (qualified["Value"], qualified["State"]) == (3, 1)
    assert len(attributes_json(lead)) == len(lead.attributes)


def test_csdl_document_lists_every_entity_with_key_and_properties() -> None:
    root = ElementTree.fromstring(csdl_xml(METADATA))
    edm = "{http://docs.oasis-open.org/odata/ns/edm}"
    types = {node.get("Name"): node for node in root.iter(f"{edm}EntityType")}
    sets = {node.get("Name"): node.get("EntityType") for node in root.iter(f"{edm}EntitySet")}
    for logical, (entity_set, primary_id, _) in ENTITY_SETS.items():
        assert sets[entity_set] == f"mscrm.{logical}"
        key = types[logical].find(f"{edm}Key/{edm}PropertyRef")
        assert key is not None and key.get("Name") == primary_id
    lead_properties = {
        node.get("Name"): node.get("Type") for node in types["lead"].iter(f"{edm}Property")
    }
    assert lead_properties["firstname"] == "Edm.String"
    assert lead_properties["_parentcontactid_value"] == "Edm.Guid"
    assert lead_properties["modifiedon"] == "Edm.DateTimeOffset"
    assert lead_properties["versionnumber"] == "Edm.Int64"
