"""The errors section: filters, search, the grouped view, one error in full, actions, CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.salesforce.connector import SalesforceConnector
from core.db import session
from core.models import Audit, Link, Person, SyncError, SyncRun
from jobs.triage import EXPORT_COLUMNS
from tests.dashboard.conftest import unwrapped
from tests.dashboard.forms import post

AddError = Callable[..., SyncError]
AddRun = Callable[..., SyncRun]
ATTACK = "<script>alert(1)</script>"
REPO_HUB_YAML = Path(__file__).resolve().parents[2] / "mappings" / "hub.yaml"


def error_ids(html: str) -> list[int]:
    """Ids of the errors a page lists (its rows), in page order."""
    return [int(i) for i in re.findall(r'<tr data-error-id="(\d+)"', html)]


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def statuses(engine: Engine) -> dict[int, str]:
    with Session(engine) as db:
        return {e.id: e.status for e in db.exec(select(SyncError)) if e.id is not None}


def audits(engine: Engine) -> list[Audit]:
    with Session(engine) as db:
        return list(db.exec(select(Audit).order_by(Audit.id)))  # type: ignore[arg-type]


def export(client: FlaskClient, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/errors/export.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="syncline-errors-\d{8}-\d{6}\.csv"', disposition)
    text = response.get_data(as_text=True)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == EXPORT_COLUMNS
    return list(reader)


# -- the list: every filter, search, paging -----------------------------------------------------


@pytest.fixture
def made(add_error: AddError) -> dict[str, SyncError]:
    """A spread of errors; the list shows them by last seen (the minutes), newest first."""
    return {
        "ann": add_error(
            "crm-lead", minutes=60 * 24 * 0, code="STRING_TOO_LONG", field="Title",
            email="ann@acme.com", hub_id="h-ann", remote_id="00Q-ann", status="open",
        ),
        "bo": add_error(
            "crm-lead", minutes=60 * 24 * 1, direction="to_hub", kind="duplicate",
            code="DUPLICATE_VALUE", email="bo@beta.io", hub_id="h-bo", remote_id="00Q-bo",
            status="retrying",
        ),
        "job": add_error(
            "crm-lead", minutes=60 * 24 * 2, direction="cycle", level="job", kind="auth",
            code="INVALID_SESSION_ID", status="open",
        ),
        "cy": add_error(
            "crm-account", minutes=60 * 24 * 3, code="STRING_TOO_LONG", field="Name",
            email="cy@corp.io", remote_id="001-cy", status="open",
        ),
        "dee": add_error(
            "crm-lead", minutes=60 * 24 * 4, code="STRING_TOO_LONG", field="Title",
            email="dee@acme.com", hub_id="h-dee", status="ignored",
        ),
        "eve": add_error(
            "crm-lead", minutes=60 * 24 * 5, kind="transient", email="eve@acme.com",
            status="resolved",
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["cy", "job", "bo", "ann"]),
        ("status=all", ["eve", "dee", "cy", "job", "bo", "ann"]),
        ("status=ignored", ["dee"]),
        ("mapping=crm-account", ["cy"]),
        ("direction=to_hub", ["bo"]),
        ("direction=cycle", ["job"]),
        ("level=job", ["job"]),
        ("level=record&mapping=crm-lead", ["bo", "ann"]),
        ("kind=duplicate", ["bo"]),
        ("code=STRING_TOO_LONG", ["cy", "ann"]),
        ("code=STRING_TOO_LONG&status=all&mapping=crm-lead", ["dee", "ann"]),
        ("code=-&status=all", ["eve"]),
        ("field=Title&status=all", ["dee", "ann"]),
        ("field=-", ["job", "bo"]),
        ("q=ann@acme.com", ["ann"]),
        ("q=+ANN@Acme.com+", ["ann"]),  # trimmed, emails compared lower-case
        ("q=h-bo", ["bo"]),
        ("q=001-cy", ["cy"]),
        ("q=ann", []),  # exact ids and emails, no substring scan over a million rows
        ("from=2026-03-03&status=all", ["eve", "dee", "cy", "job"]),
        ("to=2026-03-02&status=all", ["bo", "ann"]),  # "to" includes its whole day
        ("from=2026-03-02&to=2026-03-04&status=all", ["cy", "job", "bo"]),
        ("from=2026-03-06&status=all", ["eve"]),
    ],
)
def test_each_filter_narrows_the_list(
    client: FlaskClient, made: dict[str, SyncError], query: str, expected: list[str]
) -> None:
    html = get(client, f"/errors?{query}")
    assert error_ids(html) == [made[name].id for name in expected]


def test_the_form_keeps_the_filter_and_links_keep_it_too(
    client: FlaskClient, made: dict[str, SyncError]
) -> None:
    query = (
        "mapping=crm-lead&direction=to_remote&level=record&kind=validation&code=STRING_TOO_LONG"
        "&field=Title&status=all&from=2026-03-01&to=2026-03-09&q=ann%40acme.com"
    )
    html = get(client, f"/errors?{query}")
    assert error_ids(html) == [made["ann"].id]
    for selected in ('value="crm-lead" selected', 'value="to_remote" selected',
                     'value="record" selected', 'value="validation" selected',
                     'value="all" selected'):
        assert selected in html, selected
    for typed in ('name="code" value="STRING_TOO_LONG"', 'name="field" value="Title"',
                  'name="from" value="2026-03-01"', 'name="to" value="2026-03-09"',
                  'name="q" value="ann@acme.com"'):
        assert typed in html, typed
    kept = query.replace("&", "&amp;").replace("%40", "@")
    assert f'id="group-by-cause" href="/errors/groups?{kept}"' in html
    assert f'id="export-csv" href="/errors/export.csv?{kept}"' in html


def test_columns_and_a_checkbox_per_row(client: FlaskClient, add_error: AddError) -> None:
    error = add_error(
        direction="to_hub", email="ada@example.com", hub_object="person", hub_id="a" * 32,
        remote_object="Lead", remote_id="00Q000000000001", kind="duplicate",
        code="DUPLICATES_DETECTED", message="x" * 500, attempts=4, status="retrying",
    )
    html = unwrapped(get(client, "/errors"))
    for text in ("to_hub", "ada@example.com", "a" * 32, "Lead 00Q000000000001", "duplicate",
                 "DUPLICATES_DETECTED", '<td class="num">4</td>', "badge-retrying",
                 "2026-03-01 09:00:00 UTC"):
        assert text in html, text
    assert "x" * 500 not in html and "x" * 100 in html
    assert f'<input type="checkbox" name="ids" value="{error.id}"' in html
    assert 'id="select-all"' in html
    assert '<script src="/dashboard-static/errors.js" defer></script>' in html
    js = client.get("/dashboard-static/errors.js")
    assert js.status_code == 200 and b"select-all" in js.data
    js.close()


def test_paging_keeps_the_filter(client: FlaskClient, add_error: AddError) -> None:
    errors = [add_error("crm-lead", code="REQUIRED_FIELD_MISSING") for _ in range(60)]
    add_error("crm-other")
    newest_first = [e.id for e in reversed(errors)]
    page1 = get(client, "/errors?mapping=crm-lead&code=REQUIRED_FIELD_MISSING")
    assert error_ids(page1) == newest_first[:50]
    assert "/errors?mapping=crm-lead&amp;code=REQUIRED_FIELD_MISSING&amp;page=2" in page1
    page2 = get(client, "/errors?mapping=crm-lead&code=REQUIRED_FIELD_MISSING&page=2")
    assert error_ids(page2) == newest_first[50:]
    assert error_ids(get(client, "/errors?page=500")) == []


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("direction=sideways", "direction: &#39;sideways&#39; is not one of to_hub, to_remote"),
        ("level=row", "level: &#39;row&#39; is not one of record, job"),
        ("kind=oops", "kind: &#39;oops&#39; is not one of auth"),
        ("status=closed", "status: &#39;closed&#39; is not one of all, open"),
        ("from=2026-13-01", "from: &#39;2026-13-01&#39; is not a date (YYYY-MM-DD)"),
        ("to=yesterday", "to: &#39;yesterday&#39; is not a date"),
        ("from=2026-03-05&to=2026-03-01", "from: 2026-03-05 is after to: 2026-03-01"),
        ("code=" + "X" * 300, "code: longer than 255 characters"),
    ],
)
@pytest.mark.parametrize("path", ["/errors", "/errors/groups", "/errors/export.csv"])
def test_a_bad_filter_is_refused_saying_what_is_wrong(
    client: FlaskClient, add_error: AddError, path: str, query: str, problem: str
) -> None:
    add_error()
    html = get(client, f"{path}?{query}", status=400)
    assert problem in html
    assert error_ids(html) == []


def test_retention_is_shown_from_the_config(client: FlaskClient, app: Flask) -> None:
    assert "Resolved and ignored errors are kept 90 days" in get(client, "/errors")
    app.config["RETENTION_DAYS"] = 30
    assert "Resolved and ignored errors are kept 30 days" in get(client, "/errors/groups")
    app.config["RETENTION_DAYS"] = "soon"
    html = get(client, "/errors")
    assert "RETENTION_DAYS: must be a whole number of days, at least 1, not &#39;soon&#39;" in html


# -- grouped by cause ---------------------------------------------------------------------------


def cause_rows(html: str) -> list[tuple[str, int]]:
    """(data-cause, count) of each group row, in page order."""
    return [
        (key, int(count))
        for key, count in re.findall(r'data-cause="([^"]+)" data-count="(\d+)"', html)
    ]


def test_groups_count_each_cause_newest_first(client: FlaskClient, add_error: AddError) -> None:
    picklist = dict(
        code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", field="LeadSource",
        hint="add a value_map entry for 'Podcast' on LeadSource",
    )
    for minutes in (1, 2, 9):
        add_error("crm-lead", minutes=minutes, message=f"bad value {ATTACK}", **picklist)
    add_error("crm-lead", minutes=5, code="STRING_TOO_LONG", field="Title")
    add_error("crm-lead", minutes=6, code="STRING_TOO_LONG", field="Title", status="retrying")
    add_error("crm-lead", minutes=7, code="STRING_TOO_LONG", field="Title", status="resolved")
    add_error("crm-lead", minutes=3, direction="cycle", level="job", kind="auth")
    add_error("crm-account", minutes=4, **picklist)

    html = get(client, "/errors/groups")

    assert cause_rows(html) == [
        ("crm-lead/to_remote/record/validation/INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST/"
         "LeadSource", 3),
        ("crm-lead/to_remote/record/validation/STRING_TOO_LONG/Title", 2),
        ("crm-account/to_remote/record/validation/INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST/"
         "LeadSource", 1),
        ("crm-lead/cycle/job/auth/-/-", 1),
    ]
    assert "7 errors in 4 causes" in html
    assert "bad value &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "add a value_map entry for &#39;Podcast&#39; on LeadSource" in html
    assert "2026-03-01 09:09:00 UTC" in html  # newest last seen of the first cause
    assert "Clears when the next cycle of crm-lead completes." in html
    all_statuses = cause_rows(get(client, "/errors/groups?status=all"))
    assert ("crm-lead/to_remote/record/validation/STRING_TOO_LONG/Title", 3) in all_statuses


def test_a_group_links_to_its_errors(client: FlaskClient, add_error: AddError) -> None:
    mine = [add_error("crm-lead", code="STRING_TOO_LONG", field="Title") for _ in range(2)]
    add_error("crm-lead", code="STRING_TOO_LONG", field="Name")
    add_error("crm-lead", code="STRING_TOO_LONG")
    html = get(client, "/errors/groups?mapping=crm-lead")
    key = "crm-lead/to_remote/record/validation/STRING_TOO_LONG/Title"
    row = html[html.index(f'data-cause="{key}"'):]
    link = re.search(r'href="(/errors\?[^"]+)">Show errors', row)
    assert link
    listed = get(client, link.group(1).replace("&amp;", "&"))
    assert sorted(error_ids(listed)) == sorted(e.id for e in mine)
    no_field = re.findall(r'href="(/errors\?[^"]*field=-[^"]*)">Show errors', html)
    assert len(no_field) == 1
    assert len(error_ids(get(client, no_field[0].replace("&amp;", "&")))) == 1


def test_groups_are_capped(
    client: FlaskClient, add_error: AddError, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dashboard.errors.views

    monkeypatch.setattr(dashboard.errors.views, "GROUPS_SHOWN", 2)
    for code in ("A", "B", "C"):
        add_error(code=code)
    html = get(client, "/errors/groups")
    assert len(cause_rows(html)) == 2
    assert "Only the 2 most recent causes are shown" in html


# -- one error in full --------------------------------------------------------------------------


def test_detail_shows_message_hint_payload_and_attempts(
    client: FlaskClient, add_run: AddRun, add_error: AddError
) -> None:
    run = add_run()
    error = add_error(
        message="Required fields are missing: [LastName]",
        hint="Map a hub field to LastName or give it a default.",
        payload={"Email": "ada@example.com", "LastName": None},
        history=[
            {"at": "2026-03-01T09:00:00+00:00", "run_id": run.id, "message": "first try"},
            {"at": "2026-03-01T09:05:00+00:00", "run_id": None, "message": "second try",
             "status": 400},
        ],
        attempts=25, next_retry_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC), run_id=run.id,
    )
    html = get(client, f"/errors/{error.id}")
    assert "Required fields are missing: [LastName]" in html
    assert "Map a hub field to LastName or give it a default." in html
    assert "&#34;Email&#34;: &#34;ada@example.com&#34;" in html
    assert "&#34;LastName&#34;: null" in html
    attempts = html[html.index("<h2>Attempts</h2>"):]
    assert attempts.index("second try") < attempts.index("first try"), "newest first"
    assert '<td class="num">25</td>' in attempts and '<td class="num">24</td>' in attempts
    assert "2026-03-01 09:05:00 UTC" in attempts
    assert f'href="/runs/{run.id}"' in attempts
    assert "<dt>status</dt><dd>400</dd>" in attempts
    assert "Only the 2 most recent of 25 attempts are kept." in attempts
    assert "2026-03-01 10:00:00 UTC" in html  # next retry


def test_detail_escapes_remote_text(client: FlaskClient, add_error: AddError) -> None:
    error = add_error(
        message=f"FIELD_CUSTOM_VALIDATION_EXCEPTION: {ATTACK}", hint=ATTACK,
        payload={"FirstName": ATTACK}, history=[{"message": ATTACK, ATTACK: ATTACK}],
        email=f"{ATTACK}@example.com", code=ATTACK, field=ATTACK,
    )
    html = get(client, f"/errors/{error.id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    for url in ("/errors", "/errors/groups", f"/errors?code={ATTACK}"):
        html = get(client, url)
        assert "<script>alert" not in html, url


def use_files(app: Flask, folder: Path, mappings: list[dict[str, Any]],
              connections: dict[str, Any]) -> None:
    """Point the app at a mapping folder and connections file of this test's own."""
    directory = folder / "mappings"
    directory.mkdir(parents=True)
    (directory / "hub.yaml").write_text(REPO_HUB_YAML.read_text())
    for mapping in mappings:
        (directory / f"{mapping['name']}.yaml").write_text(yaml.safe_dump(mapping))
    (folder / "connections.yaml").write_text(yaml.safe_dump(connections))
    app.config["MAPPINGS_DIR"] = str(directory)
    app.config["CONNECTIONS"] = str(folder / "connections.yaml")


