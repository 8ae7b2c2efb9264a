"""The default entity definitions: lead, contact, account, campaign, list, listmember, ..."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sandboxes.dynamics.metadata import AttributeMeta, EntityMeta, OptionMeta

#: The custom column every synced table carries (the hub's id), and its alternate key.
HUB_ID = "syncline_hubid"
HUB_ID_KEY = "syncline_hubid_key"


# ------------------------------------------------------------------ attribute builders


def text(
    name: str,
    max_length: int,
    required: str = "None",
    *,
    primary: bool = False,
    custom: bool = False,
) -> AttributeMeta:
    """A String column."""
    return AttributeMeta(
        name, "String", max_length, required, is_primary_name=primary, is_custom=custom
    )


def memo(name: str, max_length: int) -> AttributeMeta:
    """A Memo (multi-line text) column."""
    return AttributeMeta(name, "Memo", max_length)


def number(
    name: str, kind: str = "Integer", low: float = -2147483648, high: float = 2147483647
) -> AttributeMeta:
    """An Integer, Decimal or Money column with its range."""
    return AttributeMeta(name, kind, min_value=low, max_value=high)


def money(name: str) -> AttributeMeta:
    """A Money column (Dataverse's range: ±922,337,203,685,477)."""
    return number(name, "Money", -922337203685477, 922337203685477)


def flag(name: str) -> AttributeMeta:
    """A Boolean (two options) column."""
    return AttributeMeta(name, "Boolean")


def when(name: str) -> AttributeMeta:
    """A DateTime column the caller may write."""
    return AttributeMeta(name, "DateTime")


def choice(name: str, options: Iterable[tuple[int, str]], required: str = "None") -> AttributeMeta:
    """A Picklist (choice) column."""
    return AttributeMeta(
        name,
        "Picklist",
        required_level=required,
        options=tuple(OptionMeta(value, label) for value, label in options),
    )


def lookup(
    name: str,
    *targets: str,
    required: str = "None",
    navigation: Iterable[tuple[str, str]] | None = None,
) -> AttributeMeta:
    """A Lookup column; a Customer column when it targets both account and contact.

    Navigation properties follow Dataverse: a single-target lookup binds as `<name>`, a
    polymorphic one as `<name>_<target>` (`parentcustomerid_account@odata.bind`).
    """
    kind = "Customer" if set(targets) == {"account", "contact"} else "Lookup"
    if navigation is None:
        if len(targets) == 1:
            navigation = [(name, targets[0])]
        else:
            navigation = [(f"{name}_{target}", target) for target in targets]
    return AttributeMeta(
        name,
        kind,
        required_level=required,
        targets=tuple(targets),
        navigation=tuple(navigation),
    )


def _states(pairs: Iterable[tuple[int, str]]) -> AttributeMeta:
    return AttributeMeta(
        "statecode",
        "State",
        required_level="SystemRequired",
        valid_for_create=False,
        options=tuple(OptionMeta(value, label) for value, label in pairs),
    )


def _statuses(triples: Iterable[tuple[int, str, int]]) -> AttributeMeta:
    return AttributeMeta(
        "statuscode",
        "Status",
        options=tuple(OptionMeta(value, label, state) for value, label, state in triples),
    )


def _system(primary_id: str) -> list[AttributeMeta]:
    """Columns every table has: the id, owner, created/modified stamps and the row version."""
    return [
        AttributeMeta(
            primary_id,
            "Uniqueidentifier",
            required_level="SystemRequired",
            valid_for_update=False,
            is_primary_id=True,
        ),
        AttributeMeta(
            "ownerid",
            "Owner",
            required_level="SystemRequired",
            targets=("systemuser", "team"),
            navigation=(("ownerid", "systemuser"),),
        ),
        AttributeMeta("createdon", "DateTime", valid_for_create=False, valid_for_update=False),
        AttributeMeta("modifiedon", "DateTime", valid_for_create=False, valid_for_update=False),
        AttributeMeta("overriddencreatedon", "DateTime", valid_for_update=False),
        AttributeMeta("versionnumber", "BigInt", valid_for_create=False, valid_for_update=False),
    ]


def _computed_fullname() -> AttributeMeta:
    # Dataverse composes fullname from first/middle/last name; callers cannot write it.
    return AttributeMeta(
        "fullname",
        "String",
        160,
        valid_for_create=False,
        valid_for_update=False,
        is_primary_name=True,
    )


def _person_columns() -> list[AttributeMeta]:
    return [
        text("firstname", 50),
        text("middlename", 50),
        text("lastname", 50, "ApplicationRequired"),
        _computed_fullname(),
        text("salutation", 100),
        text("jobtitle", 100),
        text("emailaddress1", 100),
        text("emailaddress2", 100),
        text("telephone1", 50),
        text("mobilephone", 50),
        text("address1_line1", 250),
        text("address1_city", 80),
        text("address1_stateorprovince", 50),
        text("address1_postalcode", 20),
        text("address1_country", 80),
        memo("description", 2000),
        flag("donotemail"),
        flag("donotbulkemail"),
        flag("donotphone"),
        choice(
            "preferredcontactmethodcode",
            [(1, "Any"), (2, "Email"), (3, "Phone"), (4, "Fax"), (5, "Mail")],
        ),
        text(HUB_ID, 32, custom=True),
    ]


LEAD_SOURCES = [
    (1, "Advertisement"),
    (2, "Employee Referral"),
    (3, "External Referral"),
    (4, "Partner"),
    (5, "Public Relations"),
    (6, "Seminar"),
    (7, "Trade Show"),
    (8, "Web"),
    (9, "Word of Mouth"),
    (10, "Other"),
]


def _entity(
    logical_name: str,
    entity_set: str,
    primary_id: str,
    primary_name: str,
    columns: list[AttributeMeta],
    **kwargs: object,
) -> EntityMeta:
    attributes = {attribute.logical_name: attribute for attribute in _system(primary_id)}
    for attribute in columns:
        attributes[attribute.logical_name] = attribute
    return EntityMeta(logical_name, entity_set, primary_id, primary_name, attributes, **kwargs)


def lead() -> EntityMeta:
    """The lead table (a prospect before qualification)."""
    columns = _person_columns() + [
        text("subject", 300, "ApplicationRequired"),
        text("companyname", 100),
        text("websiteurl", 200),
        number("numberofemployees", low=0, high=1000000000),
        money("revenue"),
        money("estimatedamount"),
        choice("leadsourcecode", LEAD_SOURCES),
        choice("leadqualitycode", [(1, "Hot"), (2, "Warm"), (3, "Cold")]),
        choice(
            "industrycode",
            [
                (1, "Accounting"),
                (2, "Agriculture"),
                (3, "Consulting"),
                (4, "Financial"),
                (5, "Manufacturing"),
                (6, "Retail"),
                (7, "Technology"),
                (8, "Other"),
            ],
        ),
        _states([(0, "Open"), (1, "Qualified"), (2, "Disqualified")]),
        _statuses(
            [
                (1, "New", 0),
                (2, "Contacted", 0),
                (3, "Qualified", 1),
                (4, "Lost", 2),
                (5, "Cannot Contact", 2),
                (6, "No Longer Interested", 2),
                (7, "Canceled", 2),
            ]
        ),
        lookup("parentcontactid", "contact"),
        lookup("parentaccountid", "account"),
        lookup("customerid", "account", "contact"),
        lookup("qualifyingopportunityid", "opportunity"),
        lookup("campaignid", "campaign"),
    ]
    return _entity(
        "lead",
        "leads",
        "leadid",
        "fullname",
        columns,
        object_type_code=4,
        display_name="Lead",
        duplicate_rule=("emailaddress1",),
        alternate_keys={HUB_ID_KEY: (HUB_ID,), "emailaddress1_key": ("emailaddress1",)},
    )


def contact() -> EntityMeta:
    """The contact table."""
    columns = _person_columns() + [
        _states([(0, "Active"), (1, "Inactive")]),
        _statuses([(1, "Active", 0), (2, "Inactive", 1)]),
        lookup("parentcustomerid", "account", "contact"),
        lookup("originatingleadid", "lead"),
        choice("leadsourcecode", [(1, "Default Value")]),
    ]
    return _entity(
        "contact",
        "contacts",
        "contactid",
        "fullname",
        columns,
        object_type_code=2,
        display_name="Contact",
        duplicate_rule=("emailaddress1",),
        alternate_keys={HUB_ID_KEY: (HUB_ID,)},
    )


def account() -> EntityMeta:
    """The account table."""
    columns = [
        text("name", 160, "ApplicationRequired", primary=True),
        text("accountnumber", 20),
        text("emailaddress1", 100),
        text("telephone1", 50),
        text("websiteurl", 200),
        text("address1_city", 80),
        text("address1_country", 80),
        memo("description", 2000),
        number("numberofemployees", low=0, high=1000000000),
        money("revenue"),
        choice("accountcategorycode", [(1, "Preferred Customer"), (2, "Standard")]),
        _states([(0, "Active"), (1, "Inactive")]),
        _statuses([(1, "Active", 0), (2, "Inactive", 1)]),
        lookup("primarycontactid", "contact"),
        lookup("parentaccountid", "account"),
        lookup("originatingleadid", "lead"),
        text(HUB_ID, 32, custom=True),
    ]
    return _entity(
        "account",
        "accounts",
        "accountid",
        "name",
        columns,
        object_type_code=1,
        display_name="Account",
        duplicate_rule=("emailaddress1",),
        alternate_keys={HUB_ID_KEY: (HUB_ID,)},
    )


def opportunity() -> EntityMeta:
    """The opportunity table (created when a lead is qualified)."""
    columns = [
        text("name", 300, "ApplicationRequired", primary=True),
        memo("description", 2000),
        money("estimatedvalue"),
        when("estimatedclosedate"),
        # Set when the opportunity is closed (won or lost), as the close dialog does.
        money("actualvalue"),
        when("actualclosedate"),
        number("closeprobability", low=0, high=100),
        _states([(0, "Open"), (1, "Won"), (2, "Lost")]),
        _statuses(
            [
                (1, "In Progress", 0),
                (2, "On Hold", 0),
                (3, "Won", 1),
                (4, "Canceled", 2),
                (5, "Out-Sold", 2),
            ]
        ),
        lookup("parentcontactid", "contact"),
        lookup("parentaccountid", "account"),
        lookup("customerid", "account", "contact"),
        lookup("originatingleadid", "lead"),
        lookup("campaignid", "campaign"),
    ]
    return _entity(
        "opportunity",
        "opportunities",
        "opportunityid",
        "name",
        columns,
        object_type_code=3,
        display_name="Opportunity",
    )


def campaign() -> EntityMeta:
    """The marketing campaign table."""
    columns = [
        text("name", 128, "ApplicationRequired", primary=True),
        text("codename", 32),
        memo("description", 2000),
        memo("objective", 2000),
        money("budgetedcost"),
        money("expectedrevenue"),
        when("proposedstart"),
        when("proposedend"),
        when("actualstart"),
        when("actualend"),
        flag("istemplate"),
        choice(
            "typecode",
            [
                (1, "Advertisement"),
                (2, "Direct Marketing"),
                (3, "Event"),
                (4, "Co-branding"),
                (5, "Other"),
            ],
        ),
        _states([(0, "Active"), (1, "Inactive")]),
        _statuses(
            [
                (0, "Proposed", 0),
                (1, "Ready To Launch", 0),
                (2, "Launched", 0),
                (3, "Completed", 0),
                (4, "Canceled", 0),
                (5, "Suspended", 0),
                (6, "Inactive", 1),
            ]
        ),
        text(HUB_ID, 32, custom=True),
    ]
    return _entity(
        "campaign",
        "campaigns",
        "campaignid",
        "name",
        columns,
        object_type_code=4400,
        display_name="Campaign",
        alternate_keys={HUB_ID_KEY: (HUB_ID,)},
    )


def marketing_list() -> EntityMeta:
    """The marketing list table (`list`); `type` false means a static list."""
    columns = [
        text("listname", 128, "SystemRequired", primary=True),
        choice("createdfromcode", [(1, "Account"), (2, "Contact"), (4, "Lead")], "SystemRequired"),
        flag("type"),
        flag("lockstatus"),
        number("membercount", low=0),
        memo("description", 2000),
        memo("query", 1073741823),
        text("purpose", 512),
        text("source", 128),
        _states([(0, "Active"), (1, "Inactive")]),
        _statuses([(0, "Active", 0), (1, "Inactive", 1)]),
    ]
    return _entity(
        "list",
        "lists",
        "listid",
        "listname",
        columns,
        object_type_code=4300,
        display_name="Marketing List",
    )


def list_member() -> EntityMeta:
    """The list membership intersect table (`listmember`): one row per list and member."""
    columns = [
        lookup("listid", "list", required="SystemRequired"),
        lookup("entityid", "account", "contact", "lead", required="SystemRequired"),
        text("name", 100, primary=True),
    ]
    entity = _entity(
        "listmember",
        "listmembers",
        "listmemberid",
        "name",
        columns,
        object_type_code=4301,
        display_name="Marketing List Member",
    )
    # The intersect row is written only through AddMemberList / RemoveMemberList.
    entity.attributes["entityid"] = _readonly(entity.attributes["entityid"])
    entity.attributes["listid"] = _readonly(entity.attributes["listid"])
    return entity


def _readonly(attribute: AttributeMeta) -> AttributeMeta:
    return replace(attribute, valid_for_create=False, valid_for_update=False)


def campaign_response() -> EntityMeta:
    """The campaign response activity (`campaignresponse`), regarding a campaign."""
    columns = [
        AttributeMeta(
            "activityid",
            "Uniqueidentifier",
            required_level="SystemRequired",
            valid_for_update=False,
            is_primary_id=True,
        ),
        text("subject", 200, "ApplicationRequired", primary=True),
        memo("description", 2000),
        text("firstname", 50),
        text("lastname", 50),
        text("emailaddress", 100),
        text("telephone", 50),
        text("companyname", 100),
        when("receivedon"),
        choice(
            "responsecode",
            [
                (1, "Interested"),
                (2, "Not Interested"),
                (3, "Do Not Send Marketing Materials"),
                (4, "Error"),
            ],
        ),
        choice(
            "channeltypecode",
            [
                (1, "Phone"),
                (2, "Fax"),
                (3, "Email"),
                (4, "Letter"),
                (5, "Appointment"),
                (6, "Others"),
            ],
        ),
        _states([(0, "Open"), (1, "Closed"), (2, "Canceled")]),
        _statuses([(1, "Open", 0), (2, "Closed", 1), (3, "Canceled", 2)]),
        lookup(
            "regardingobjectid",
            "campaign",
            required="SystemRequired",
            navigation=[
                ("regardingobjectid_campaign_campaignresponse", "campaign"),
                ("regardingobjectid_campaign", "campaign"),
            ],
        ),
    ]
    return _entity(
        "campaignresponse",
        "campaignresponses",
        "activityid",
        "subject",
        columns,
        object_type_code=4401,
        display_name="Campaign Response",
        is_activity=True,
    )


def standard_entities() -> list[EntityMeta]:
    """Fresh definitions of every entity the sandbox serves."""
    return [
        lead(),
        contact(),
        account(),
        opportunity(),
        campaign(),
        marketing_list(),
        list_member(),
        campaign_response(),
    ]
