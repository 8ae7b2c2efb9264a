from pathlib import Path

import pytest

from sandboxes.salesforce.config import ConfigError, SandboxConfig
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.schema import Schema

OBJECTS = [
    "Lead", "Contact", "Account", "Campaign", "CampaignMember", "CampaignMemberStatus",
    "Opportunity", "OpportunityContactRole", "CampaignInfluenceModel", "CampaignInfluence", "User",
]  # fmt: skip


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(SandboxConfig.load())


def fields_of(describe: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in describe["fields"]}


@pytest.mark.parametrize("sobject", OBJECTS)
def test_describe_has_the_real_top_level_shape(schema, sobject):
    describe = schema.describe(sobject)
    for key in (
        "name", "label", "labelPlural", "keyPrefix", "createable", "updateable", "deletable",
        "queryable", "custom", "fields", "childRelationships", "recordTypeInfos", "urls",
    ):  # fmt: skip
        assert key in describe, key
    assert describe["name"] == sobject
    assert describe["urls"]["sobject"] == f"/services/data/v59.0/sobjects/{sobject}"
    fields = fields_of(describe)
    assert fields["Id"]["type"] == "id" and fields["Id"]["length"] == 18
    for system_field in ("IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"):
        assert system_field in fields


def test_describe_global(schema):
    body = schema.describe_global("60.0")
    assert body["maxBatchSize"] == 200 and body["encoding"] == "UTF-8"
    names = {entry["name"]: entry for entry in body["sobjects"]}
    assert set(names) == set(OBJECTS)
    assert names["Lead"]["keyPrefix"] == "00Q"
    assert names["Lead"]["urls"]["describe"] == "/services/data/v60.0/sobjects/Lead/describe"
    assert names["User"]["createable"] is False


def test_lead_fields_types_and_requiredness(schema):
    fields = fields_of(schema.describe("Lead"))
    expected_types = {
        "Email": "email", "Phone": "phone", "Website": "url", "LeadSource": "picklist",
        "HasOptedOutOfEmail": "boolean", "NumberOfEmployees": "int", "AnnualRevenue": "currency",
        "ConvertedDate": "date", "SystemModstamp": "datetime", "OwnerId": "reference",
        "Description": "textarea", "Company": "string",
    }  # fmt: skip
    for name, field_type in expected_types.items():
        assert fields[name]["type"] == field_type, name
    assert fields["LastName"]["nillable"] is False
    assert fields["Company"]["nillable"] is False and fields["Company"]["length"] == 255
    assert fields["Status"]["defaultedOnCreate"] is True
    assert fields["Name"]["createable"] is False and fields["Name"]["updateable"] is False
    assert fields["IsConverted"]["updateable"] is False
    assert fields["ConvertedContactId"]["referenceTo"] == ["Contact"]
    assert fields["ConvertedContactId"]["relationshipName"] == "ConvertedContact"
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    statuses = [entry["value"] for entry in fields["Status"]["picklistValues"]]
    # The standard four, and the two the default org adds as marketing orgs do.
    assert statuses == [
        "Open - Not Contacted", "Marketing Qualified", "Working - Contacted", "Recycled",
        "Closed - Converted", "Closed - Not Converted",
    ]  # fmt: skip
    defaults = [
        entry["value"] for entry in fields["Status"]["picklistValues"] if entry["defaultValue"]
    ]
    assert defaults == ["Open - Not Contacted"]


def test_custom_fields_come_from_config(schema):
    for sobject in ("Lead", "Contact", "Account", "Campaign", "CampaignMember", "Opportunity"):
        field = fields_of(schema.describe(sobject))["Syncline_Id__c"]
        assert field["custom"] is True
        assert (field["externalId"], field["unique"], field["idLookup"]) == (True, True, True)
        assert field["length"] == 32 and field["type"] == "string"
    assert fields_of(schema.describe("Lead"))["Score__c"]["type"] == "double"
    assert "Score__c" not in fields_of(schema.describe("Account"))


def test_restricted_picklist_override(schema):
    lead_source = fields_of(schema.describe("Lead"))["LeadSource"]
    assert lead_source["restrictedPicklist"] is True
    assert "Web" in [entry["value"] for entry in lead_source["picklistValues"]]
    assert fields_of(schema.describe("Account"))["Industry"]["restrictedPicklist"] is False