LEAD_FIELDS = [
    {"hub": "email", "remote": "emailaddress1"},
    {"hub": "first_name", "remote": "firstname"},
    {"hub": "lead_source", "remote": "leadsourcecode"},
    {"hub": "score", "remote": "new_score", "rule": "to_remote"},
]
CONNECTIONS = {
    "d365": {
        "type": "dynamics",
        "url": "https://acme.crm.dynamics.com",
        "token_url": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
        "client_id": "client-id",
        "client_secret": "dashboard-test-client-secret",
    },
    "sfdc": {
        "type": "salesforce",
        "login_url": "https://login.salesforce.com",
        "ui_url": "https://acme.lightning.force.com",
        "client_id": "client-id",
        "client_secret": "dashboard-test-client-secret",
        "username": "integration@acme.com",
        "password": "dashboard-test-password",
    },
    "files": {"type": "memory", "path": "crm.json"},
}


@pytest.fixture
def files(app: Flask, tmp_path: Path) -> None:
    use_files(
        app,
        tmp_path,
        [
            {"name": "d365-lead", "connection": "d365", "hub_object": "person",
             "remote_object": "lead", "fields": LEAD_FIELDS},
            {"name": "sf-lead", "connection": "sfdc", "hub_object": "person",
             "remote_object": "Lead", "fields": [{"hub": "email", "remote": "Email"}]},
            {"name": "file-lead", "connection": "files", "hub_object": "person",
             "remote_object": "Lead", "fields": [{"hub": "email", "remote": "Email"}]},
        ],
        CONNECTIONS,
    )


