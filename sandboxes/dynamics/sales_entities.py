"""Connections (an opportunity's stakeholders) and Syncline's custom attribution table."""

from __future__ import annotations

from dataclasses import replace

from sandboxes.dynamics.metadata import AttributeMeta, EntityMeta
from sandboxes.dynamics.standard_entities import (
    HUB_ID,
    HUB_ID_KEY,
    _entity,
    _readonly,
    _states,
    _statuses,
    choice,
    flag,
    lookup,
    memo,
    money,
    number,
    standard_entities,
    text,
    when,
)

#: The tables a connection may join here (Sales adds opportunity to the platform's list).
CONNECTABLE = ("account", "contact", "opportunity")
#: Object type codes of the connectable tables, as `record1objecttypecode` reports them.
OBJECT_TYPE_CODES = {"account": 1, "contact": 2, "opportunity": 3}
#: The role categories the platform ships (ConnectionRole.Category).
ROLE_CATEGORIES = [
    (1, "Business"), (2, "Family"), (3, "Social"), (4, "Sales"), (5, "Other"),
    (1000, "Stakeholder"), (1001, "Sales Team"), (1002, "Service"),
]  # fmt: skip


def connection_role() -> EntityMeta:
    """A connection role (`connectionrole`): what a party is in a connection."""
    columns = [
        text("name", 100, "SystemRequired", primary=True),
        choice("category", ROLE_CATEGORIES),
        memo("description", 2000),
        _states([(0, "Active"), (1, "Inactive")]),
        _statuses([(1, "Active", 0), (2, "Inactive", 1)]),
    ]
    return _entity(
        "connectionrole", "connectionroles", "connectionroleid", "name", columns,
        object_type_code=3231, display_name="Connection Role",
    )  # fmt: skip


def _type_code(name: str) -> AttributeMeta:
    options = [(code, entity.title()) for entity, code in OBJECT_TYPE_CODES.items()]
    return _readonly(choice(name, options))


def connection() -> EntityMeta:
    """A connection between two records (`connection`); Dataverse keeps a reciprocal row."""
    columns = [
        _readonly(text("name", 500, primary=True)),
        memo("description", 2000),
        when("effectivestart"),
        when("effectiveend"),
        lookup("record1id", *CONNECTABLE),
        lookup("record2id", *CONNECTABLE),
        lookup("record1roleid", "connectionrole"),
        lookup("record2roleid", "connectionrole"),
        _type_code("record1objecttypecode"),
        _type_code("record2objecttypecode"),
        _readonly(flag("ismaster")),
        _readonly(lookup("relatedconnectionid", "connection")),
        _states([(0, "Active"), (1, "Inactive")]),
        _statuses([(1, "Active", 0), (2, "Inactive", 1)]),
    ]
    return _entity(
        "connection", "connections", "connectionid", "name", columns,
        object_type_code=3234, display_name="Connection",
    )  # fmt: skip


def _custom_lookup(schema_name: str, target: str) -> AttributeMeta:
    # A custom lookup binds through its navigation property, named as the column's SchemaName.
    name = schema_name.lower()
    return replace(
        lookup(name, target, navigation=[(schema_name, target)]),
        is_custom=True,
        schema_name=schema_name,
    )


def attribution() -> EntityMeta:
    """Syncline's attribution table: one row per opportunity, campaign, contact and model."""
    columns = [
        replace(text("syncline_name", 100, primary=True, custom=True), schema_name="syncline_Name"),
        _custom_lookup("syncline_OpportunityId", "opportunity"),
        _custom_lookup("syncline_CampaignId", "campaign"),
        _custom_lookup("syncline_ContactId", "contact"),
        replace(text("syncline_model", 100, custom=True), schema_name="syncline_Model"),
        replace(
            number("syncline_credit", "Decimal", 0, 100),
            is_custom=True,
            schema_name="syncline_Credit",
        ),  # fmt: skip
        replace(money("syncline_revenue"), is_custom=True, schema_name="syncline_Revenue"),
        _states([(0, "Active"), (1, "Inactive")]),
        _statuses([(1, "Active", 0), (2, "Inactive", 1)]),
        text(HUB_ID, 32, custom=True),
    ]
    return _entity(
        "syncline_attribution", "syncline_attributions", "syncline_attributionid",
        "syncline_name", columns, object_type_code=10100, display_name="Attribution",
        alternate_keys={HUB_ID_KEY: (HUB_ID,)}, is_custom=True,
        schema_name="syncline_Attribution",
    )  # fmt: skip


def all_entities() -> list[EntityMeta]:
    """Every table the sandbox serves: the marketing core plus these."""
    return [*standard_entities(), connection_role(), connection(), attribution()]
