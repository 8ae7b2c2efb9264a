"""The Inbound page and a webhook request's error page, as an admin sees them."""

from __future__ import annotations

import html
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.accounts import add_user
from core.models import SyncError
from tests.dashboard.forms import log_in
from tests.dashboard.forms import post as post_form
from tests.inbound.forms import OTHER_SECRET, SECRET, SOURCE, people, post
from tests.processes import wait_until


def admin_client(app: Flask, engine: Engine) -> FlaskClient:
    user = add_user(engine, "admin@example.com", "admin-password-for-tests", "admin")
    return log_in(app.test_client(), user)


def open_error(engine: Engine) -> SyncError | None:
    with Session(engine) as session:
        return session.exec(select(SyncError).where(SyncError.status == "open")).first()


def test_the_inbound_page_counts_refusals_and_links_a_failed_request_to_its_error(
    app: Flask, engine: Engine, client: FlaskClient
) -> None:
    good = post(client, {"email": "ann@acme.com", "first_name": "Ann"}, event_id="a")
    post(client, {"email": "ann@acme.com", "first_name": "Ann"}, event_id="a")  # duplicate
    post(client, {"email": "x@acme.com"}, secret=OTHER_SECRET, event_id="x")  # bad signature
    bad = post(client, {"email": "bo@acme.com", "first_name": "B" * 81, "token": SECRET},
               event_id="b")
    wait_until(lambda: open_error(engine), 30, "the failed submission's error")
    wait_until(lambda: "ann@acme.com" in people(engine), 30, "the good submission")
    error = open_error(engine)
    assert error is not None and error.remote_id == str(bad.get_json()["id"])
    admin = admin_client(app, engine)

    page = admin.get("/inbound").get_data(as_text=True)

    start = page.index(f'id="source-{SOURCE}"')
    section = page[start:page.index("</section>", start)]
    counts = re.findall(r"<td class=\"num\">([\d,]+)</td>", section)
    assert counts[:4] == ["4", "2", "1", "1"]  # received, accepted, duplicates, bad signature
    assert f'data-inbox-id="{good.get_json()["id"]}"' in section
    assert "badge-processed" in section and "badge-failed" in section
    assert f'href="/errors/{error.id}"' in section
    assert ">Inbound</a>" in page  # in the navigation

    detail = html.unescape(admin.get(f"/errors/{error.id}").get_data(as_text=True))
    assert f"Webhook request {bad.get_json()['id']}" in detail
    assert '"first_name": "' + "B" * 81 in detail
    assert SECRET not in detail  # the redactor still applies to bodies
    assert 'id="replay-form"' in detail


def test_replay_from_the_error_page_runs_the_mapping_again(
    app: Flask, engine: Engine, client: FlaskClient
) -> None:
    bad = post(client, {"email": "bo@acme.com", "first_name": "B" * 81}, event_id="b")
    wait_until(lambda: open_error(engine), 30, "the failed submission's error")
    admin = admin_client(app, engine)
    inbox_id = bad.get_json()["id"]

    refused = admin.post(f"/inbound/{inbox_id}/replay")  # no CSRF token
    answer = post_form(admin, f"/inbound/{inbox_id}/replay", {"next": "/inbound"})

    assert refused.status_code == 400
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/inbound")
    # Still too long: the replay runs and the error is back, one attempt more.
    wait_until(lambda: (e := open_error(engine)) is not None and e.attempts == 2, 30,
               "the replay's second attempt")
    missing = post_form(admin, "/inbound/999999/replay", {"next": "/inbound"})
    assert missing.status_code == 302
    assert "no stored request has id 999999" in admin.get("/inbound").get_data(as_text=True)