def add_person(engine: Engine, **values: Any) -> Person:
    person = Person(**values)
    with session(engine) as db:
        db.add(person)
    return person


def add_link(engine: Engine, **values: Any) -> None:
    with session(engine) as db:
        db.add(Link(synced_at=datetime(2026, 2, 27, 8, 30, tzinfo=UTC), **values))


def sides_table(html: str) -> dict[str, list[str]]:
    """The both-sides table: remote field → [hub field, hub value, remote value, sent]."""
    table = html[html.index('id="both-sides"'):]
    table = table[: table.index("</table>")]
    rows: dict[str, list[str]] = {}
    for remote, body in re.findall(r'data-remote-field="([^"]+)">(.*?)</tr>', table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                          body, re.S)]
        rows[remote] = [cells[0], cells[1], cells[3], cells[4]]
    return rows


def test_detail_shows_the_values_on_both_sides_and_links(
    client: FlaskClient, app: Flask, engine: Engine, add_error: AddError, files: None
) -> None:
    ann = add_person(engine, email="ann@acme.com", first_name="Ann", lead_source="Podcast",
                     score=42)
    add_link(engine, hub_object="person", hub_id=ann.id, connection="d365",
             remote_object="lead", remote_id="1b6c1a42-0000-0000-0000-00000000beef",
             mapping="d365-lead",
             snapshot={"emailaddress1": "ann@acme.com", "firstname": "Annie",
                       "leadsourcecode": 1})
    error = add_error(
        "d365-lead", hub_object="person", hub_id=ann.id, remote_object="lead",
        email="ann@acme.com", code="0x80040203", field="leadsourcecode",
        message=f"Invalid option set value {ATTACK}",
        payload={"emailaddress1": "ann@acme.com", "leadsourcecode": "Podcast", "new_score": 42},
    )

    html = get(client, f"/errors/{error.id}")

    assert sides_table(html) == {
        "emailaddress1": ["email", "ann@acme.com", "ann@acme.com", "ann@acme.com"],
        "firstname": ["first_name", "Ann", "Annie", "—"],
        "leadsourcecode": ["lead_source", "Podcast", "1", "Podcast"],
        "new_score": ["score (to_remote)", "42", "—", "42"],
    }
    assert '<tr class="failing" data-remote-field="leadsourcecode">' in html
    assert "Remote value at last sync (2026-02-27 08:30:00 UTC)" in html
    assert "Sent in the failed attempt" in html
    crm = ('href="https://acme.crm.dynamics.com/main.aspx?etn=lead&amp;'
           'id=1b6c1a42-0000-0000-0000-00000000beef&amp;pagetype=entityrecord"')
    assert f'id="crm-record-link" {crm}' in html
    if "dashboard.record" in app.view_functions:
        assert f'id="hub-record-link" href="/records/person/{ann.id}"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


