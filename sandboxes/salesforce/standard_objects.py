"""Standard metadata of the objects the sandbox serves: fields, picklist values, relationships."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PicklistValue:
    """One picklist entry as describe shows it."""

    value: str
    label: str
    active: bool = True
    default: bool = False


@dataclass
class FieldMeta:
    """Metadata of one field (the keys of a describe field entry, in Python names)."""

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    calculated: bool = False
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    case_sensitive: bool = False
    custom: bool = False
    name_field: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0
    picklist_values: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    # For reference fields: the parent's name for the list of children, and whether deleting
    # the parent deletes the child (Account -> Contacts, Lead -> CampaignMembers, ...).
    child_relationship_name: str | None = None
    cascade_delete: bool = False
    default_value: object = None

    @property
    def required(self) -> bool:
        """Whether a create must supply a value (what the UI marks with a red bar)."""
        return (
            not self.nillable
            and self.createable
            and not self.defaulted_on_create
            and self.type != "boolean"
        )

    @property
    def default_picklist_value(self) -> str | None:
        """The picklist value marked default, if any."""
        return next((item.value for item in self.picklist_values if item.default), None)


def _label_from_name(name: str) -> str:
    """A Salesforce-style label from an API name: `ConvertedAccountId` → `Converted Account ID`."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b|[0-9])|[A-Z]?[a-z]+|[0-9]+|[A-Z]+", name)
    return " ".join("ID" if word == "Id" else word for word in words)


def F(name: str, type_: str, label: str | None = None, **attributes: object) -> FieldMeta:  # noqa: N802
    """A field with Salesforce's usual defaults for its type (lengths, digits, booleans)."""
    defaults: dict[str, object] = {}
    if type_ in ("string", "email", "phone", "url", "picklist", "multipicklist"):
        defaults["length"] = {"email": 80, "phone": 40, "multipicklist": 4099}.get(type_, 255)
    elif type_ == "textarea":
        defaults["length"] = 255
    elif type_ in ("id", "reference"):
        defaults["length"] = 18
    elif type_ == "boolean":
        defaults.update(nillable=False, defaulted_on_create=True, default_value=False)
    elif type_ == "int":
        defaults["digits"] = 9
    elif type_ in ("double", "currency", "percent"):
        defaults.update(precision=18, scale=2 if type_ != "percent" else 0)
    defaults.update(attributes)
    return FieldMeta(name=name, type=type_, label=label or _label_from_name(name), **defaults)


def picklist(*values: str, default: str | None = None) -> tuple[PicklistValue, ...]:
    """Picklist entries whose labels equal their values."""
    return tuple(PicklistValue(value, value, default=value == default) for value in values)


def read_only(field_meta: FieldMeta) -> FieldMeta:
    """The same field, neither createable nor updateable (system-maintained)."""
    field_meta.createable = False
    field_meta.updateable = False
    return field_meta


LEAD_SOURCES = picklist("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRIES = picklist(
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other",
)  # fmt: skip
RATINGS = picklist("Hot", "Warm", "Cold")
SALUTATIONS = picklist("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")
LEAD_STATUSES = picklist(
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
    default="Open - Not Contacted",
)
# The Lead Status values that mean "converted" (the LeadStatus object's IsConverted flag).
LEAD_CONVERTED_STATUSES = ("Closed - Converted",)
ACCOUNT_TYPES = picklist(
    "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
    "Installation Partner", "Technology Partner", "Other",
)  # fmt: skip
CAMPAIGN_TYPES = picklist(
    "Advertisement", "Banner Ads", "Conference", "Direct Mail", "Email", "Partners",
    "Public Relations", "Referral Program", "Seminar / Conference", "Telemarketing",
    "Trade Show", "Webinar", "Other",
)  # fmt: skip
CAMPAIGN_STATUSES = picklist("Planned", "In Progress", "Completed", "Aborted", default="Planned")
# The statuses every new campaign gets: (Label, IsDefault, HasResponded, SortOrder).
DEFAULT_CAMPAIGN_MEMBER_STATUSES = (("Sent", True, False, 1), ("Responded", False, True, 2))
OPPORTUNITY_TYPES = picklist(
    "Existing Customer - Upgrade", "Existing Customer - Replacement",
    "Existing Customer - Downgrade", "New Customer",
)  # fmt: skip


@dataclass(frozen=True)
class Stage:
    """An opportunity stage and what it implies (the OpportunityStage object)."""

    name: str
    probability: int
    closed: bool
    won: bool
    forecast_category: str


