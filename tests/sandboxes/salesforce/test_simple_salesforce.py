"""simple-salesforce 1.12, unchanged, against the sandbox through the https→http adapter."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from sandboxes.salesforce.sandbox import SalesforceSandbox


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sb:
        yield sb


@pytest.fixture
def sf(sandbox: SalesforceSandbox) -> Salesforce:
    token = requests.post(f"{sandbox.url}/services/oauth2/token", data=sandbox.token_form()).json()
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=sandbox.session(),
        version="59.0",
    )


def test_query_all_iter_follows_every_page(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    created = {
        sandbox.org.insert("Lead", {"LastName": f"L{n}", "Company": "C"}) for n in range(420)
    }

    first = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    every = list(
        sf.query_all_iter("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    )

    assert first["done"] is False and len(first["records"]) == 200
    assert {record["Id"] for record in every} == created and len(every) == 420


def test_query_all_with_deleted_rows(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    lead_id = sf.Lead.create({"LastName": "Gone", "Company": "C"})["id"]
    assert sf.Lead.delete(lead_id) == 204

    live = sf.query_all("SELECT Id FROM Lead")
    everything = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)

    assert live["totalSize"] == 0
    assert [(row["Id"], row["IsDeleted"]) for row in everything["records"]] == [(lead_id, True)]


def test_sobject_crud_and_upsert(sf: Salesforce) -> None:
    created = sf.Lead.upsert(
        "Syncline_Id__c/hub-1", {"LastName": "Noether", "Company": "Göttingen"}
    )
    updated = sf.Lead.upsert("Syncline_Id__c/hub-1", {"Company": "Bryn Mawr"})
    record = sf.Lead.get_by_custom_id("Syncline_Id__c", "hub-1")
    changed = sf.Lead.update(record["Id"], {"Title": "Professor"})

    assert (created, updated, changed) == (201, 200, 204)
    assert record["Company"] == "Bryn Mawr"
    assert sf.Lead.get(record["Id"])["Title"] == "Professor"
    assert sf.Lead.describe()["keyPrefix"] == "00Q"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get("00Q5e000000zzzzAAA")
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.create({"Company": "No Name"})
    assert refused.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_restful_collections(sf: Salesforce) -> None:
    records = [
        {
            "attributes": {"type": "Lead"},
            "Syncline_Id__c": "hub-1",
            "LastName": "A",
            "Company": "C",
        },
        {"attributes": {"type": "Lead"}, "Syncline_Id__c": "hub-2", "Company": "C"},
    ]

    upserted = sf.restful(
        "composite/sobjects/Lead/Syncline_Id__c",
        method="PATCH",
        json={"allOrNone": False, "records": records},
    )
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [{"attributes": {"type": "Lead"}, "LastName": "B", "Company": "C"}]},
    )

    assert upserted[0]["success"] is True and upserted[0]["created"] is True
    assert upserted[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert created[0]["success"] is True
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 2


def test_bulk2_upsert_and_results(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    existing = sandbox.org.insert(
        "Lead", {"LastName": "Old", "Company": "C", "Syncline_Id__c": "h1"}
    )
    records = [
        {"Syncline_Id__c": "h1", "LastName": "Updated", "Company": "C"},
        {"Syncline_Id__c": "h2", "LastName": "New", "Company": "C"},
        {"Syncline_Id__c": "h3", "LastName": "", "Company": "C"},
    ]

    (summary,) = sf.bulk2.Lead.upsert(
        records=records, external_id_field="Syncline_Id__c", wait=0.05
    )
    successes = list(
        csv.DictReader(io.StringIO(sf.bulk2.Lead.get_successful_records(summary["job_id"])))
    )
    failures = list(
        csv.DictReader(io.StringIO(sf.bulk2.Lead.get_failed_records(summary["job_id"])))
    )

    assert summary["numberRecordsProcessed"] == 3 and summary["numberRecordsFailed"] == 1
    assert {row["Syncline_Id__c"]: row["sf__Created"] for row in successes} == {
        "h1": "false",
        "h2": "true",
    }
    assert next(row["sf__Id"] for row in successes if row["Syncline_Id__c"] == "h1") == existing
    assert failures[0]["Syncline_Id__c"] == "h3"
    assert failures[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")


def test_bulk2_query(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    for n in range(3):
        sandbox.org.insert("Lead", {"LastName": f"L{n}", "Company": "C"})

    pages = list(sf.bulk2.Lead.query("SELECT Id, LastName FROM Lead", max_records=2, wait=0.05))

    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(pages) == 2
    assert sorted(row["LastName"] for row in rows) == ["L0", "L1", "L2"]


def test_expired_session_and_faults_raise_the_documented_exceptions(
    sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    sandbox.faults.inject("transient")
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.limits()
    assert unavailable.value.status == 503

    sandbox.expire_tokens()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")


def test_api_usage_comes_from_the_limit_header(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sf.limits()
    before = sf.api_usage["api-usage"]
    sf.query("SELECT Id FROM Lead")
    after = sf.api_usage["api-usage"]

    assert after.used == before.used + 1
    assert after.total == sandbox.limits.daily_max == sandbox.config.daily_api_limit