def test_detail_sends_admins_to_the_failing_row_in_the_editor(
    client: FlaskClient, viewer_client: FlaskClient, engine: Engine, add_error: AddError,
    files: None,
) -> None:
    ann = add_person(engine, email="ann@acme.com", lead_source="Podcast")
    error = add_error(
        "d365-lead", hub_object="person", hub_id=ann.id, remote_object="lead",
        field="leadsourcecode", hint="add a value_map entry for 'Podcast'",
        payload={"leadsourcecode": "Podcast"},
    )
    html = get(client, f"/errors/{error.id}")
    assert ('id="fix-in-editor" href="/mappings/d365-lead/edit#row-lead_source">'
            "Fix the lead_source row in the mapping editor") in html
    assert 'id="fix-in-editor"' not in get(viewer_client, f"/errors/{error.id}")


def test_a_pull_error_finds_the_hub_record_through_its_link(
    client: FlaskClient, engine: Engine, add_error: AddError, files: None
) -> None:
    bo = add_person(engine, email="bo@beta.io", first_name="Bo")
    add_link(engine, hub_object="person", hub_id=bo.id, connection="sfdc",
             remote_object="Lead", remote_id="00Q000000000002AAA", mapping="sf-lead",
             snapshot={"Email": "bo@beta.io"})
    error = add_error("sf-lead", direction="to_hub", remote_object="Lead",
                      remote_id="00Q000000000002AAA", kind="duplicate",
                      payload={"Email": "BO@BETA.IO"})
    html = get(client, f"/errors/{error.id}")
    assert sides_table(html) == {"Email": ["email", "bo@beta.io", "bo@beta.io", "BO@BETA.IO"]}
    assert "Received in the failed attempt" in html
    assert ('id="crm-record-link" href="https://acme.lightning.force.com/lightning/r/Lead/'
            '00Q000000000002AAA/view"') in html