OPPORTUNITY_STAGES = (
    Stage("Prospecting", 10, False, False, "Pipeline"),
    Stage("Qualification", 10, False, False, "Pipeline"),
    Stage("Needs Analysis", 20, False, False, "Pipeline"),
    Stage("Value Proposition", 50, False, False, "Pipeline"),
    Stage("Id. Decision Makers", 60, False, False, "Pipeline"),
    Stage("Perception Analysis", 70, False, False, "Pipeline"),
    Stage("Proposal/Price Quote", 75, False, False, "Pipeline"),
    Stage("Negotiation/Review", 90, False, False, "Pipeline"),
    Stage("Closed Won", 100, True, True, "Closed"),
    Stage("Closed Lost", 0, True, False, "Omitted"),
)
STAGE_BY_NAME = {stage.name: stage for stage in OPPORTUNITY_STAGES}
CONTACT_ROLES = picklist(
    "Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker", "Evaluator",
    "Executive Sponsor", "Influencer", "Technical Buyer", "Other",
)  # fmt: skip


@dataclass
class ObjectDefinition:
    """An object's standard definition: names, key prefix, capabilities and fields in order."""

    name: str
    label: str
    label_plural: str
    fields: list[FieldMeta]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    mergeable: bool = False
    has_owner: bool = True
    #: Whether getUpdated/getDeleted serve it (describe's ``replicateable``).
    replicateable: bool = True
    extra: dict = field(default_factory=dict)


def _system_fields(has_owner: bool) -> tuple[list[FieldMeta], list[FieldMeta]]:
    """The fields every object has, split into those listed first and those listed last."""
    head = [
        F("Id", "id", "Record ID", nillable=False, createable=False, updateable=False,
          defaulted_on_create=True, id_lookup=True, case_sensitive=False),
        F("IsDeleted", "boolean", "Deleted", createable=False, updateable=False),
    ]  # fmt: skip
    tail = [
        F("CreatedDate", "datetime", "Created Date", nillable=False, createable=False,
          updateable=False, defaulted_on_create=True),
        _user_reference("CreatedById", "Created By ID", "CreatedBy", nillable=False,
                        createable=False, updateable=False, defaulted_on_create=True),
        F("LastModifiedDate", "datetime", "Last Modified Date", nillable=False,
          createable=False, updateable=False, defaulted_on_create=True),
        _user_reference("LastModifiedById", "Last Modified By ID", "LastModifiedBy",
                        nillable=False, createable=False, updateable=False,
                        defaulted_on_create=True),
        F("SystemModstamp", "datetime", "System Modstamp", nillable=False, createable=False,
          updateable=False, defaulted_on_create=True),
    ]  # fmt: skip
    if has_owner:
        head.append(
            _user_reference("OwnerId", "Owner ID", "Owner", nillable=False,
                            defaulted_on_create=True)
        )  # fmt: skip
    return head, tail


def _user_reference(name: str, label: str, relationship: str, **attributes: object) -> FieldMeta:
    return F(name, "reference", label, reference_to=("User",), relationship_name=relationship,
             **attributes)  # fmt: skip


def ref(name: str, target: str, relationship: str, children: str | None = None,
        **attributes: object) -> FieldMeta:  # fmt: skip
    """A lookup to `target`; `children` names the parent's child relationship."""
    return F(name, "reference", reference_to=(target,), relationship_name=relationship,
             child_relationship_name=children, **attributes)  # fmt: skip


