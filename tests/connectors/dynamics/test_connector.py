"""Describe, option-set labels both ways, lookups, change tracking, qualification, $batch writes.

Dataverse is played by ``responses`` here (the wire shapes of its paging, change tracking,
writes and ``$batch`` answers); the conformance suite runs the same connector against the
DynamicsSandbox.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses

from connectors.base import Op, OutboundRecord, WriteStatus
from connectors.dynamics.writes import record_guid
from connectors.errors import ConnectorError, ErrorKind
from connectors.retry import RetryPolicy
from tests.connectors.dynamics.fakes import (
    ACCOUNT_DEFINITION,
    API,
    add_definition,
    add_json,
    add_token,
    connector,
    odata_error,
)

LEAD_1 = "49b0be2e-d01c-ed11-b83e-000d3a572421"
LEAD_2 = "60c4e274-0d87-e711-80e5-00155db19e6d"
CONTACT_1 = "2e451703-c686-e711-80e5-00155db19e6d"
DELTA_1 = f"{API}leads?$select=leadid&$deltatoken=919042%2108%2f22%2f2017"
DELTA_2 = f"{API}leads?$select=leadid&$deltatoken=919058%2108%2f22%2f2017"


def lead_row(guid: str, version: int, **values: Any) -> dict[str, Any]:
    return {"@odata.etag": f'W/"{version}"', "leadid": guid, "versionnumber": version,
            "modifiedon": "2024-05-01T10:22:31Z", "statecode": 0, **values}


@pytest.fixture
def crm() -> Any:
    responses.start()
    add_token()
    add_definition()
    yield connector()
    responses.stop()
    responses.reset()


# -- describe -----------------------------------------------------------------------------

def test_describe_maps_attribute_types(crm: Any) -> None:
    info = crm.describe(["lead"])["lead"]
    fields = info.fields
    assert (info.key_field, info.cursor_field) == ("leadid", "versionnumber")
    assert {n: fields[n].type for n in ("leadid", "firstname", "emailaddress1", "description",
                                        "numberofemployees", "revenue", "donotemail",
                                        "modifiedon", "leadsourcecode", "parentcontactid")} == {
        "leadid": "id", "firstname": "string", "emailaddress1": "email", "description": "text",
        "numberofemployees": "integer", "revenue": "number", "donotemail": "boolean",
        "modifiedon": "datetime", "leadsourcecode": "picklist", "parentcontactid": "reference"}
    assert fields["leadsourcecode"].picklist_values == ("Advertisement", "Partner",
                                                        "Trade Show", "Web", "Other")
    assert fields["leadsourcecode"].restricted_picklist
    assert fields["lastname"].required and not fields["firstname"].required
    assert not fields["leadid"].required  # system-required, but Dataverse makes it
    assert fields["lastname"].length == 50
    assert fields["syncline_hubid"].external_id and not fields["emailaddress1"].external_id
    assert fields["customerid"].reference_to == ("account", "contact")
    assert not fields["modifiedon"].createable and not fields["modifiedon"].updateable
    assert "address1_composite" not in fields  # virtual columns are not synced


def test_describe_is_cached_per_process(crm: Any) -> None:
    crm.describe(["lead"])
    other = connector()
    other.describe(["lead"])
    assert other.api_calls == 0


def test_unknown_table_is_config(crm: Any) -> None:
    add_json("GET", "EntityDefinitions(LogicalName='nosuch')",
             odata_error("0x80040217", "Could not find entity"), status=404)
    with pytest.raises(ConnectorError) as info:
        crm.describe(["nosuch"])
    assert info.value.kind is ErrorKind.CONFIG


# -- reads ------------------------------------------------------------------------------

def test_initial_read_tracks_changes_and_only_the_last_page_has_the_cursor(crm: Any) -> None:
    add_json("GET", "leads", {"value": [lead_row(LEAD_1, 10, leadsourcecode=8)],
                              "@odata.nextLink": f"{API}leads?$skiptoken=abc"})
    add_json("GET", "leads", {"value": [lead_row(LEAD_2, 11)], "@odata.deltaLink": DELTA_1})
    pages = list(crm.read_changes("lead", None, fields=["lastname", "leadsourcecode"]))
    assert [p.cursor for p in pages] == [None, DELTA_1]
    first = pages[0].changes[0]
    assert first.key == LEAD_1 and first.op is Op.UPSERT
    assert first.fields["leadsourcecode"] == "Web"  # the label, not 8
    assert first.version == "10" and first.modified_at is not None
    reads = [c.request for c in responses.calls if "leads" in c.request.url]
    for request in reads:
        assert "odata.track-changes" in request.headers["Prefer"]
        assert "odata.maxpagesize=5000" in request.headers["Prefer"]
        assert request.headers["If-None-Match"] == "null"
    select = parse_qs(urlsplit(reads[0].url).query)["$select"][0].split(",")
    assert {"leadid", "lastname", "leadsourcecode", "versionnumber", "statecode",
            "_parentcontactid_value"} <= set(select)
    assert "$filter" not in reads[0].url  # refused with track-changes


def test_delta_link_gives_upserts_and_deletes_and_a_new_cursor(crm: Any) -> None:
    responses.add(responses.GET, DELTA_1, json={
        "@odata.deltaLink": DELTA_2,
        "value": [lead_row(LEAD_1, 20, lastname="Orton"),
                  {"@odata.context": f"{API}$metadata#leads/$deletedEntity", "id": LEAD_2,
                   "reason": "deleted"}]})
    [page] = list(crm.read_changes("lead", DELTA_1, fields=["lastname"]))
    assert page.cursor == DELTA_2
    assert [(c.key, c.op) for c in page.changes] == [(LEAD_1, Op.UPSERT), (LEAD_2, Op.DELETE)]
    assert page.changes[0].fields["lastname"] == "Orton"


#: Dataverse's answer to a delta link it can no longer serve: ExpiredVersionStamp, code and
#: message as Microsoft's "Web service error codes (Microsoft Dataverse)" list gives them.
EXPIRED = ("0x80044352",
           "Version stamp associated with the client has expired. Please perform a full sync.")


@pytest.mark.parametrize("code, message", [
    EXPIRED,
    ("", EXPIRED[1]),  # the docs say error.code is "frequently empty": the words suffice
    ("0x80044352", ""),  # and so does the code alone
    ("", "The delta token has expired or is invalid."),  # a plausible older wording
    ("0x80072491", EXPIRED[1]),  # the code this connector once guessed, with the words
], ids=["documented", "message-only", "code-only", "delta-token-words", "old-guess"])
def test_expired_delta_token_falls_back_to_a_full_read(crm: Any, code: str, message: str
                                                       ) -> None:
    responses.add(responses.GET, DELTA_1, status=400, json=odata_error(code, message))
    add_json("GET", "leads", {"value": [lead_row(LEAD_1, 30)], "@odata.deltaLink": DELTA_2})
    pages = list(crm.read_changes("lead", DELTA_1))
    assert [c.key for p in pages for c in p.changes] == [LEAD_1]
    assert pages[-1].cursor == DELTA_2
    stale, full_read = [c.request for c in responses.calls if "leads" in c.request.url]
    assert "$deltatoken" in stale.url, "the stale link is asked once, not retried"
    assert "$deltatoken" not in full_read.url, "the re-read starts without a token"
    assert "odata.track-changes" in full_read.headers["Prefer"], "and asks for a new delta link"


def test_a_table_without_change_tracking_is_reported_not_re_read(crm: Any) -> None:
    responses.add(responses.GET, DELTA_1, status=400, json=odata_error(
        "0x80072491", "Entity lead isn't enabled for change tracking."))
    with pytest.raises(ConnectorError) as info:
        list(crm.read_changes("lead", DELTA_1))
    assert (info.value.kind, info.value.code) == (ErrorKind.CONFIG, "0x80072491")
    assert "Track changes" in (info.value.hint or "")
    [asked] = [c.request.url for c in responses.calls if "leads" in c.request.url]
    assert "$deltatoken" in asked, "no full read, no retry of the same link"


def test_a_cursor_pointing_elsewhere_is_refused(crm: Any) -> None:
    with pytest.raises(ConnectorError) as info:
        list(crm.read_changes("lead", "https://evil.example.com/api/data/v9.2/leads"))
    assert info.value.kind is ErrorKind.CONFIG


def test_qualified_lead_names_its_contact_as_successor(crm: Any) -> None:
    add_json("GET", "leads", {"@odata.deltaLink": DELTA_1, "value": [
        lead_row(LEAD_1, 40, statecode=1, _parentcontactid_value=CONTACT_1),
        lead_row(LEAD_2, 41, statecode=0, _parentcontactid_value=CONTACT_1)]})
    [page] = list(crm.read_changes("lead", None, fields=["statecode", "parentcontactid"]))
    qualified, open_lead = page.changes
    assert qualified.op is Op.UPSERT and qualified.successor == ("contact", CONTACT_1)
    assert qualified.fields == {"leadid": LEAD_1, "statecode": "Qualified",
                                "parentcontactid": CONTACT_1}
    assert open_lead.successor is None


def test_429_during_a_read_waits_retry_after(crm: Any) -> None:
    add_json("GET", "leads", odata_error("0x80072326", "Number of concurrent requests "
                                                       "exceeded the limit of 52."),
             status=429, headers={"Retry-After": "3"})
    add_json("GET", "leads", {"value": [], "@odata.deltaLink": DELTA_1})
    slept: list[float] = []
    crm.retry = RetryPolicy(max_tries=3, sleep=slept.append)
    pages = list(crm.read_changes("lead", None))
    assert slept == [3.0] and pages[-1].cursor == DELTA_1


def test_lookup_filters_without_track_changes_and_hides_qualified_leads(crm: Any) -> None:
    add_json("GET", "leads", {"value": [lead_row(LEAD_1, 5, emailaddress1="a@x.com")]})
    found = crm.lookup("lead", "emailaddress1", ["A@X.COM", "o'neil@x.com"])
    assert [c.key for c in found] == [LEAD_1]
    request = responses.calls[-1].request
    query = unquote(urlsplit(request.url).query)
    assert "emailaddress1 eq 'A@X.COM' or emailaddress1 eq 'o''neil@x.com'" in query
    assert "statecode ne 1" in query
    assert "track-changes" not in request.headers["Prefer"]


def test_lookup_by_option_label_sends_the_value(crm: Any) -> None:
    add_json("GET", "leads", {"value": []})
    crm.lookup("lead", "leadsourcecode", ["Web"])
    assert "leadsourcecode eq 8" in unquote(responses.calls[-1].request.url)


# -- writes -----------------------------------------------------------------------------

def batch_answer(*parts: tuple[int, Any]) -> tuple[str, str]:
    lines = []
    for status, body in parts:
        lines += ["--batchresponse_1", "Content-Type: application/http",
                  "Content-Transfer-Encoding: binary", "", f"HTTP/1.1 {status} X",
                  "Content-Type: application/json", "", json.dumps(body) if body else ""]
    lines.append("--batchresponse_1--")
    return "\r\n".join(lines), "multipart/mixed; boundary=batchresponse_1"


def add_batch(*parts: tuple[int, Any]) -> None:
    body, content_type = batch_answer(*parts)
    responses.add(responses.POST, f"{API}$batch", body=body, content_type=content_type)


def sent_parts() -> list[tuple[str, dict[str, Any] | None]]:
    request = [c.request for c in responses.calls if c.request.url.endswith("$batch")][-1]
    text = request.body.decode() if isinstance(request.body, bytes) else request.body
    lines = [p for p in text.split("--batch_") if "HTTP/1.1" in p]
    out = []
    for part in lines:
        request_line = next(line for line in part.split("\r\n") if "HTTP/1.1" in line)
        body = part.rstrip("\r\n-").split("\r\n")[-1]
        out.append((request_line, json.loads(body) if body.startswith("{") else None))
    assert request.headers["Prefer"] == "odata.continue-on-error"
    return out


def test_writes_send_option_values_and_read_created_updated_per_part(crm: Any) -> None:
    add_batch((201, {"leadid": LEAD_1, "versionnumber": 50}),
              (200, {"leadid": LEAD_2, "versionnumber": 51}),
              (412, odata_error("0x80060882", "The version of the existing record doesn't "
                                              "match the RowVersion property provided.")))
    results = crm.write("lead", [
        OutboundRecord("hub-1", None, {"lastname": "Ada", "leadsourcecode": "Web"},
                       external_id=("syncline_hubid", "hub-1")),
        OutboundRecord("hub-2", LEAD_2, {"leadsourcecode": 4}),
        OutboundRecord("hub-3", LEAD_1, {"lastname": "Stale"}, if_match="12"),
    ])
    assert [(r.ref, r.status, r.key, r.version) for r in results[:2]] == [
        ("hub-1", WriteStatus.CREATED, LEAD_1, "50"), ("hub-2", WriteStatus.UPDATED, LEAD_2, "51")]
    assert results[2].status is WriteStatus.FAILED
    assert results[2].error is not None and results[2].error.kind is ErrorKind.CONFLICT
    (line1, body1), (line2, body2), (line3, _) = sent_parts()
    assert line1.startswith("PATCH /api/data/v9.2/leads(syncline_hubid='hub-1')?$select=")
    assert body1 == {"lastname": "Ada", "leadsourcecode": 8}  # no key column in the body
    assert line2.startswith(f"PATCH /api/data/v9.2/leads({LEAD_2})") and body2 == {
        "leadsourcecode": 4}
    assert line3.startswith(f"PATCH /api/data/v9.2/leads({LEAD_1})")
    request = [c.request for c in responses.calls if c.request.url.endswith("$batch")][-1]
    text = request.body.decode()
    assert 'If-Match: W/"12"' in text and "If-Match: *" in text


def test_unknown_option_label_fails_that_record_alone_with_a_hint(crm: Any) -> None:
    add_batch((201, {"leadid": LEAD_1, "versionnumber": 1}))
    bad, good = crm.write("lead", [
        OutboundRecord("hub-1", None, {"lastname": "X", "leadsourcecode": "Fax"}),
        OutboundRecord("hub-2", None, {"lastname": "Y", "leadsourcecode": "web"}),
    ])
    assert bad.status is WriteStatus.FAILED and bad.error is not None
    assert bad.error.kind is ErrorKind.VALIDATION
    assert bad.error.hint == ("add a value_map entry for 'Fax' on leadsourcecode; allowed: "
                              "Advertisement, Partner, Trade Show, Web, Other")
    assert good.status is WriteStatus.CREATED
    [(line, body)] = sent_parts()  # the bad record never left
    assert line.startswith(f"PATCH /api/data/v9.2/leads({record_guid('lead', 'hub-2')})")
    assert body == {"lastname": "Y", "leadsourcecode": 8}


def test_creates_without_a_key_use_a_stable_guid(crm: Any) -> None:
    assert record_guid("lead", "hub-1") == record_guid("lead", "hub-1")
    assert record_guid("lead", "hub-1") != record_guid("contact", "hub-1")


def test_lookups_bind_to_the_target_set(crm: Any) -> None:
    add_definition(ACCOUNT_DEFINITION)
    add_batch((200, {"leadid": LEAD_1, "versionnumber": 3}))
    crm.write("lead", [OutboundRecord("h", LEAD_1, {"customerid": CONTACT_1})])
    [(_, body)] = sent_parts()
    # Unknown GUID: the first target (account) is tried.
    assert body == {"customerid_account@odata.bind": f"/accounts({CONTACT_1})"}


def test_deletes_and_missing_records(crm: Any) -> None:
    add_batch((204, None), (404, odata_error("0x80040217", f"lead With Id = {LEAD_2} Does "
                                                            "Not Exist")))
    gone, missing = crm.write("lead", [OutboundRecord("a", LEAD_1, {}, op=Op.DELETE),
                                       OutboundRecord("b", LEAD_2, {}, op=Op.DELETE)])
    assert gone.status is WriteStatus.DELETED
    assert missing.error is not None and missing.error.kind is ErrorKind.NOT_FOUND
    assert [line.split(" HTTP")[0] for line, _ in sent_parts()] == [
        f"DELETE /api/data/v9.2/leads({LEAD_1})", f"DELETE /api/data/v9.2/leads({LEAD_2})"]


def test_batches_are_chunked_by_max_batch_size() -> None:
    responses.start()
    try:
        add_token()
        add_definition()
        crm = connector(max_batch_size=2)
        for _ in range(3):
            responses.add_callback(responses.POST, f"{API}$batch", callback=_echo_created)
        results = crm.write("lead", [OutboundRecord(f"h{i}", None, {"lastname": str(i)})
                                     for i in range(5)])
        assert [r.ref for r in results] == [f"h{i}" for i in range(5)]
        assert all(r.status is WriteStatus.CREATED for r in results)
        assert sum(c.request.url.endswith("$batch") for c in responses.calls) == 3
    finally:
        responses.stop()
        responses.reset()


def _echo_created(request: Any) -> tuple[int, dict[str, str], str]:
    text = request.body.decode()
    count = text.count("HTTP/1.1")
    body, content_type = batch_answer(*[(201, {"leadid": f"id-{i}", "versionnumber": i})
                                        for i in range(count)])
    return 200, {"Content-Type": content_type}, body


def test_a_batch_that_stopped_early_leaves_the_rest_retryable(crm: Any) -> None:
    add_batch((201, {"leadid": LEAD_1, "versionnumber": 1}))
    done, lost = crm.write("lead", [OutboundRecord("a", None, {"lastname": "A"}),
                                    OutboundRecord("b", None, {"lastname": "B"})])
    assert done.ok and lost.error is not None and lost.error.retryable