def test_detail_degrades_when_mapping_link_or_record_is_missing(
    client: FlaskClient, engine: Engine, add_error: AddError, files: None
) -> None:
    unlinked = add_person(engine, email="new@acme.com")
    never_synced = add_error("d365-lead", hub_object="person", hub_id=unlinked.id,
                             payload={"emailaddress1": "new@acme.com"})
    html = get(client, f"/errors/{never_synced.id}")
    assert "no link to the remote system yet" in html
    assert sides_table(html)["emailaddress1"] == ["email", "new@acme.com", "—", "new@acme.com"]
    assert "crm-record-link" not in html  # no remote id: nothing to link to

    gone = add_error("d365-lead", hub_object="person", hub_id="f" * 32, remote_id="r-1")
    html = get(client, f"/errors/{gone.id}")
    assert f"The hub has no person with id {'f' * 32} any more" in html
    assert sides_table(html)["emailaddress1"] == ["email", "—", "—", "—"]

    orphan = add_error("renamed-mapping", hub_object="person", hub_id=unlinked.id,
                       remote_id="r-2", payload={"Email": "new@acme.com"})
    add_link(engine, hub_object="person", hub_id=unlinked.id, connection="old",
             remote_object="Lead", remote_id="r-2", mapping="renamed-mapping",
             snapshot={"Email": "old@acme.com", "LastName": "Lee"})
    html = get(client, f"/errors/{orphan.id}")
    assert "The mapping &#39;renamed-mapping&#39; is not among the mapping files" in html
    assert sides_table(html) == {
        "Email": ["—", "—", "old@acme.com", "new@acme.com"],
        "LastName": ["—", "—", "Lee", "—"],
    }

    memory = add_error("file-lead", hub_object="person", hub_id=unlinked.id, remote_id="m-1")
    assert "crm-record-link" not in get(client, f"/errors/{memory.id}")  # no UI to link to

    job = add_error("d365-lead", direction="cycle", level="job", kind="auth")
    html = get(client, f"/errors/{job.id}")
    assert "Field values on both sides" not in html and "<h2>Message</h2>" in html


