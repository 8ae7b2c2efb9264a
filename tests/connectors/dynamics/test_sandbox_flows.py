"""Flows the conformance suite does not cover, against the DynamicsSandbox: qualification,
an invalidated delta link, option labels over the wire, a 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.base import Op, OutboundRecord, WriteStatus
from connectors.conformance import changes_of, read_all
from connectors.dynamics import DynamicsConnector
from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.connectors.dynamics.sandbox_remote import sandbox_settings


@pytest.fixture
def crm(sandbox: DynamicsSandbox) -> Iterator[DynamicsConnector]:
    connector = DynamicsConnector("crm", sandbox_settings(sandbox))
    yield connector
    connector.close()


def test_qualified_lead_reads_as_upsert_with_its_contact_as_successor(
    sandbox: DynamicsSandbox, crm: DynamicsConnector
) -> None:
    lead = sandbox.env.create("lead", {"lastname": "Hopper", "subject": "Compilers",
                                       "emailaddress1": "grace@example.com"})
    cursor = read_all(crm, "lead")[-1].cursor
    made = sandbox.env.qualify_lead(lead, create_account=False, create_opportunity=False)
    [change] = [c for c in changes_of(read_all(crm, "lead", cursor)) if c.key == lead]
    assert change.op is Op.UPSERT
    assert change.fields["statecode"] == "Qualified"
    assert change.successor == ("contact", made["contactid"])


def test_invalidated_delta_link_falls_back_to_a_full_read(
    sandbox: DynamicsSandbox, crm: DynamicsConnector
) -> None:
    first = sandbox.env.create("lead", {"lastname": "A", "subject": "s"})
    cursor = read_all(crm, "lead")[-1].cursor
    # An environment restored from backup: rows replaced, earlier delta links invalid.
    sandbox.env.reset()
    second = sandbox.env.create("lead", {"lastname": "B", "subject": "s"})
    pages = read_all(crm, "lead", cursor)
    keys = [c.key for c in changes_of(pages)]
    assert keys == [second] and first != second  # the full current state, not an error
    assert pages[-1].cursor not in (None, cursor)


def test_option_labels_both_ways(sandbox: DynamicsSandbox, crm: DynamicsConnector) -> None:
    [made] = crm.write("lead", [OutboundRecord("hub-1", None, {
        "lastname": "L", "subject": "s", "leadsourcecode": "Trade Show"})])
    assert made.status is WriteStatus.CREATED and made.key
    assert sandbox.env.get("lead", made.key)["leadsourcecode"] == 7  # stored as the value
    [change] = crm.lookup("lead", "leadid", [made.key], fields=["leadsourcecode"])
    assert change.fields["leadsourcecode"] == "Trade Show"
    [bad] = crm.write("lead", [OutboundRecord("hub-2", None, {
        "lastname": "M", "subject": "s", "leadsourcecode": "Carrier Pigeon"})])
    assert bad.error is not None and bad.error.hint is not None
    assert bad.error.hint.startswith("add a value_map entry for 'Carrier Pigeon' on "
                                     "leadsourcecode; allowed: Advertisement")


def test_rate_limit_waits_retry_after(sandbox: DynamicsSandbox, crm: DynamicsConnector) -> None:
    slept: list[float] = []
    crm.retry = crm.retry.__class__(sleep=slept.append)
    sandbox.faults.inject("rate_limited", 1, retry_after=4)
    assert read_all(crm, "lead")[-1].cursor
    assert slept == [4.0]


def test_custom_lookups_bind_by_the_navigation_name_dataverse_publishes(
    sandbox: DynamicsSandbox, crm: DynamicsConnector
) -> None:
    """syncline_attribution's lookups bind as syncline_OpportunityId, not the logical name."""
    contact = sandbox.env.create("contact", {"lastname": "Hopper"})
    campaign = sandbox.env.create("campaign", {"name": "Launch webinar"})
    opportunity = sandbox.env.create("opportunity", {
        "name": "Acme renewal", "estimatedvalue": 9000})
    [made] = crm.write("syncline_attribution", [OutboundRecord("attr-1", None, {
        "syncline_name": "w_shaped / Launch webinar", "syncline_model": "w_shaped",
        "syncline_opportunityid": opportunity, "syncline_campaignid": campaign,
        "syncline_contactid": contact, "syncline_credit": 0.3, "syncline_revenue": 2700})])
    assert made.status is WriteStatus.CREATED, made.error
    lookups = ["syncline_opportunityid", "syncline_campaignid", "syncline_contactid"]
    [change] = crm.lookup("syncline_attribution", "syncline_attributionid", [made.key],
                          fields=lookups)
    assert [change.fields[name] for name in lookups] == [opportunity, campaign, contact]