def test_child_relationships(schema):
    children = {
        (entry["childSObject"], entry["field"]): entry
        for entry in schema.describe("Account")["childRelationships"]
    }
    assert children[("Contact", "AccountId")]["relationshipName"] == "Contacts"
    assert children[("Contact", "AccountId")]["cascadeDelete"] is True
    lead_children = {
        entry["relationshipName"] for entry in schema.describe("Lead")["childRelationships"]
    }
    assert "CampaignMembers" in lead_children


def test_campaign_member_and_opportunity_read_only_fields(schema):
    member = fields_of(schema.describe("CampaignMember"))
    assert (
        member["CampaignId"]["createable"] is True and member["CampaignId"]["updateable"] is False
    )
    assert member["HasResponded"]["createable"] is False
    opportunity = fields_of(schema.describe("Opportunity"))
    assert (
        opportunity["IsClosed"]["updateable"] is False
        and opportunity["IsWon"]["createable"] is False
    )
    stages = [entry["value"] for entry in opportunity["StageName"]["picklistValues"]]
    assert stages[0] == "Prospecting" and {"Closed Won", "Closed Lost"} <= set(stages)


def test_names_are_case_insensitive_and_unknown_objects_404(schema):
    assert schema.describe("lead")["name"] == "Lead"
    with pytest.raises(SalesforceError) as caught:
        schema.describe("Nope__c")
    assert caught.value.code == "NOT_FOUND" and caught.value.status == 404


# ------------------------------------------------------------------------- config


def test_default_config_values():
    config = SandboxConfig.load()
    assert config.default_api_version == "59.0"
    assert {"57.0", "62.0"} <= set(config.api_versions)
    assert config.daily_api_limit == 100_000
    assert config.connected_app.client_id and config.api_user.password
    assert [rule.object for rule in config.duplicate_rules] == ["Lead", "Contact"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sandbox.yaml"
    path.write_text(text)
    return path


BASE = """
connected_apps: [{client_id: a, client_secret: b}]
users: [{username: u@example.com, last_name: U, password: p}]
"""


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("custom_fields: [{object: Lead, name: X__c, type: strng}]", "custom_fields[0].type"),
        ("custom_fields: [{object: Nope, name: X__c, type: string}]", "custom_fields[0].object"),
        ("custom_fields: [{object: Lead, name: NoSuffix, type: string}]", "custom_fields[0].name"),
        ("limits: {daily_api_requests: lots}", "limits.daily_api_requests"),
        ("api: {versions: ['59.0'], default_version: '60.0'}", "api.default_version"),
        ("bogus: 1", "bogus"),
        ("picklists: {Lead.Nope: {restricted: true}}", "picklists.Lead.Nope"),
        (
            "validation_rules: [{object: Lead, name: R, error_message: M, "
            "when: {field: Phone, op: sounds_like, value: x}}]",
            "validation_rules[0].when.op",
        ),
        (
            "validation_rules: [{object: Lead, name: R, error_message: M, "
            "when: {all: [{field: Fax2, op: blank}]}}]",
            "validation_rules[0].when.all[0].field",
        ),
        (
            "duplicate_rules: [{object: Lead, name: D, fields: [Emial]}]",
            "duplicate_rules[0].fields[0]",
        ),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, extra, key):
    path = write(tmp_path, BASE + extra + "\n")
    with pytest.raises(ConfigError) as caught:
        SandboxConfig.load(path)
    assert str(path) in str(caught.value)
    assert f": {key}:" in str(caught.value)


def test_missing_and_unparseable_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        SandboxConfig.load(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        SandboxConfig.load(write(tmp_path, "users: [unclosed"))
    with pytest.raises(ConfigError, match="connected_apps"):
        SandboxConfig.load(write(tmp_path, "users: [{username: u, last_name: U}]"))


def test_config_custom_picklist_and_field_overrides(tmp_path):
    path = write(
        tmp_path,
        BASE
        + """
custom_fields:
  - {object: Contact, name: Tier__c, type: picklist, values: [Gold, Silver], restricted: true}
picklists:
  Lead.Status: {values: [New, Done], default: New}
""",
    )
    schema = Schema(SandboxConfig.load(path))
    tier = fields_of(schema.describe("Contact"))["Tier__c"]
    assert tier["restrictedPicklist"] is True
    assert [entry["value"] for entry in tier["picklistValues"]] == ["Gold", "Silver"]
    status = fields_of(schema.describe("Lead"))["Status"]
    assert [(e["value"], e["defaultValue"]) for e in status["picklistValues"]] == [
        ("New", True),
        ("Done", False),
    ]