def test_salesforce_links_to_records_without_logging_in() -> None:
    base = {"type": "salesforce", "client_id": "c", "client_secret": "s", "username": "u",
            "password": "p"}
    configured = SalesforceConnector(
        "a", {**base, "login_url": "https://login.salesforce.com",
              "ui_url": "https://acme.lightning.force.com/"})
    assert configured.ui_url("Lead", "00Q1") == (
        "https://acme.lightning.force.com/lightning/r/Lead/00Q1/view")
    my_domain = SalesforceConnector("b", {**base, "login_url": "https://acme.my.salesforce.com"})
    assert my_domain.ui_url("Contact", "003/x") == (
        "https://acme.my.salesforce.com/lightning/r/Contact/003%2Fx/view")
    generic = SalesforceConnector("c", {**base, "login_url": "https://login.salesforce.com"})
    assert generic.ui_url("Lead", "00Q1") is None, "the org's address needs a login: no link"


# -- actions ------------------------------------------------------------------------------------


def test_retry_one_error_from_its_page(
    client: FlaskClient, engine: Engine, add_error: AddError
) -> None:
    error = add_error(status="open")
    other = add_error(status="open")
    html = get(client, f"/errors/{error.id}")
    assert 'id="error-actions"' in html
    assert '<button type="submit" name="action" value="retry">Retry</button>' in html
    assert 'value="reopen"' not in html  # an open error cannot be reopened

    response = post(client, "/errors/action",
                    {"action": "retry", "ids": str(error.id), "next": f"/errors/{error.id}"})

    assert response.status_code == 302 and response.location == f"/errors/{error.id}"
    assert statuses(engine) == {error.id: "retrying", other.id: "open"}
    [audit] = audits(engine)
    assert (audit.actor, audit.action, audit.detail["ids"]) == (
        "admin@example.com", "errors.retry", [error.id])
    page = get(client, f"/errors/{error.id}")
    assert "Retried 1 error: each goes again at the next cycle of its mapping." in page


