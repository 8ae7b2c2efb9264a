"""The Salesforce sandbox over HTTP: what a client following the REST docs sees."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import requests

from sandboxes.salesforce.auth import ApiUser, Auth, ConnectedApp
from sandboxes.salesforce.config import CustomFieldConfig
from sandboxes.salesforce.sandbox import SalesforceSandbox, default_config

VERSION = "59.0"


class Api:
    """A logged-in REST client of one sandbox (plain requests, relative API paths)."""

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.sandbox = sandbox
        self.http = requests.Session()
        response = self.http.post(f"{sandbox.url}/services/oauth2/token", data=sandbox.token_form())
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]

    def url(self, path: str) -> str:
        if path.startswith("/"):
            return self.sandbox.url + path
        return f"{self.sandbox.url}/services/data/v{VERSION}/{path}"

    def call(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self.http.request(method, self.url(path), headers=headers, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: object) -> requests.Response:
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: object) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def control(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.http.request(method, f"{self.sandbox.url}/__sandbox__/{path}", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sb:
        yield sb


@pytest.fixture
def api(sandbox: SalesforceSandbox) -> Api:
    return Api(sandbox)


def new_lead(api: Api, **fields: object) -> str:
    body = {"LastName": "Lovelace", "Company": "Analytical Engines", **fields}
    response = api.post("sobjects/Lead", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def error_codes(response: requests.Response) -> list[str]:
    body = response.json()
    assert isinstance(body, list), body
    return [item["errorCode"] for item in body]


# -- OAuth ------------------------------------------------------------------------------


def test_password_grant_returns_a_token_for_this_instance(sandbox: SalesforceSandbox) -> None:
    response = requests.post(f"{sandbox.url}/services/oauth2/token", data=sandbox.token_form())

    assert response.status_code == 200
    body = response.json()
    assert body["instance_url"] == sandbox.url
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit()
    assert body["id"].startswith(f"{sandbox.url}/id/00D")
    assert body["signature"]
    limits = requests.get(
        f"{sandbox.url}/services/data/v{VERSION}/limits/",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert limits.status_code == 200
    assert "DailyApiRequests" in limits.json()


def test_client_credentials_in_the_form_or_basic_auth(sandbox: SalesforceSandbox) -> None:
    url = f"{sandbox.url}/services/oauth2/token"
    in_form = requests.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    in_header = requests.post(
        url,
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )

    assert in_form.status_code == 200 and in_form.json()["access_token"]
    assert in_header.status_code == 200
    assert in_header.json()["access_token"] != in_form.json()["access_token"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"password": "wrong"}, "invalid_grant"),
        ({"username": "nobody@example.com"}, "invalid_grant"),
        ({"client_id": "unknown-app"}, "invalid_client_id"),
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_token_refusals(sandbox: SalesforceSandbox, change: dict, error: str) -> None:
    response = requests.post(
        f"{sandbox.url}/services/oauth2/token", data=sandbox.token_form() | change
    )

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_a_missing_unknown_or_expired_token_is_a_401_list(
    sandbox: SalesforceSandbox, api: Api
) -> None:
    assert api.get("limits/").status_code == 200
    anonymous = requests.get(f"{sandbox.url}/services/data/v{VERSION}/limits/")
    forged = requests.get(
        f"{sandbox.url}/services/data/v{VERSION}/limits/",
        headers={"Authorization": "Bearer 00D!forged"},
    )
    sandbox.expire_tokens()
    expired = api.get("limits/")

    for response in (anonymous, forged, expired):
        assert response.status_code == 401
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_tokens_expire_after_their_lifetime() -> None:
    now = [1000.0]
    auth = Auth(
        apps=[ConnectedApp("app", "secret")],
        users=[ApiUser("u@example.com", "pw", "tok", "005000000000001AAA")],
        org_id="00D5e0000000001AAA",
        token_lifetime_s=60,
        clock=lambda: now[0],
    )
    token = auth.issue("005000000000001AAA", "app").access_token

    assert auth.session_for(token) is not None
    now[0] += 59
    assert auth.session_for(token) is not None
    now[0] += 1
    assert auth.session_for(token) is None


# -- versions, limits -------------------------------------------------------------------


def test_version_list_and_unknown_version(sandbox: SalesforceSandbox, api: Api) -> None:
    versions = requests.get(f"{sandbox.url}/services/data/").json()
    unknown = api.get("/services/data/v12.0/limits/")

    served = [item["version"] for item in versions]
    assert VERSION in served
    assert served == sorted(served, key=float)
    assert {"label", "url", "version"} <= set(versions[0])
    assert versions[-1]["url"] == f"/services/data/v{versions[-1]['version']}"
    assert unknown.status_code == 404
    assert error_codes(unknown) == ["NOT_FOUND"]
    assert set(api.get("").json()) >= {"sobjects", "query", "limits"}


def test_every_response_reports_usage_and_calls_count(sandbox: SalesforceSandbox, api: Api) -> None:
    first = api.get("limits/")
    second = api.get("limits/")
    control = api.control("GET", "state")
    token = requests.post(f"{sandbox.url}/services/oauth2/token", data=sandbox.token_form())

    used_first = int(first.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert second.headers["Sforce-Limit-Info"] == (
        f"api-usage={used_first + 1}/{sandbox.limits.daily_max}"
    )
    # Control and token calls carry the header but are not counted.
    assert control.headers["Sforce-Limit-Info"] == second.headers["Sforce-Limit-Info"]
    assert token.headers["Sforce-Limit-Info"] == second.headers["Sforce-Limit-Info"]
    remaining = second.json()["DailyApiRequests"]["Remaining"]
    assert remaining == sandbox.limits.daily_max - (used_first + 1)


def test_over_the_daily_max_is_a_403(sandbox: SalesforceSandbox, api: Api) -> None:
    sandbox.limits.daily_max = sandbox.limits.used + 1

    allowed = api.get("limits/")
    refused = api.get("limits/")

    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    sandbox.limits.reset()
    assert api.get("limits/").status_code == 200


# -- query ------------------------------------------------------------------------------


def test_query_pages_follow_relative_next_records_urls(
    sandbox: SalesforceSandbox, api: Api
) -> None:
    created = {
        sandbox.org.insert("Lead", {"LastName": f"L{n}", "Company": "C"}) for n in range(450)
    }

    first = api.get(
        "query/",
        params={"q": "SELECT Id FROM Lead ORDER BY Id"},
        headers={"Sforce-Query-Options": "batchSize=200"},
    ).json()
    pages = [first]
    while not pages[-1]["done"]:
        next_url = pages[-1]["nextRecordsUrl"]
        assert next_url.startswith(f"/services/data/v{VERSION}/query/01g")
        pages.append(api.get(next_url).json())

    assert [len(page["records"]) for page in pages] == [200, 200, 50]
    assert all(page["totalSize"] == 450 for page in pages)
    assert "nextRecordsUrl" not in pages[-1]
    seen = [record["Id"] for page in pages for record in page["records"]]
    assert set(seen) == created and len(seen) == len(created)
    assert pages[0]["records"][0]["attributes"]["type"] == "Lead"


def test_batch_size_is_clamped_and_defaults_to_2000(sandbox: SalesforceSandbox, api: Api) -> None:
    for n in range(250):
        sandbox.org.insert("Lead", {"LastName": f"L{n}", "Company": "C"})

    small = api.get(
        "query",
        params={"q": "SELECT Id FROM Lead"},
        headers={"Sforce-Query-Options": "batchSize=10"},
    ).json()
    default = api.get("query", params={"q": "SELECT Id FROM Lead"}).json()

    assert len(small["records"]) == 200 and small["done"] is False
    assert len(default["records"]) == 250 and default["done"] is True


def test_query_all_returns_deleted_rows(sandbox: SalesforceSandbox, api: Api) -> None:
    kept = new_lead(api, LastName="Kept")
    gone = new_lead(api, LastName="Gone")
    assert api.delete(f"sobjects/Lead/{gone}").status_code == 204
    soql = "SELECT Id, IsDeleted FROM Lead"

    live = api.get("query/", params={"q": soql}).json()["records"]
    everything = api.get("queryAll/", params={"q": soql}).json()["records"]

    assert [row["Id"] for row in live] == [kept]
    assert {row["Id"]: row["IsDeleted"] for row in everything} == {kept: False, gone: True}


def test_bad_queries_and_locators_are_400s(api: Api) -> None:
    malformed = api.get("query", params={"q": "SELEKT Id FROM Lead"})
    unknown_locator = api.get("query/01g5e0000000zzzAAA-2000")

    assert malformed.status_code == 400
    assert error_codes(malformed) == ["MALFORMED_QUERY"]
    assert unknown_locator.status_code == 400
    assert error_codes(unknown_locator) == ["INVALID_QUERY_LOCATOR"]


# -- describe and CRUD ------------------------------------------------------------------


def test_describe_routes(api: Api) -> None:
    describe = api.get("sobjects/Lead/describe")
    with_slash = api.get("sobjects/Lead/describe/")
    global_describe = api.get("sobjects/").json()
    basic = api.get("sobjects/Lead").json()
    unknown = api.get("sobjects/Nope/describe")

    assert describe.status_code == with_slash.status_code == 200
    assert describe.json()["name"] == "Lead" and describe.json()["keyPrefix"] == "00Q"
    assert "LastName" in {field["name"] for field in describe.json()["fields"]}
    assert "Lead" in {item["name"] for item in global_describe["sobjects"]}
    assert basic["objectDescribe"]["name"] == "Lead"
    assert unknown.status_code == 404


def test_create_read_update_delete(api: Api) -> None:
    created = api.post("sobjects/Lead/", json={"LastName": "Hopper", "Company": "Navy"})
    lead_id = created.json()["id"]
    read = api.get(f"sobjects/Lead/{lead_id}", params={"fields": "LastName,Company"})
    updated = api.patch(f"sobjects/Lead/{lead_id}", json={"Company": "UNIVAC"})
    reread = api.get(f"sobjects/Lead/{lead_id}").json()
    deleted = api.delete(f"sobjects/Lead/{lead_id}")
    gone = api.get(f"sobjects/Lead/{lead_id}")

    assert created.status_code == 201
    assert created.json() == {"id": lead_id, "success": True, "errors": []}
    assert read.json()["LastName"] == "Hopper"
    assert read.json()["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v{VERSION}/sobjects/Lead/{lead_id}",
    }
    assert updated.status_code == 204 and updated.content == b""
    assert reread["Company"] == "UNIVAC"
    assert deleted.status_code == 204
    assert gone.status_code == 404


def test_validation_failures_are_400_lists(api: Api) -> None:
    response = api.post("sobjects/Lead", json={"Company": "No Name Inc"})
    with_id = api.post("sobjects/Lead", json={"Id": "00Q5e0000000001AAA", "LastName": "X"})

    assert response.status_code == 400
    body = response.json()
    assert body[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert "LastName" in body[0]["fields"]
    assert with_id.status_code == 400


def test_upsert_by_external_id_creates_then_updates(api: Api) -> None:
    first = api.patch(
        "sobjects/Lead/Syncline_Id__c/hub-1", json={"LastName": "Curie", "Company": "Sorbonne"}
    )
    second = api.patch("sobjects/Lead/Syncline_Id__c/hub-1", json={"Company": "Institut Curie"})
    fetched = api.get("sobjects/Lead/Syncline_Id__c/hub-1")
    with_id = api.patch("sobjects/Lead/Syncline_Id__c/hub-1", json={"Id": first.json()["id"]})
    bad_field = api.patch("sobjects/Lead/Nope__c/1", json={"LastName": "X"})
    update_only = api.patch(
        "sobjects/Lead/Syncline_Id__c/hub-2", params={"updateOnly": "true"}, json={"LastName": "X"}
    )

    assert first.status_code == 201
    assert first.json()["created"] is True and first.json()["success"] is True
    assert second.status_code == 200
    assert second.json() == {
        "id": first.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    assert fetched.json()["Company"] == "Institut Curie"
    assert with_id.status_code == 400
    assert bad_field.status_code == 404 and error_codes(bad_field) == ["NOT_FOUND"]
    assert update_only.status_code == 404


def test_upsert_with_several_matches_is_a_300() -> None:
    legacy = CustomFieldConfig(
        object="Lead", name="Legacy_Id__c", type="string", label="Legacy Id", length=20,
        external_id=True,
    )  # fmt: skip
    base = default_config()
    config = dataclasses.replace(base, custom_fields=(*base.custom_fields, legacy))
    with SalesforceSandbox(config) as sandbox:
        api = Api(sandbox)
        ids = {
            sandbox.org.insert("Lead", {"LastName": name, "Company": "C", "Legacy_Id__c": "L-1"})
            for name in ("One", "Two")
        }

        response = api.patch("sobjects/Lead/Legacy_Id__c/L-1", json={"Company": "D"})

        assert response.status_code == 300
        assert {url.rsplit("/", 1)[1] for url in response.json()} == ids


# -- sObject Collections ----------------------------------------------------------------


def lead_records(*last_names: str | None) -> list[dict]:
    records = []
    for name in last_names:
        record: dict = {"attributes": {"type": "Lead"}, "Company": "Acme"}
        if name is not None:
            record["LastName"] = name
        records.append(record)
    return records


def count_leads(api: Api) -> int:
    return api.get("query", params={"q": "SELECT COUNT() FROM Lead"}).json()["totalSize"]


def test_collection_create_reports_each_record_in_order(api: Api) -> None:
    response = api.post(
        "composite/sobjects", json={"allOrNone": False, "records": lead_records("A", None, "C")}
    )

    assert response.status_code == 200
    results = response.json()
    assert [result["success"] for result in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert "errorCode" not in results[1]["errors"][0]
    assert "created" not in results[0]
    assert count_leads(api) == 2


def test_collection_all_or_none_rolls_everything_back(api: Api) -> None:
    response = api.post(
        "composite/sobjects", json={"allOrNone": True, "records": lead_records("A", None, "C")}
    )

    results = response.json()
    assert [result["success"] for result in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    for result in (results[0], results[2]):
        assert result["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert count_leads(api) == 0


def test_collection_update_and_delete(api: Api) -> None:
    first, second = new_lead(api, LastName="One"), new_lead(api, LastName="Two")
    updates = [
        {"attributes": {"type": "Lead"}, "id": first, "Company": "Renamed"},
        {"attributes": {"type": "Lead"}, "id": second, "Email": "not-an-email"},
        {"attributes": {"type": "Lead"}, "Company": "No id"},
    ]

    updated = api.patch("composite/sobjects", json={"allOrNone": False, "records": updates}).json()
    deleted = api.delete("composite/sobjects", params={"ids": f"{first},{second}"}).json()
    no_ids = api.delete("composite/sobjects")

    assert [result["success"] for result in updated] == [True, False, False]
    assert updated[0]["id"] == first
    assert updated[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert [(result["id"], result["success"]) for result in deleted] == [
        (first, True),
        (second, True),
    ]
    assert no_ids.status_code == 400
    assert count_leads(api) == 0


def test_collection_upsert_reports_created(api: Api) -> None:
    existing = api.patch(
        "sobjects/Lead/Syncline_Id__c/hub-1", json={"LastName": "Old", "Company": "C"}
    )
    records = [
        {"attributes": {"type": "Lead"}, "Syncline_Id__c": "hub-1", "LastName": "Updated"},
        {
            "attributes": {"type": "Lead"},
            "Syncline_Id__c": "hub-2",
            "LastName": "New",
            "Company": "C",
        },
        {"attributes": {"type": "Lead"}, "LastName": "No key", "Company": "C"},
    ]

    results = api.patch(
        "composite/sobjects/Lead/Syncline_Id__c", json={"allOrNone": False, "records": records}
    ).json()

    assert results[0] == {
        "id": existing.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    assert results[1]["success"] is True and results[1]["created"] is True
    assert results[2]["success"] is False
    assert api.get("sobjects/Lead/Syncline_Id__c/hub-1").json()["LastName"] == "Updated"


def test_more_than_200_records_is_a_400(api: Api) -> None:
    records = lead_records(*[f"L{n}" for n in range(201)])

    response = api.post("composite/sobjects", json={"allOrNone": False, "records": records})

    assert response.status_code == 400
    assert isinstance(response.json(), list) and response.json()[0]["errorCode"]
    assert count_leads(api) == 0


# -- faults -----------------------------------------------------------------------------


def test_injected_faults_fail_the_next_calls_then_stop(
    sandbox: SalesforceSandbox, api: Api
) -> None:
    sandbox.faults.inject("transient", times=2)
    sandbox.faults.inject("rate_limited", retry_after=7)
    sandbox.faults.inject("auth_expired")

    statuses = [api.get("limits/") for _ in range(5)]

    assert [response.status_code for response in statuses] == [503, 503, 429, 401, 200]
    assert error_codes(statuses[0]) == ["SERVER_UNAVAILABLE"]
    assert statuses[2].headers["Retry-After"] == "7"
    assert error_codes(statuses[3]) == ["INVALID_SESSION_ID"]


def test_lock_faults_on_single_and_collection_writes(sandbox: SalesforceSandbox, api: Api) -> None:
    lead_id = new_lead(api)
    sandbox.faults.inject("lock")

    single = api.patch(f"sobjects/Lead/{lead_id}", json={"Company": "X"})
    sandbox.faults.configure(lock_rate=1.0)
    collection = api.post(
        "composite/sobjects", json={"allOrNone": False, "records": lead_records("A", "B")}
    ).json()

    assert single.status_code == 400
    assert single.json() == [
        {
            "message": f"unable to obtain exclusive access to this record or 1 records: {lead_id}",
            "errorCode": "UNABLE_TO_LOCK_ROW",
        }
    ]
    assert [result["errors"][0]["statusCode"] for result in collection] == [
        "UNABLE_TO_LOCK_ROW"
    ] * 2


def test_fault_rates_through_the_control_endpoint(sandbox: SalesforceSandbox, api: Api) -> None:
    set_503 = api.control("POST", "faults", json={"rate_503": 1.0})
    failing = api.get("limits/")
    cleared = api.control(
        "POST", "faults", json={"clear": True, "rate_429": 1.0, "retry_after_s": 3}
    )
    throttled = api.get("limits/")
    bad = api.control("POST", "faults", json={"rate_503": 2})

    assert set_503.json()["rate_503"] == 1.0
    assert failing.status_code == 503
    assert cleared.json()["rate_503"] == 0
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert bad.status_code == 400


def test_latency_is_paid_per_call(sandbox: SalesforceSandbox, api: Api) -> None:
    pauses: list[float] = []
    sandbox.faults._sleep = pauses.append  # record instead of sleeping
    sandbox.faults.configure(latency_ms=40, latency_per_record_ms=2)
    for n in range(3):
        sandbox.org.insert("Lead", {"LastName": f"L{n}", "Company": "C"})

    api.get("query", params={"q": "SELECT Id FROM Lead"})

    assert pauses == [0.04, 0.006]


# -- control endpoints ------------------------------------------------------------------


def test_control_edits_go_through_validation(sandbox: SalesforceSandbox, api: Api) -> None:
    created = api.control("POST", "records/Lead", json={"LastName": "Rep", "Company": "C"})
    invalid = api.control("POST", "records/Lead", json={"Company": "C"})
    lead_id = created.json()["id"]
    edited = api.control("PATCH", f"records/Lead/{lead_id}", json={"Company": "Edited"})
    state = api.control("GET", "state").json()

    assert created.status_code == 201
    assert invalid.status_code == 400 and error_codes(invalid) == ["REQUIRED_FIELD_MISSING"]
    assert edited.status_code == 204
    assert sandbox.org.get("Lead", lead_id)["Company"] == "Edited"
    assert state["records"]["Lead"] == 1


def test_control_convert_and_reset(sandbox: SalesforceSandbox, api: Api) -> None:
    lead_id = new_lead(api)

    converted = api.control("POST", "convert", json={"lead_id": lead_id})
    lead = api.get(f"sobjects/Lead/{lead_id}").json()
    reset = api.control("POST", "reset")

    assert converted.status_code == 200 and converted.json()["contactId"].startswith("003")
    assert lead["IsConverted"] is True
    assert lead["ConvertedContactId"] == converted.json()["contactId"]
    assert reset.status_code == 204
    assert count_leads(api) == 0  # the token outlives the reset


def test_control_expire_tokens(api: Api) -> None:
    assert api.control("POST", "expire-tokens").status_code == 204
    assert api.get("limits/").status_code == 401


def test_stopping_releases_the_port() -> None:
    with SalesforceSandbox() as sandbox:
        url = sandbox.url
        assert requests.get(f"{url}/services/data/", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/services/data/", timeout=1)
