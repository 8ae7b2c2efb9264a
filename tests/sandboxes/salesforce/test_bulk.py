"""Bulk API 2.0 in the Salesforce sandbox: ingest and query jobs over plain HTTP."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import pytest
import requests

from sandboxes.salesforce.sandbox import SalesforceSandbox

VERSION = "59.0"
POLLS = 400  # bounded polling: a job that never finishes fails the test instead of hanging


class Bulk:
    """A logged-in Bulk API 2.0 client of one sandbox."""

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.base = f"{sandbox.url}/services/data/v{VERSION}/jobs"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {sandbox.issue_token()}"

    def create(self, kind: str, **body: object) -> requests.Response:
        return self.http.post(f"{self.base}/{kind}", json=body)

    def upload(self, job_id: str, text: str) -> requests.Response:
        return self.http.put(
            f"{self.base}/ingest/{job_id}/batches",
            data=text.encode(),
            headers={"Content-Type": "text/csv"},
        )

    def close(self, job_id: str) -> requests.Response:
        return self.http.patch(f"{self.base}/ingest/{job_id}", json={"state": "UploadComplete"})

    def wait(self, kind: str, job_id: str) -> dict:
        for _ in range(POLLS):
            info = self.http.get(f"{self.base}/{kind}/{job_id}").json()
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                return info
            time.sleep(0.01)
        raise AssertionError(f"job {job_id} did not finish: {info}")

    def run_ingest(self, text: str, **job: object) -> tuple[str, dict]:
        created = self.create("ingest", contentType="CSV", **job)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]
        assert self.upload(job_id, text).status_code == 201
        assert self.close(job_id).status_code == 200
        return job_id, self.wait("ingest", job_id)

    def results(self, job_id: str, which: str) -> list[dict]:
        response = self.http.get(f"{self.base}/ingest/{job_id}/{which}/")
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sb:
        yield sb


@pytest.fixture
def bulk(sandbox: SalesforceSandbox) -> Bulk:
    return Bulk(sandbox)


def test_insert_job_reports_successes_and_failures(sandbox: SalesforceSandbox, bulk: Bulk) -> None:
    text = "LastName,Company,Email\nTuring,Bletchley,alan@example.com\n,Nobody Inc,\n"

    job_id, info = bulk.run_ingest(text, object="Lead", operation="insert")
    successes = bulk.results(job_id, "successfulResults")
    failures = bulk.results(job_id, "failedResults")

    assert info["state"] == "JobComplete"
    assert info["numberRecordsProcessed"] == 2 and info["numberRecordsFailed"] == 1
    assert info["jobType"] == "V2Ingest" and info["object"] == "Lead"
    assert list(successes[0]) == ["sf__Id", "sf__Created", "LastName", "Company", "Email"]
    assert successes[0]["sf__Created"] == "true"
    assert sandbox.org.get("Lead", successes[0]["sf__Id"])["Email"] == "alan@example.com"
    assert list(failures[0])[:2] == ["sf__Id", "sf__Error"]
    assert failures[0]["sf__Error"] == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
    )
    assert failures[0]["Company"] == "Nobody Inc"


def test_crlf_upsert_and_na_nulls(sandbox: SalesforceSandbox, bulk: Bulk) -> None:
    existing = sandbox.org.insert(
        "Lead", {"LastName": "Old", "Company": "C", "Syncline_Id__c": "hub-1", "Title": "CTO"}
    )
    text = "Syncline_Id__c,LastName,Company,Title\r\nhub-1,Updated,C,#N/A\r\nhub-2,New,C,CEO\r\n"

    job_id, info = bulk.run_ingest(
        text, object="Lead", operation="upsert", externalIdFieldName="Syncline_Id__c",
        lineEnding="CRLF",
    )  # fmt: skip
    successes = {row["Syncline_Id__c"]: row for row in bulk.results(job_id, "successfulResults")}

    assert info["numberRecordsFailed"] == 0
    assert successes["hub-1"]["sf__Id"] == existing
    assert successes["hub-1"]["sf__Created"] == "false"
    assert successes["hub-2"]["sf__Created"] == "true"
    updated = sandbox.org.get("Lead", existing)
    assert updated["LastName"] == "Updated" and updated["Title"] is None


def test_update_and_delete_jobs(sandbox: SalesforceSandbox, bulk: Bulk) -> None:
    first = sandbox.org.insert("Lead", {"LastName": "A", "Company": "C"})
    second = sandbox.org.insert("Lead", {"LastName": "B", "Company": "C"})

    _, updated = bulk.run_ingest(
        f"Id,Company\n{first},Renamed\n00Q5e000000zzzzAAA,Ghost\n",
        object="Lead",
        operation="update",
    )
    _, deleted = bulk.run_ingest(f"Id\n{second}\n", object="Lead", operation="delete")

    assert (updated["numberRecordsProcessed"], updated["numberRecordsFailed"]) == (2, 1)
    assert sandbox.org.get("Lead", first)["Company"] == "Renamed"
    assert deleted["numberRecordsFailed"] == 0
    assert [row["Id"] for row in sandbox.org.rows("Lead", False)] == [first]


def test_an_unknown_column_fails_the_job(bulk: Bulk) -> None:
    _, info = bulk.run_ingest("LastName,Nope__c\nX,1\n", object="Lead", operation="insert")

    assert info["state"] == "Failed"
    assert "Nope__c" in info["errorMessage"]


def test_job_creation_and_state_errors(bulk: Bulk) -> None:
    bad_object = bulk.create("ingest", object="Nope", operation="insert")
    bad_operation = bulk.create("ingest", object="Lead", operation="merge")
    no_key = bulk.create("ingest", object="Lead", operation="upsert")
    job_id, _ = bulk.run_ingest("LastName,Company\nX,Y\n", object="Lead", operation="insert")
    late_upload = bulk.upload(job_id, "LastName,Company\nZ,Y\n")
    listed = bulk.http.get(f"{bulk.base}/ingest").json()
    removed = bulk.http.delete(f"{bulk.base}/ingest/{job_id}")
    gone = bulk.http.get(f"{bulk.base}/ingest/{job_id}")

    assert [r.status_code for r in (bad_object, bad_operation, no_key)] == [400, 400, 400]
    assert late_upload.status_code == 409
    assert job_id in {job["id"] for job in listed["records"]}
    assert removed.status_code == 204
    assert gone.status_code == 404


def test_aborting_an_open_job_leaves_its_rows_unprocessed(bulk: Bulk) -> None:
    job_id = bulk.create("ingest", object="Lead", operation="insert").json()["id"]
    bulk.upload(job_id, "LastName,Company\nX,Y\n")

    aborted = bulk.http.patch(f"{bulk.base}/ingest/{job_id}", json={"state": "Aborted"})
    unprocessed = bulk.results(job_id, "unprocessedrecords")

    assert aborted.json()["state"] == "Aborted"
    assert unprocessed == [{"LastName": "X", "Company": "Y"}]


def test_query_job_pages_with_locators(sandbox: SalesforceSandbox, bulk: Bulk) -> None:
    for n in range(5):
        sandbox.org.insert("Lead", {"LastName": f"L{n}", "Company": "C", "Email": f"l{n}@x.com"})
    created = bulk.create(
        "query", operation="query", query="SELECT Id, LastName, Owner.Email FROM Lead"
    )
    job_id = created.json()["id"]
    info = bulk.wait("query", job_id)

    pages, locator = [], None
    for _ in range(10):
        params = {"maxRecords": 2} | ({"locator": locator} if locator else {})
        response = bulk.http.get(f"{bulk.base}/query/{job_id}/results", params=params)
        pages.append(response)
        locator = response.headers["Sforce-Locator"]
        if locator == "null":
            break

    assert created.json()["state"] == "UploadComplete"
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 5
    assert [int(page.headers["Sforce-NumberOfRecords"]) for page in pages] == [2, 2, 1]
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page.text))]
    assert list(rows[0]) == ["Id", "LastName", "Owner.Email"]
    assert sorted(row["LastName"] for row in rows) == [f"L{n}" for n in range(5)]
    assert all(row["Owner.Email"] for row in rows)


def test_query_job_with_a_bad_query_is_refused(bulk: Bulk) -> None:
    response = bulk.create("query", operation="query", query="SELECT Nope FROM Lead WHERE")

    assert response.status_code == 400
    assert isinstance(response.json(), list)