def _person_fields(address_prefix: str) -> list[FieldMeta]:
    """Name, contact channels and address (Lead: `Street`; Contact: `MailingStreet`)."""
    return [
        F("LastName", "string", "Last Name", length=80, nillable=False),
        F("FirstName", "string", "First Name", length=40),
        F("Salutation", "picklist", picklist_values=SALUTATIONS, length=40),
        read_only(F("Name", "string", "Full Name", length=121, nillable=False,
                    calculated=False, name_field=True, defaulted_on_create=False)),
        F("Title", "string", length=128),
        F(f"{address_prefix}Street", "textarea", length=255),
        F(f"{address_prefix}City", "string", length=40),
        F(f"{address_prefix}State", "string", length=80),
        F(f"{address_prefix}PostalCode", "string", length=20),
        F(f"{address_prefix}Country", "string", length=80),
        F("Phone", "phone"),
        F("MobilePhone", "phone", "Mobile Phone"),
        F("Email", "email"),
        F("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
        F("DoNotCall", "boolean", "Do Not Call"),
    ]  # fmt: skip


def _lead() -> ObjectDefinition:
    fields = [
        ref("MasterRecordId", "Lead", "MasterRecord", createable=False, updateable=False,
            label="Master Record ID"),
        *_person_fields(""),
        F("Company", "string", length=255, nillable=False),
        F("Website", "url"),
        F("Description", "textarea", length=32000),
        F("LeadSource", "picklist", "Lead Source", picklist_values=LEAD_SOURCES),
        F("Status", "picklist", "Status", picklist_values=LEAD_STATUSES, nillable=False,
          defaulted_on_create=True),
        F("Industry", "picklist", picklist_values=INDUSTRIES),
        F("Rating", "picklist", picklist_values=RATINGS),
        F("AnnualRevenue", "currency", "Annual Revenue", scale=0),
        F("NumberOfEmployees", "int", "Employees", digits=8),
        read_only(F("IsConverted", "boolean", "Converted")),
        read_only(F("ConvertedDate", "date", "Converted Date")),
        read_only(ref("ConvertedAccountId", "Account", "ConvertedAccount")),
        read_only(ref("ConvertedContactId", "Contact", "ConvertedContact")),
        read_only(ref("ConvertedOpportunityId", "Opportunity", "ConvertedOpportunity")),
        read_only(F("IsUnreadByOwner", "boolean", "Unread By Owner")),
        read_only(F("LastActivityDate", "date", "Last Activity")),
    ]  # fmt: skip
    return ObjectDefinition("Lead", "Lead", "Leads", fields, mergeable=True)


def _contact() -> ObjectDefinition:
    fields = [
        ref("MasterRecordId", "Contact", "MasterRecord", createable=False, updateable=False,
            label="Master Record ID"),
        ref("AccountId", "Account", "Account", "Contacts", cascade_delete=True,
            label="Account ID"),
        *_person_fields("Mailing"),
        F("Department", "string", length=80),
        F("Birthdate", "date"),
        F("LeadSource", "picklist", "Lead Source", picklist_values=LEAD_SOURCES),
        F("Description", "textarea", length=32000),
        read_only(F("LastActivityDate", "date", "Last Activity")),
    ]  # fmt: skip
    return ObjectDefinition("Contact", "Contact", "Contacts", fields, mergeable=True)


def _account() -> ObjectDefinition:
    fields = [
        ref("MasterRecordId", "Account", "MasterRecord", createable=False, updateable=False,
            label="Master Record ID"),
        F("Name", "string", "Account Name", length=255, nillable=False, name_field=True),
        F("Type", "picklist", "Account Type", picklist_values=ACCOUNT_TYPES),
        ref("ParentId", "Account", "Parent", "ChildAccounts", label="Parent Account ID"),
        F("BillingStreet", "textarea", length=255),
        F("BillingCity", "string", length=40),
        F("BillingState", "string", "Billing State/Province", length=80),
        F("BillingPostalCode", "string", "Billing Zip/Postal Code", length=20),
        F("BillingCountry", "string", length=80),
        F("ShippingCountry", "string", length=80),
        F("Phone", "phone", "Account Phone"),
        F("Fax", "phone", "Account Fax"),
        F("AccountNumber", "string", length=40),
        F("Website", "url"),
        F("Industry", "picklist", picklist_values=INDUSTRIES),
        F("AnnualRevenue", "currency", "Annual Revenue", scale=0),
        F("NumberOfEmployees", "int", "Employees", digits=8),
        F("Rating", "picklist", "Account Rating", picklist_values=RATINGS),
        F("AccountSource", "picklist", "Account Source", picklist_values=LEAD_SOURCES),
        F("Description", "textarea", "Account Description", length=32000),
        read_only(F("LastActivityDate", "date", "Last Activity")),
    ]  # fmt: skip
    return ObjectDefinition("Account", "Account", "Accounts", fields, mergeable=True)


def _campaign() -> ObjectDefinition:
    def rollup(name: str, label: str, type_: str = "int") -> FieldMeta:
        # Roll-ups the platform maintains from members and opportunities.
        return read_only(F(name, type_, label, defaulted_on_create=True, default_value=0))

    fields = [
        F("Name", "string", "Campaign Name", length=80, nillable=False, name_field=True),
        ref("ParentId", "Campaign", "Parent", "ChildCampaigns", label="Parent Campaign ID"),
        F("Type", "picklist", picklist_values=CAMPAIGN_TYPES),
        F("Status", "picklist", picklist_values=CAMPAIGN_STATUSES, defaulted_on_create=True),
        F("StartDate", "date", "Start Date"),
        F("EndDate", "date", "End Date"),
        F("ExpectedRevenue", "currency", "Expected Revenue in Campaign", scale=0),
        F("BudgetedCost", "currency", "Budgeted Cost in Campaign", scale=0),
        F("ActualCost", "currency", "Actual Cost in Campaign", scale=0),
        F("ExpectedResponse", "percent", "Expected Response (%)", precision=10, scale=2),
        F("NumberSent", "double", "Num Sent in Campaign", scale=0),
        F("IsActive", "boolean", "Active"),
        F("Description", "textarea", length=32000),
        rollup("NumberOfLeads", "Leads in Campaign"),
        rollup("NumberOfConvertedLeads", "Converted Leads in Campaign"),
        rollup("NumberOfContacts", "Contacts in Campaign"),
        rollup("NumberOfResponses", "Responses in Campaign"),
        rollup("NumberOfOpportunities", "Opportunities in Campaign"),
        rollup("NumberOfWonOpportunities", "Won Opportunities in Campaign"),
        rollup("AmountAllOpportunities", "Value Opportunities in Campaign", "currency"),
        rollup("AmountWonOpportunities", "Value Won Opportunities in Campaign", "currency"),
        read_only(F("LastActivityDate", "date", "Last Activity")),
    ]  # fmt: skip
    return ObjectDefinition("Campaign", "Campaign", "Campaigns", fields)


def _campaign_member() -> ObjectDefinition:
    fields = [
        ref("CampaignId", "Campaign", "Campaign", "CampaignMembers", cascade_delete=True,
            nillable=False, updateable=False, label="Campaign ID"),
        ref("LeadId", "Lead", "Lead", "CampaignMembers", cascade_delete=True, updateable=False,
            label="Lead ID"),
        ref("ContactId", "Contact", "Contact", "CampaignMembers", cascade_delete=True,
            updateable=False, label="Contact ID"),
        read_only(F("LeadOrContactId", "reference", "Lead or Contact ID",
                    reference_to=("Contact", "Lead"))),
        F("Status", "picklist", picklist_values=picklist("Sent", "Responded", default="Sent"),
          length=40, defaulted_on_create=True),
        read_only(F("HasResponded", "boolean", "Responded")),
        read_only(F("FirstRespondedDate", "date", "First Responded Date")),
    ]  # fmt: skip
    return ObjectDefinition(
        "CampaignMember", "Campaign Member", "Campaign Members", fields, has_owner=False
    )


def _campaign_member_status() -> ObjectDefinition:
    fields = [
        ref("CampaignId", "Campaign", "Campaign", "CampaignMemberStatuses", cascade_delete=True,
            nillable=False, updateable=False, label="Campaign ID"),
        F("Label", "string", "Member Status", length=765, nillable=False),
        F("IsDefault", "boolean", "Default"),
        F("HasResponded", "boolean", "Responded"),
        F("SortOrder", "int", "Sort Order", digits=9),
    ]  # fmt: skip
    return ObjectDefinition(
        "CampaignMemberStatus", "Campaign Member Status", "Campaign Member Statuses", fields,
        has_owner=False,
    )  # fmt: skip


def _opportunity() -> ObjectDefinition:
    stages = tuple(PicklistValue(stage.name, stage.name) for stage in OPPORTUNITY_STAGES)
    fields = [
        ref("AccountId", "Account", "Account", "Opportunities", cascade_delete=True,
            label="Account ID"),
        F("Name", "string", length=120, nillable=False, name_field=True),
        F("Description", "textarea", length=32000),
        F("StageName", "picklist", "Stage", picklist_values=stages, nillable=False),
        F("Amount", "currency"),
        F("Probability", "percent", "Probability (%)", precision=3, scale=0,
          defaulted_on_create=True),
        read_only(F("ExpectedRevenue", "currency", "Expected Amount", calculated=True)),
        F("CloseDate", "date", "Close Date", nillable=False),
        F("Type", "picklist", "Opportunity Type", picklist_values=OPPORTUNITY_TYPES),
        F("NextStep", "string", "Next Step", length=255),
        F("LeadSource", "picklist", "Lead Source", picklist_values=LEAD_SOURCES),
        read_only(F("IsClosed", "boolean", "Closed")),
        read_only(F("IsWon", "boolean", "Won")),
        F("ForecastCategoryName", "picklist", "Forecast Category",
          picklist_values=picklist("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
          defaulted_on_create=True),
        ref("CampaignId", "Campaign", "Campaign", "Opportunities", label="Campaign ID"),
        read_only(F("LastActivityDate", "date", "Last Activity")),
    ]  # fmt: skip
    return ObjectDefinition("Opportunity", "Opportunity", "Opportunities", fields)


def _opportunity_contact_role() -> ObjectDefinition:
    fields = [
        ref("OpportunityId", "Opportunity", "Opportunity", "OpportunityContactRoles",
            cascade_delete=True, nillable=False, updateable=False, label="Opportunity ID"),
        ref("ContactId", "Contact", "Contact", "OpportunityContactRoles", cascade_delete=True,
            nillable=False, label="Contact ID"),
        F("Role", "picklist", picklist_values=CONTACT_ROLES, length=40),
        F("IsPrimary", "boolean", "Primary"),
    ]  # fmt: skip
    return ObjectDefinition(
        "OpportunityContactRole", "Opportunity Contact Role", "Opportunity Contact Role",
        fields, has_owner=False,
    )  # fmt: skip


#: When a model creates influence records (the Metadata API's recordPreference values).
RECORD_PREFERENCES = picklist("AllRecords", "RecordsWithAttribution")


def _campaign_influence_model() -> ObjectDefinition:
    # Models are set up in Setup (here: the control API); the API can only read them.
    fields = [
        read_only(F("DeveloperName", "string", "Unique Name", length=80, nillable=False)),
        read_only(F("MasterLabel", "string", "Model Name", length=80, nillable=False,
                    name_field=True)),
        read_only(F("Language", "picklist", "Master Language", length=40,
                    picklist_values=picklist("en_US"), restricted_picklist=True)),
        read_only(F("NamespacePrefix", "string", length=15)),
        read_only(F("IsActive", "boolean", "Active")),
        read_only(F("IsDefaultModel", "boolean", "Default Model")),
        read_only(F("IsModelLocked", "boolean", "Locked")),
        read_only(F("ModelDescription", "string", "Model Description", length=255)),
        # The reference documents the field but not its values, so it lists none.
        read_only(F("ModelType", "picklist", "Model Type", length=255)),
        read_only(F("RecordPreference", "picklist", "Record Preference", length=255,
                    picklist_values=RECORD_PREFERENCES)),
    ]  # fmt: skip
    return ObjectDefinition(
        "CampaignInfluenceModel", "Campaign Influence Model", "Campaign Influence Models",
        fields, createable=False, updateable=False, deletable=False, has_owner=False,
        replicateable=False,
    )  # fmt: skip


def _campaign_influence() -> ObjectDefinition:
    fields = [
        ref("CampaignId", "Campaign", "Campaign", cascade_delete=True, nillable=False,
            updateable=False, label="Campaign ID"),
        ref("CampaignMemberId", "CampaignMember", "CampaignMember", updateable=False,
            label="Campaign Member ID"),
        ref("ContactId", "Contact", "Contact", updateable=False, label="Contact ID"),
        F("Influence", "percent", "Influence (%)", precision=18, scale=2,
          defaulted_on_create=True),
        ref("ModelId", "CampaignInfluenceModel", "Model", nillable=False, updateable=False,
            label="Model ID"),
        ref("OpportunityId", "Opportunity", "Opportunity", cascade_delete=True, nillable=False,
            updateable=False, label="Opportunity ID"),
        read_only(F("RevenueShare", "currency", "Revenue Share")),
    ]  # fmt: skip
    return ObjectDefinition(
        "CampaignInfluence", "Campaign Influence", "Campaign Influences", fields,
        has_owner=False,
    )  # fmt: skip


def _user() -> ObjectDefinition:
    # Users are managed in Setup (here: the config file), so the API sees them read-only.
    fields = [
        read_only(F("Username", "string", length=80, nillable=False, unique=True,
                    id_lookup=True)),
        read_only(F("LastName", "string", "Last Name", length=80, nillable=False)),
        read_only(F("FirstName", "string", "First Name", length=40)),
        read_only(F("Name", "string", "Full Name", length=121, nillable=False,
                    name_field=True)),
        read_only(F("Alias", "string", length=8, nillable=False)),
        read_only(F("Email", "email", length=128, nillable=False)),
        read_only(F("Title", "string", length=80)),
        read_only(F("IsActive", "boolean", "Active")),
    ]  # fmt: skip
    return ObjectDefinition(
        "User", "User", "Users", fields, createable=False, updateable=False, deletable=False,
        has_owner=False,
    )  # fmt: skip


def standard_definitions() -> list[ObjectDefinition]:
    """Fresh (mutable) definitions of every standard object, system fields included."""
    definitions = [
        _lead(), _contact(), _account(), _campaign(), _campaign_member(),
        _campaign_member_status(), _opportunity(), _opportunity_contact_role(),
        _campaign_influence_model(), _campaign_influence(), _user(),
    ]  # fmt: skip
    for definition in definitions:
        head, tail = _system_fields(definition.has_owner)
        definition.fields = [*head, *definition.fields, *tail]
    return definitions
