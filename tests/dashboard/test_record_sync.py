"""A person's page says why they sync or not, per mapping; admins fix the hub record there.

Both halves of "why did this record not sync, and fix it where the hint says": the sync status
per mapping (and the mapping preview naming the same failing clause), then the edit form,
its audit entry, and the next cycle carrying the edit to the CRM.
"""

from __future__ import annotations

import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.models import Account, Audit, Person, SyncError
from tests.dashboard.conftest import BASE
from tests.dashboard.forms import post
from tests.jobs.harness import Harness, mapping

RULE = "email and not unsubscribed and (score >= 40 or lifecycle_stage in ['MQL', 'SQL'])"
REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture
def crm(app: Flask, engine: Engine, tmp_path: Path) -> Harness:
    """A lead mapping with the shipped sync rule on a memory CRM; the app reads its folder."""
    harness = Harness(engine, tmp_path, mapping(sync_rule=RULE))
    folder = tmp_path / "mappings"
    shutil.copy(REPO_MAPPINGS / "hub.yaml", folder / "hub.yaml")  # custom fields to edit
    app.config["MAPPINGS_DIR"] = str(folder)
    app.config["CONNECTIONS"] = str(tmp_path / "no-connections.yaml")
    return harness


def page(client: FlaskClient, person_id: str, status: int = 200) -> str:
    response = client.get(f"/records/person/{person_id}")
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def visible(html: str) -> str:
    """The text as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def status_row(html: str, name: str) -> str:
    start = html.index(f'<tr data-mapping="{name}">')
    return visible(html[start : html.index("</tr>", start)])


def edit(client: FlaskClient, person_id: str, fields: dict[str, str], **extra: Any) -> Any:
    data = {f"field-{name}": value for name, value in fields.items()}
    return post(client, f"/records/person/{person_id}/edit", {**data, **extra})


def snapshot(engine: Engine, person_id: str) -> tuple[Person, int]:
    with Session(engine, expire_on_commit=False) as db:
        person = db.get(Person, person_id)
        assert person is not None
        audits = len(db.exec(select(Audit)).all())
    return person, audits


# -- why it does or does not sync ---------------------------------------------------------------


def test_the_page_names_the_clause_that_keeps_a_person_in_the_hub(
    client: FlaskClient, crm: Harness
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", score=12,
                         lifecycle_stage="Lead")
    html = page(client, ann)
    assert "Sync status per mapping" in html
    # Near the top: before the links and the hub record's fields.
    assert html.index("Sync status per mapping") < html.index("<h2>Links")
    row = status_row(html, "crm-person")
    assert "does not go out" in row
    assert f"the sync_rule `{RULE}` is false, so it does not go out" in row
    assert "`score >= 40` was false: score is 12" in row
    assert "`lifecycle_stage in ['MQL', 'SQL']` was false: lifecycle_stage is 'Lead'" in row
    assert "does not come in" in row and "not linked to a Lead" in row


def test_the_page_shows_updates_flowing_and_a_change_waiting(
    client: FlaskClient, crm: Harness
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", score=90)
    crm.run()
    lead = crm.lead_by_email("ann@example.com")
    row = status_row(page(client, ann), "crm-person")
    assert f"goes out linked to Lead {lead['Id']}: its changes go out as updates" in row
    assert "nothing waiting" in row
    assert f"comes in linked to Lead {lead['Id']}: its changes come in" in row
    crm.edit_person(ann, title="CTO")
    row = status_row(page(client, ann), "crm-person")
    assert "waiting for the next cycle: its change" in row


def test_the_page_shows_open_errors_with_the_hint_and_the_retry(
    client: FlaskClient, crm: Harness
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", score=90)
    crm.crm.lock_row("Lead", "Email", "ann@example.com", times=5)
    crm.run()
    [error] = crm.errors("retrying")
    html = page(client, ann)
    row = status_row(html, "crm-person")
    assert "does not go out" in row
    assert "the last push failed: UNABLE_TO_LOCK_ROW" in row and "retried automatically" in row
    assert f'href="/errors/{error.id}"' in html
    assert "fix: another process was updating the record" in row


def test_the_page_shows_create_policy_and_disabled_mappings(
    client: FlaskClient, crm: Harness
) -> None:
    crm.set_mappings(
        mapping(name="crm-contact", remote_object="Contact", direction="to_remote",
                create={"remote": False, "hub": True}, rules={"score": "two_way"}),
        mapping(name="crm-lead", enabled=False,
                create={"remote": True, "hub": True, "unless_linked_to": ["Contact"]}),
    )
    ann = crm.add_person(email="ann@example.com", last_name="Ng")
    html = page(client, ann)
    contact = status_row(html, "crm-contact")
    assert "may go out" in contact and "create.remote is false, so none is created" in contact
    assert "never comes in" in contact and "direction is to_remote" in contact
    lead = status_row(html, "crm-lead")
    assert "disabled" in lead and "crm-lead is disabled (enabled: false)" in lead


def test_the_page_explains_even_when_no_mapping_syncs_the_object(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    account = Account(name="Acme")
    with Session(engine) as db:
        db.add(account)
        db.commit()
        account_id = account.id
    html = client.get(f"/records/account/{account_id}").get_data(as_text=True)
    assert "No mapping syncs account records" in html


def test_the_mapping_preview_names_the_failing_clause_the_same_way(
    client: FlaskClient, crm: Harness
) -> None:
    html = client.get("/mappings/crm-person", query_string={
        "direction": "push", "hub-email": "ann@example.com", "hub-score": "12",
        "hub-lifecycle_stage": "Lead", "hub-unsubscribed": "false",
    }).get_data(as_text=True)
    clauses = visible(html[html.index('id="push-clauses"'):html.index('id="push-rows"')])
    assert "`score >= 40` was false: score is 12" in clauses
    assert "`lifecycle_stage in ['MQL', 'SQL']` was false: lifecycle_stage is 'Lead'" in clauses
    ann = crm.add_person(email="ann@example.com", last_name="Ng", score=12,
                         lifecycle_stage="Lead")
    # The same sentences as on her page: one explainer behind both.
    assert "`score >= 40` was false: score is 12" in status_row(page(client, ann), "crm-person")


def test_the_pull_preview_names_the_failing_clause(client: FlaskClient, crm: Harness) -> None:
    crm.set_mappings(mapping(pull_rule="LeadSource != 'Partner Referral'"))
    html = client.get("/mappings/crm-person", query_string={
        "direction": "pull", "remote": '{"Email": "a@b.co", "LeadSource": "Partner Referral"}',
    }).get_data(as_text=True)
    clauses = visible(html[html.index('id="pull-clauses"'):html.index('id="pull-rows"')])
    assert ("`LeadSource != 'Partner Referral'` was false: LeadSource is 'Partner Referral'"
            in clauses)


# -- editing the hub record ---------------------------------------------------------------------


def test_an_admin_edit_is_saved_audited_and_pushed_at_the_next_cycle(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", title="CTO", score=12,
                         lifecycle_stage="Lead")
    crm.run()
    assert crm.leads() == []  # the rule keeps her out
    before, audits = snapshot(engine, ann)
    html = page(client, ann)
    assert 'action="/records/person/' + ann + '/edit"' in html
    assert 'name="field-title" value="CTO"' in html
    response = edit(client, ann, {"title": "VP", "score": "45"},
                    change_seq=str(before.change_seq))
    assert response.status_code == 302
    after, audits_after = snapshot(engine, ann)
    assert (after.title, after.score) == ("VP", 45)
    assert after.change_seq > before.change_seq
    assert audits_after == audits + 1
    with Session(engine) as db:
        [audit] = db.exec(select(Audit).where(Audit.action == "record.edit")).all()
    assert (audit.actor, audit.target) == ("admin@example.com", ann)
    assert audit.detail == {"title": ["CTO", "VP"], "score": [12, 45]}
    html = page(client, ann)
    assert "Saved score, title. The next cycle of each mapping sends the change." in html
    text = visible(html)
    assert re.search(r"admin@example\.com\s+Changed (title from 'CTO' to 'VP' and score from 12 "
                     r"to 45|score from 12 to 45 and title from 'CTO' to 'VP')\.", text)
    assert "waiting for the next cycle" in status_row(html, "crm-person")
    crm.run()
    lead = crm.lead_by_email("ann@example.com")
    assert (lead["Title"], lead["Score__c"]) == ("VP", 45)


def test_custom_fields_are_edited_through_the_hub_schema(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng")
    html = page(client, ann)
    assert '<select name="field-industry_segment"' in html
    assert edit(client, ann, {"industry_segment": "Enterprise",
                              "last_webinar_attended": "true"}).status_code == 302
    person, _ = snapshot(engine, ann)
    assert person.attributes == {"industry_segment": "Enterprise", "last_webinar_attended": True}


def test_invalid_values_are_refused_by_field_and_nothing_is_written(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", title="CTO")
    other = crm.add_person(email="bob@example.com")
    before, audits = snapshot(engine, ann)
    response = edit(client, ann, {
        "title": "VP",  # valid, but the edit as a whole is refused
        "score": "lots",
        "first_name": "x" * 81,
        "industry_segment": "Huge",
        "unsubscribed": "",
        "email": "BOB@example.com",
        "account_id": "f" * 32,
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = dict(re.findall(r'<span class="field-error" id="error-([a-z_]+)">([^<]*)</span>',
                             html))
    assert {name: unescape(text) for name, text in errors.items()} == {
        "score": "score: 'lots' is not a whole number",
        "first_name": "first_name: 81 characters, the hub allows 80",
        "industry_segment": "industry_segment: 'Huge' is not one of "
                            "['SMB', 'Mid-Market', 'Enterprise']",
        "unsubscribed": "unsubscribed: a value is required",
        "email": f"email: 'bob@example.com' is already the email of another person ({other})",
        "account_id": f"account_id: no account with id '{'f' * 32}'",
    }
    assert "Not saved: 6 fields refused; nothing was changed." in html
    assert 'name="field-score" value="lots"' in html  # what was typed stays to correct
    after, audits_after = snapshot(engine, ann)
    assert (after.title, after.change_seq, audits_after) == ("CTO", before.change_seq, audits)


def test_a_record_changed_meanwhile_is_not_overwritten(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", title="CTO")
    drawn, _ = snapshot(engine, ann)
    crm.edit_person(ann, title="Founder")  # a sync wrote after the form was drawn
    response = edit(client, ann, {"title": "VP"}, change_seq=str(drawn.change_seq))
    assert response.status_code == 409
    assert "Not saved: this record changed" in response.get_data(as_text=True)
    after, _ = snapshot(engine, ann)
    assert after.title == "Founder"


def test_an_unchanged_form_writes_nothing(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", title="CTO")
    before, audits = snapshot(engine, ann)
    assert edit(client, ann, {"title": "CTO", "last_name": "Ng"}).status_code == 302
    after, audits_after = snapshot(engine, ann)
    assert (after.change_seq, audits_after) == (before.change_seq, audits)
    assert "Nothing changed" in page(client, ann)


def test_viewers_see_no_form_and_cannot_post(
    viewer_client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", title="CTO")
    html = page(viewer_client, ann)
    assert "Sync status per mapping" in html
    assert "/edit" not in html and 'name="field-title"' not in html
    before, audits = snapshot(engine, ann)
    assert edit(viewer_client, ann, {"title": "VP"}).status_code == 403
    after, audits_after = snapshot(engine, ann)
    assert (after.title, after.change_seq, audits_after) == ("CTO", before.change_seq, audits)


def test_an_edit_without_the_csrf_token_is_refused(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng", title="CTO")
    response = client.post(f"/records/person/{ann}/edit", data={"field-title": "VP"})
    assert response.status_code == 400
    assert "Form refused" in response.get_data(as_text=True)
    after, _ = snapshot(engine, ann)
    assert after.title == "CTO"


def test_other_audit_entries_read_as_sentences_on_the_page(
    client: FlaskClient, crm: Harness, engine: Engine
) -> None:
    ann = crm.add_person(email="ann@example.com", last_name="Ng")
    with Session(engine) as db:
        db.add(Audit(at=BASE, actor="sync", action="link.converted", target=ann,
                     detail={"connection": "crm", "from": "Lead 00Q1", "to": "Contact 0031"}))
        db.add(SyncError(fingerprint="f", mapping="crm-person", direction="to_remote",
                         kind="validation", message="m", hub_id=ann, first_seen=BASE,
                         last_seen=BASE, status="resolved"))
        db.commit()
    text = visible(page(client, ann))
    assert ("sync moved the link from Lead 00Q1 to Contact 0031 in crm (converted) on "
            "2026-03-01 09:00:00 UTC") in text