def test_act_on_a_selection(client: FlaskClient, engine: Engine, add_error: AddError) -> None:
    a, b, c = (add_error(status="open") for _ in range(3))
    resolved = add_error(status="resolved")
    response = post(client, "/errors/action",
                    {"action": "ignore", "ids": [str(a.id), str(b.id), str(resolved.id)],
                     "next": "/errors?mapping=crm-person"}, follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/errors"
    assert response.request.args["mapping"] == "crm-person"
    assert "Ignored 2 errors: they are no longer retried or listed as open." in response.text
    assert statuses(engine) == {a.id: "ignored", b.id: "ignored", c.id: "open",
                                resolved.id: "resolved"}

    response = post(client, "/errors/action",
                    {"action": "reopen", "ids": [str(a.id), str(resolved.id)]},
                    follow_redirects=True)
    assert "Reopened 2 errors." in response.text
    assert statuses(engine)[a.id] == statuses(engine)[resolved.id] == "open"
    assert [(x.action, x.actor, x.detail["count"]) for x in audits(engine)] == [
        ("errors.ignore", "admin@example.com", 2),
        ("errors.reopen", "admin@example.com", 2),
    ]


def test_act_on_a_whole_group(client: FlaskClient, engine: Engine, add_error: AddError) -> None:
    group = [add_error("crm-lead", code="STRING_TOO_LONG", field="Title") for _ in range(3)]
    other_field = add_error("crm-lead", code="STRING_TOO_LONG", field="Name")
    no_field = add_error("crm-lead", code="STRING_TOO_LONG")
    other_mapping = add_error("crm-account", code="STRING_TOO_LONG", field="Title")
    job = add_error("crm-lead", direction="cycle", level="job", kind="auth")

    html = get(client, "/errors/groups")
    key = "crm-lead/to_remote/record/validation/STRING_TOO_LONG/Title"
    row = html[html.index(f'data-cause="{key}"'):]
    row = row[: row.index("</tr>")]
    form = re.search(r'<form method="post" action="/errors/action" class="group-actions">(.*?)'
                     r"</form>", row, re.S)
    assert form and ">Retry group</button>" in form.group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                             form.group(1)))
    assert fields["scope"] == "filter" and fields["next"] == "/errors/groups"
    job_row = html[html.index('data-cause="crm-lead/cycle/job/auth/-/-"'):]
    job_row = job_row[: job_row.index("</tr>")]
    assert "Retry group" not in job_row and "Ignore group" in job_row

    response = post(client, "/errors/action", {**fields, "action": "retry"})

    assert response.status_code == 302 and response.location == "/errors/groups"
    now = statuses(engine)
    assert [now[e.id] for e in group] == ["retrying"] * 3
    assert {now[e.id] for e in (other_field, no_field, other_mapping, job)} == {"open"}
    [audit] = audits(engine)
    assert audit.actor == "admin@example.com" and audit.detail["count"] == 3
    assert audit.detail["where"]["field"] == "Title"

    # The group without a field ("-") is a cause of its own, not "any field".
    post(client, "/errors/action", {"scope": "filter", "action": "ignore", "mapping": "crm-lead",
                                    "kind": "validation", "code": "STRING_TOO_LONG",
                                    "field": "-", "level": "record", "direction": "to_remote"})
    now = statuses(engine)
    assert now[no_field.id] == "ignored" and now[other_field.id] == "open"
    assert "Ignored 1 error:" in get(client, "/errors")


def test_an_action_that_changes_nothing_says_so(
    client: FlaskClient, engine: Engine, add_error: AddError
) -> None:
    job = add_error(direction="cycle", level="job", kind="auth")
    response = post(client, "/errors/action", {"action": "retry", "ids": str(job.id)},
                    follow_redirects=True)
    assert "Nothing to retry: only open, retrying or ignored record-level errors" in response.text
    assert audits(engine) == []
    response = post(client, "/errors/action", {"action": "retry"}, follow_redirects=True)
    assert "Select at least one error first: nothing was changed." in response.text


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"action": "delete", "ids": "1"}, "action: &#39;delete&#39; is not one of retry, ignore"),
        ({"action": "retry", "ids": "1 OR 1=1"}, "ids: expected up to 1000 error ids"),
        ({"action": "retry", "scope": "everything"}, "scope: &#39;everything&#39; is not one"),
        ({"action": "retry", "scope": "filter", "status": "all"},
         "a bulk action needs a mapping, kind, code, field or search"),
        ({"action": "retry", "scope": "filter", "kind": "nope"}, "kind: &#39;nope&#39; is not"),
    ],
)
def test_a_bad_action_request_is_400(
    client: FlaskClient, engine: Engine, add_error: AddError, form: dict[str, str], problem: str
) -> None:
    add_error()
    response = post(client, "/errors/action", form)
    assert response.status_code == 400
    assert problem in response.text
    assert statuses(engine) and set(statuses(engine).values()) == {"open"}
    assert audits(engine) == []


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x", ""]
)
def test_the_way_back_stays_on_the_dashboard(
    client: FlaskClient, add_error: AddError, target: str
) -> None:
    error = add_error()
    response = post(client, "/errors/action", {"action": "ignore", "ids": str(error.id),
                                               "next": target})
    assert response.status_code == 302 and response.location == "/errors"


