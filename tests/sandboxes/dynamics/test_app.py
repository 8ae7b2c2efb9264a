"""The Dataverse sandbox over HTTP: what a client following the Web API docs sees."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import requests

from sandboxes.dynamics.auth import AppRegistration, Auth
from sandboxes.dynamics.sandbox import DynamicsSandbox


class Api:
    """A client of one sandbox holding a token (plain requests, paths relative to the API)."""

    def __init__(self, sandbox: DynamicsSandbox) -> None:
        self.sandbox = sandbox
        self.http = requests.Session()
        response = self.http.post(sandbox.token_url, data=sandbox.token_form())
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.sandbox.api_url}/{path}"

    def call(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            **kwargs.pop("headers", {}),  # type: ignore[dict-item]
        }
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

    def create_lead(self, **values: object) -> str:
        body = {"lastname": "Lovelace", **values}
        response = self.post("leads", json=body)
        assert response.status_code == 204, response.text
        return entity_guid(response)


def entity_guid(response: requests.Response) -> str:
    """The GUID at the end of an ``OData-EntityId`` header."""
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def error_code(response: requests.Response) -> str:
    return response.json()["error"]["code"]


class FakeClock:
    """A settable UTC clock shared by the Environment and the delta tokens."""

    def __init__(self) -> None:
        self.now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sb:
        yield sb


@pytest.fixture
def api(sandbox: DynamicsSandbox) -> Api:
    return Api(sandbox)


# ------------------------------------------------------------------------ token


def test_token_endpoint_answers_like_entra_id(sandbox: DynamicsSandbox) -> None:
    response = requests.post(sandbox.token_url, data=sandbox.token_form())
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    assert body["access_token"]


def test_wrong_secret_is_aadsts7000215(sandbox: DynamicsSandbox) -> None:
    form = sandbox.token_form() | {"client_secret": "nope"}
    response = requests.post(sandbox.token_url, data=form)
    body = response.json()
    assert response.status_code == 401
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert body["trace_id"] and body["correlation_id"] and body["timestamp"]


def test_unknown_client_and_bad_scope_are_refused(sandbox: DynamicsSandbox) -> None:
    unknown = requests.post(
        sandbox.token_url, data=sandbox.token_form() | {"client_id": "0000-unknown"}
    )
    assert unknown.status_code == 400
    assert unknown.json()["error_codes"] == [700016]
    bad_scope = requests.post(sandbox.token_url, data=sandbox.token_form() | {"scope": "leads"})
    assert bad_scope.status_code == 400
    assert bad_scope.json()["error"] == "invalid_scope"


def test_api_without_a_valid_token_is_401_with_a_bearer_challenge(
    sandbox: DynamicsSandbox,
) -> None:
    missing = requests.get(f"{sandbox.api_url}/leads")
    forged = requests.get(f"{sandbox.api_url}/leads", headers={"Authorization": "Bearer forged"})
    for response in (missing, forged):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    # Two of the 401 errors "Compose HTTP requests and handle errors" names, in the words of
    # Microsoft's "Web service error codes" list.
    assert missing.json()["error"] == {
        "code": "0x80044302", "message": "Request is not authenticated."}
    assert forged.json()["error"] == {
        "code": "0x8004a100",
        "message": "The ticket specified for authentication didn't pass validation"}


def test_expired_tokens_stop_working_until_a_new_one_is_fetched(
    api: Api, sandbox: DynamicsSandbox
) -> None:
    assert api.get("leads").status_code == 200
    assert api.control("POST", "expire-tokens").status_code == 204
    assert api.get("leads").status_code == 401
    assert Api(sandbox).get("leads").status_code == 200


def test_tokens_expire_after_their_lifetime() -> None:
    now = [1000.0]
    auth = Auth(
        tenant="t",
        apps=[AppRegistration("app", "secret", "user")],
        token_lifetime_s=60,
        clock=lambda: now[0],
    )
    token = auth.issue().access_token
    now[0] += 59
    assert auth.session_for(token) is not None
    now[0] += 1
    assert auth.session_for(token) is None


def test_every_api_response_carries_odata_and_service_protection_headers(api: Api) -> None:
    first = api.get("leads")
    second = api.get("leads")
    assert first.headers["OData-Version"] == "4.0"
    assert first.headers["x-ms-dop-hint"]
    remaining = [
        int(r.headers["x-ms-ratelimit-burst-remaining-xrm-requests"]) for r in (first, second)
    ]
    assert remaining[1] == remaining[0] - 1


# ------------------------------------------------------------------------ metadata


def test_entity_definition_with_attributes(api: Api) -> None:
    response = api.get(
        "EntityDefinitions(LogicalName='lead')?$select=LogicalName,EntitySetName,"
        "PrimaryIdAttribute&$expand=Attributes"
    )
    body = response.json()
    assert response.status_code == 200
    assert body["EntitySetName"] == "leads"
    assert body["PrimaryIdAttribute"] == "leadid"
    assert "ObjectTypeCode" not in body
    names = {attribute["LogicalName"] for attribute in body["Attributes"]}
    assert {"emailaddress1", "lastname", "statecode"} <= names
    attributes = api.get("EntityDefinitions(LogicalName='lead')/Attributes").json()["value"]
    assert {attribute["LogicalName"] for attribute in attributes} == names


def test_entity_definitions_filter_and_csdl(api: Api) -> None:
    tracked = api.get("EntityDefinitions?$filter=ChangeTrackingEnabled eq true").json()["value"]
    assert "lead" in {definition["LogicalName"] for definition in tracked}
    by_name = api.get("EntityDefinitions?$filter=LogicalName eq 'contact'").json()["value"]
    assert [definition["EntitySetName"] for definition in by_name] == ["contacts"]
    csdl = api.get("$metadata")
    assert csdl.status_code == 200
    assert '<EntitySet Name="leads"' in csdl.text
    assert api.get("EntityDefinitions(LogicalName='nosuch')").status_code == 404


# ------------------------------------------------------------------------ queries


def test_pages_follow_next_links_until_every_row_is_read(api: Api) -> None:
    created = {api.create_lead(firstname=f"P{n}") for n in range(7)}
    headers = {"Prefer": "odata.maxpagesize=3"}
    url = "leads?$select=firstname&$count=true"
    seen: list[str] = []
    pages = 0
    while url:
        response = api.get(url, headers=headers)
        body = response.json()
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"
        assert body["@odata.count"] == 7
        for row in body["value"]:
            assert row["@odata.etag"].startswith('W/"')
            assert set(row) == {"@odata.etag", "firstname", "leadid"}
        seen += [row["leadid"] for row in body["value"]]
        pages += 1
        url = body.get("@odata.nextLink")
        if url:
            assert "$skiptoken=" in url
    assert pages == 3
    assert sorted(seen) == sorted(created)


def test_filter_and_orderby(api: Api) -> None:
    for name in ("Cleo", "Abe", "Bea"):
        api.create_lead(firstname=name, emailaddress1=f"{name.lower()}@example.com")
    rows = api.get(
        "leads?$select=firstname&$filter=startswith(firstname,'C') or firstname eq 'Abe'"
        "&$orderby=firstname desc"
    ).json()["value"]
    assert [row["firstname"] for row in rows] == ["Cleo", "Abe"]
    broken = api.get("leads?$filter=firstname eq")
    assert broken.status_code == 400


def test_orderby_pages_do_not_repeat_rows(api: Api) -> None:
    for n in range(5):
        api.create_lead(firstname=f"N{n}")
    url, names = "leads?$select=firstname&$orderby=firstname desc", []
    while url:
        body = api.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
        names += [row["firstname"] for row in body["value"]]
        url = body.get("@odata.nextLink")
    assert names == [f"N{n}" for n in reversed(range(5))]


def test_top_and_unsupported_skip(api: Api) -> None:
    for n in range(3):
        api.create_lead(firstname=f"T{n}")
    assert len(api.get("leads?$top=2").json()["value"]) == 2
    skip = api.get("leads?$skip=1")
    assert skip.status_code == 400
    assert error_code(skip) == "0x80060888"


def test_unknown_select_column_is_refused(api: Api) -> None:
    response = api.get("leads?$select=nosuchcolumn")
    assert response.status_code == 400
    assert "nosuchcolumn" in response.json()["error"]["message"]


# ------------------------------------------------------------------------ change tracking


def _delta_rows(api: Api, url: str) -> tuple[list[dict], str]:
    response = api.get(url, headers={"Prefer": "odata.track-changes"})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["value"], body["@odata.deltaLink"]


def test_delta_link_returns_changes_then_deletions(api: Api) -> None:
    kept, removed = api.create_lead(firstname="Kept"), api.create_lead(firstname="Gone")
    initial = api.get(
        "leads?$select=firstname",
        headers={"Prefer": "odata.track-changes, odata.maxpagesize=1"},
    )
    assert initial.headers["Preference-Applied"] == "odata.maxpagesize=1,odata.track-changes"
    # Page to the end: only the last page carries the delta link.
    body = initial.json()
    assert "@odata.deltaLink" not in body
    body = api.get(body["@odata.nextLink"], headers={"Prefer": "odata.track-changes"}).json()
    delta_link = body["@odata.deltaLink"]
    token = unquote(delta_link.split("$deltatoken=")[1])
    assert "!" in token
    assert api.patch(f"leads({kept})", json={"firstname": "Kept2"},
                     headers={"If-Match": "*"}).status_code == 204
    assert api.delete(f"leads({removed})").status_code == 204
    added = api.create_lead(firstname="New")
    rows, next_link = _delta_rows(api, delta_link)
    assert [row.get("firstname") for row in rows[:2]] == ["Kept2", "New"]
    assert {row["leadid"] for row in rows[:2]} == {kept, added}
    assert rows[2] == {
        "@odata.context": f"{api.sandbox.api_url}/$metadata#leads/$deletedEntity",
        "id": removed,
        "reason": "deleted",
    }
    assert _delta_rows(api, next_link)[0] == []


def test_delta_results_page_through_changes_and_deletions(api: Api) -> None:
    guids = [api.create_lead(firstname=f"D{n}") for n in range(5)]
    _, delta_link = _delta_rows(api, "leads?$select=firstname")
    for guid in guids[:3]:
        api.patch(f"leads({guid})", json={"firstname": "changed"}, headers={"If-Match": "*"})
    for guid in guids[3:]:
        api.delete(f"leads({guid})")
    headers = {"Prefer": "odata.track-changes, odata.maxpagesize=2"}
    url, rows = delta_link, []
    while True:
        body = api.get(url, headers=headers).json()
        rows += body["value"]
        if "@odata.nextLink" not in body:
            break
        url = body["@odata.nextLink"]
    assert [row.get("leadid") for row in rows[:3]] == guids[:3]
    assert [row.get("id") for row in rows[3:]] == guids[3:]
    assert _delta_rows(api, body["@odata.deltaLink"])[0] == []


@pytest.mark.parametrize("option", ["$filter=firstname eq 'x'", "$orderby=firstname", "$top=1"])
def test_track_changes_refuses_query_options(api: Api, option: str) -> None:
    response = api.get(f"leads?{option}", headers={"Prefer": "odata.track-changes"})
    name = option.split("=")[0]
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'
    )


#: ExpiredVersionStamp in Microsoft's "Web service error codes (Microsoft Dataverse)" list.
EXPIRED_VERSION_STAMP = {
    "code": "0x80044352",
    "message": "Version stamp associated with the client has expired. Please perform a full sync.",
}


def test_delta_tokens_from_before_a_reset_are_refused(api: Api) -> None:
    api.create_lead()
    _, delta_link = _delta_rows(api, "leads?$select=lastname")
    assert api.control("POST", "reset").status_code == 204
    response = api.get(delta_link)
    assert response.status_code == 400
    assert response.json()["error"] == EXPIRED_VERSION_STAMP


def test_delta_tokens_expire_after_seven_days() -> None:
    clock = FakeClock()
    with DynamicsSandbox(clock=clock) as sandbox:
        api = Api(sandbox)
        api.create_lead()
        _, delta_link = _delta_rows(api, "leads?$select=lastname")
        clock.now += timedelta(days=6)
        fresh_rows, fresh_link = _delta_rows(api, delta_link)
        assert fresh_rows == []
        clock.now += timedelta(days=1, seconds=1)
        expired = api.get(delta_link)
        assert expired.status_code == 400
        assert expired.json()["error"] == EXPIRED_VERSION_STAMP
        assert api.get(fresh_link).status_code == 200


# ------------------------------------------------------------------------ writes


def test_create_and_read_back(api: Api) -> None:
    created = api.post("leads", json={"lastname": "Hopper", "emailaddress1": "g@navy.mil"})
    assert created.status_code == 204
    assert created.headers["OData-EntityId"].startswith(f"{api.sandbox.api_url}/leads(")
    guid = entity_guid(created)
    response = api.get(f"leads({guid})?$select=lastname,emailaddress1")
    row = response.json()
    assert row["lastname"] == "Hopper"
    assert row["leadid"] == guid
    assert set(row) == {"@odata.context", "@odata.etag", "lastname", "emailaddress1", "leadid"}
    not_modified = api.get(f"leads({guid})", headers={"If-None-Match": row["@odata.etag"]})
    assert not_modified.status_code == 304


def test_create_with_representation_is_201(api: Api) -> None:
    response = api.post(
        "leads?$select=lastname",
        json={"lastname": "Turing"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201
    assert response.json()["lastname"] == "Turing"
    assert response.json()["leadid"]


def test_patch_is_an_upsert_and_representation_tells_create_from_update(api: Api) -> None:
    guid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    headers = {"Prefer": "return=representation"}
    created = api.patch(f"leads({guid})", json={"lastname": "New"}, headers=headers)
    updated = api.patch(f"leads({guid})", json={"lastname": "Newer"}, headers=headers)
    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["lastname"] == "Newer"
    plain = api.patch(f"leads({guid})", json={"firstname": "Ann"})
    assert plain.status_code == 204
    assert plain.headers["OData-EntityId"].endswith(f"leads({guid})")


def test_if_match_star_updates_only(api: Api) -> None:
    missing = api.patch(
        "leads(3f2504e0-4f89-41d3-9a0c-0305e82c3399)",
        json={"lastname": "X"},
        headers={"If-Match": "*"},
    )
    assert missing.status_code == 404
    assert error_code(missing) == "0x80040217"
    assert api.get("leads").json()["value"] == []


def test_if_match_version_detects_concurrent_edits(api: Api) -> None:
    guid = api.create_lead()
    etag = api.get(f"leads({guid})").json()["@odata.etag"]
    assert api.patch(f"leads({guid})", json={"firstname": "A"},
                     headers={"If-Match": etag}).status_code == 204
    stale = api.patch(f"leads({guid})", json={"firstname": "B"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert error_code(stale) == "0x80060882"


def test_if_none_match_star_creates_only(api: Api) -> None:
    guid = api.create_lead()
    response = api.patch(f"leads({guid})", json={"firstname": "A"}, headers={"If-None-Match": "*"})
    assert response.status_code == 412
    assert error_code(response) == "0x80040237"


def test_alternate_key_upserts_hit_the_same_row(api: Api) -> None:
    first = api.patch("leads(emailaddress1='ada@example.com')", json={"lastname": "Lovelace"})
    again = api.patch("leads(emailaddress1='ada@example.com')", json={"firstname": "Ada"})
    assert first.status_code == again.status_code == 204
    assert entity_guid(first) == entity_guid(again)
    hub = api.patch("leads(syncline_hubid='hub-1')", json={"lastname": "Hub"})
    assert entity_guid(hub) != entity_guid(first)
    rows = api.get("leads?$select=firstname,emailaddress1,syncline_hubid").json()["value"]
    assert len(rows) == 2
    by_email = api.get("leads(emailaddress1='ada@example.com')?$select=firstname").json()
    assert by_email["firstname"] == "Ada"
    not_a_key = api.patch("leads(lastname='Hub')", json={"firstname": "X"})
    assert not_a_key.status_code == 400


def test_delete(api: Api) -> None:
    guid = api.create_lead()
    assert api.delete(f"leads({guid})").status_code == 204
    again = api.delete(f"leads({guid})")
    assert again.status_code == 404
    assert error_code(again) == "0x80040217"


# ------------------------------------------------------------------------ bulk messages


def _targets(*rows: dict) -> dict:
    return {"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.lead", **row} for row in rows]}


def test_create_multiple_returns_ids(api: Api) -> None:
    response = api.post(
        "leads/Microsoft.Dynamics.CRM.CreateMultiple",
        json=_targets({"lastname": "A"}, {"lastname": "B"}),
    )
    body = response.json()
    assert response.status_code == 200
    assert body["@odata.context"].endswith("#Microsoft.Dynamics.CRM.CreateMultipleResponse")
    names = {row["leadid"]: row["lastname"] for row in api.get("leads").json()["value"]}
    assert [names[guid] for guid in body["Ids"]] == ["A", "B"]


def test_create_multiple_is_all_or_nothing(api: Api) -> None:
    response = api.post(
        "leads/Microsoft.Dynamics.CRM.CreateMultiple",
        json=_targets({"lastname": "Fine"}, {"lastname": "x" * 500}),
    )
    assert response.status_code == 400
    assert api.get("leads").json()["value"] == []


def test_multiple_messages_need_the_odata_type(api: Api) -> None:
    response = api.post(
        "leads/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [{"lastname": "A"}]}
    )
    assert response.status_code == 400
    assert "@odata.type" in response.json()["error"]["message"]


def test_upsert_multiple_by_alternate_key_then_update_multiple(api: Api) -> None:
    action = "leads/Microsoft.Dynamics.CRM.UpsertMultiple"
    first = api.post(action, json=_targets({"syncline_hubid": "h1", "lastname": "One"}))
    second = api.post(
        action,
        json=_targets(
            {"syncline_hubid": "h1", "lastname": "Uno"}, {"syncline_hubid": "h2", "lastname": "Two"}
        ),
    )
    assert first.status_code == second.status_code == 200
    assert second.json()["Ids"][0] == first.json()["Ids"][0]
    update = api.post(
        "leads/Microsoft.Dynamics.CRM.UpdateMultiple",
        json=_targets({"leadid": second.json()["Ids"][1], "firstname": "Zwei"}),
    )
    assert update.status_code == 204
    rows = api.get("leads?$select=lastname,firstname,syncline_hubid").json()["value"]
    assert {(r["syncline_hubid"], r["lastname"], r["firstname"]) for r in rows} == {
        ("h1", "Uno", None),
        ("h2", "Two", "Zwei"),
    }


def test_update_multiple_rolls_back_when_a_row_is_missing(api: Api) -> None:
    guid = api.create_lead(firstname="Before")
    response = api.post(
        "leads/Microsoft.Dynamics.CRM.UpdateMultiple",
        json=_targets(
            {"leadid": guid, "firstname": "After"},
            {"leadid": "3f2504e0-4f89-41d3-9a0c-0305e82c3399", "firstname": "Ghost"},
        ),
    )
    assert response.status_code == 404
    assert api.get(f"leads({guid})?$select=firstname").json()["firstname"] == "Before"


def test_add_member_list(api: Api) -> None:
    created = api.post("lists", json={"listname": "Webinar", "createdfromcode": 4})
    list_id = entity_guid(created)
    lead = api.create_lead()
    response = api.post(
        f"lists({list_id})/Microsoft.Dynamics.CRM.AddMemberList", json={"EntityId": lead}
    )
    assert response.status_code == 200, response.text
    member_id = response.json()["Id"]
    members = api.sandbox.env.rows("listmember")
    assert [row["listmemberid"] for row in members] == [member_id]
    assert members[0]["_entityid_value"] == lead


# ------------------------------------------------------------------------ limits and faults


def test_service_protection_answers_429_with_retry_after(api: Api) -> None:
    assert api.control("POST", "limits", json={"requests_per_window": 2}).status_code == 200
    assert api.get("leads").status_code == 200
    assert api.get("leads").status_code == 200
    refused = api.get("leads")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 2 over time window of 300 seconds.",
    }


def test_one_shot_faults(api: Api) -> None:
    injected = api.control(
        "POST",
        "faults",
        json={
            "inject": [
                {"kind": "transient"},
                {"kind": "rate_limited", "retry_after": 7},
                {"kind": "auth_expired"},
            ]
        },
    )
    assert injected.status_code == 200
    assert api.get("leads").status_code == 503
    throttled = api.get("leads")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert api.get("leads").status_code == 401
    assert api.get("leads").status_code == 200


def test_fault_rates_are_seeded(api: Api) -> None:
    api.control("POST", "faults", json={"rate_503": 0.5, "seed": 3})
    first = [api.get("leads").status_code for _ in range(12)]
    api.control("POST", "faults", json={"seed": 3})
    second = [api.get("leads").status_code for _ in range(12)]
    assert first == second
    assert {200, 503} == set(first)


def test_control_edits_show_up_in_the_api(api: Api) -> None:
    created = api.control("POST", "records/leads", json={"lastname": "Rep"})
    assert created.status_code == 201
    guid = created.json()["leadid"]
    api.control("PATCH", f"records/leads/{guid}", json={"firstname": "Sales"})
    assert api.get(f"leads({guid})?$select=firstname").json()["firstname"] == "Sales"
    qualified = api.control("POST", "qualify", json={"lead_id": guid})
    assert qualified.status_code == 200
    assert qualified.json()["contactid"]
    assert api.control("GET", "state").json()["records"]["contact"] == 1
    assert api.control("DELETE", f"records/leads/{guid}").status_code == 204
    assert api.get(f"leads({guid})").status_code == 404