def test_viewers_see_no_buttons_and_cannot_act(
    viewer_client: FlaskClient, engine: Engine, add_error: AddError
) -> None:
    error = add_error(code="STRING_TOO_LONG")
    for url in ("/errors", "/errors/groups", f"/errors/{error.id}"):
        html = get(viewer_client, url)
        assert "/errors/action" not in html, url
        assert 'name="ids"' not in html and "<button type=\"submit\" name=\"action\"" not in html
    assert "Export CSV" in get(viewer_client, "/errors")
    response = post(viewer_client, "/errors/action", {"action": "ignore", "ids": str(error.id)})
    assert response.status_code == 403
    assert statuses(engine) == {error.id: "open"}
    assert [row["id"] for row in export(viewer_client)] == [str(error.id)], "viewers may export"


def test_an_action_without_the_csrf_token_is_refused(
    client: FlaskClient, engine: Engine, add_error: AddError
) -> None:
    error = add_error()
    response = client.post("/errors/action", data={"action": "ignore", "ids": str(error.id)})
    assert response.status_code == 400
    assert statuses(engine) == {error.id: "open"}


# -- CSV export ---------------------------------------------------------------------------------


def test_export_has_every_row_of_the_filter(
    client: FlaskClient, made: dict[str, SyncError], add_error: AddError
) -> None:
    for _ in range(3):  # more than one chunk of the stream
        add_error("crm-lead", code="STRING_TOO_LONG", field="Title", email="bulk@acme.com")
    rows = export(client, "?mapping=crm-lead&code=STRING_TOO_LONG&status=all")
    listed = error_ids(get(client, "/errors?mapping=crm-lead&code=STRING_TOO_LONG&status=all"))
    assert [int(r["id"]) for r in rows] == listed
    assert {r["email"] for r in rows} == {"bulk@acme.com", "ann@acme.com", "dee@acme.com"}
    ann = next(r for r in rows if r["email"] == "ann@acme.com")
    assert (ann["mapping"], ann["code"], ann["field"], ann["status"]) == (
        "crm-lead", "STRING_TOO_LONG", "Title", "open")
    assert [r["id"] for r in export(client, "?q=00Q-bo")] == [str(made["bo"].id)]
    assert len(export(client, "?status=all")) == 9
    assert export(client, "?mapping=nothing") == []


def test_export_streams_in_chunks(
    client: FlaskClient, add_error: AddError, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dashboard.errors.actions

    monkeypatch.setattr(dashboard.errors.actions, "EXPORT_CHUNK", 2)
    made = [add_error() for _ in range(5)]
    response = client.get("/errors/export.csv")
    assert response.is_streamed
    first = next(iter(response.response))
    assert first.startswith(b"id,mapping,") and first.count(b"\n") == 3  # header + 2 rows
    response.close()  # a download cut short closes its cursor (a leak fails the test)
    assert [int(r["id"]) for r in export(client)] == [e.id for e in reversed(made)]


def test_export_neutralises_formulas(client: FlaskClient, add_error: AddError) -> None:
    formulas = ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0",
                "-2+3", "@SUM(A1:A2)"]
    for n, formula in enumerate(formulas):
        add_error(minutes=n, message=formula, hint=formula, code=formula[:20],
                  email=f"x{n}@acme.com")
    add_error(minutes=10, message="Title: plain text stays as it is")
    rows = export(client)
    assert rows[0]["message"] == "Title: plain text stays as it is"
    for row, formula in zip(rows[1:], reversed(formulas), strict=True):
        assert row["message"] == f"'{formula}"
        assert row["hint"] == f"'{formula}"
        assert row["code"] == f"'{formula[:20]}"


def test_act_on_everything_a_narrowed_list_shows(
    client: FlaskClient, engine: Engine, add_error: AddError
) -> None:
    mine = [add_error("crm-lead", email="ann@acme.com", code=f"C{n}") for n in range(3)]
    other = add_error("crm-lead", email="bo@beta.io")
    assert 'id="filter-actions"' not in get(client, "/errors"), "only once the list is narrowed"
    html = get(client, "/errors?q=ann%40acme.com")
    form = re.search(r'<form method="post" action="/errors/action" id="filter-actions"'
                     r"(.*?)</form>", html, re.S)
    assert form and ">Ignore all matching</button>" in form.group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                             form.group(1)))
    assert (fields["scope"], fields["q"]) == ("filter", "ann@acme.com")

    response = post(client, "/errors/action", {**fields, "action": "ignore"},
                    follow_redirects=True)

    assert "Ignored 3 errors:" in response.text
    assert statuses(engine) == {**{e.id: "ignored" for e in mine}, other.id: "open"}
