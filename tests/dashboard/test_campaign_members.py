"""Campaign members read as the person and the campaign, on every page that shows one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from core.db import session
from core.models import Campaign, CampaignMember, Person, SyncError, SyncRun
from tests.dashboard.conftest import unwrapped

AddError = Callable[..., SyncError]
AddRun = Callable[..., SyncRun]
GHOST = "f" * 32  # a member id the hub no longer has


@pytest.fixture
def members(engine: Engine) -> list[CampaignMember]:
    """Ann in a named webinar; Bob in a campaign that has no name yet."""
    with session(engine) as db:
        ann = Person(email="ann@example.com", first_name="Ann", last_name="Lee")
        bob = Person(email="bob@example.com")
        webinar = Campaign(name="Pipeline Math 101")
        unnamed = Campaign()
        db.add_all([ann, bob, webinar, unnamed])
        db.flush()
        rows = [CampaignMember(person_id=ann.id, campaign_id=webinar.id, status="Attended"),
                CampaignMember(person_id=bob.id, campaign_id=unnamed.id)]
        db.add_all(rows)
    return rows


def member_error(add_error: AddError, hub_id: str, **fields: object) -> SyncError:
    return add_error("crm-member", hub_object="campaign_member", hub_id=hub_id,
                     code="INVALID_CROSS_REFERENCE_KEY", **fields)


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.data[:300]
    return response.get_data(as_text=True)


def test_errors_list_detail_and_run_page_name_person_and_campaign(
    client: FlaskClient, members: list[CampaignMember], add_error: AddError, add_run: AddRun
) -> None:
    ann, bob = members
    run = add_run("crm-member")
    first = member_error(add_error, ann.id, run_id=run.id)
    member_error(add_error, bob.id, run_id=run.id)
    member_error(add_error, GHOST, run_id=run.id)

    for url in ("/errors", f"/runs/{run.id}", f"/errors/{first.id}"):
        html = unwrapped(page(client, url))  # the labels wrap at their <wbr> points
        assert "ann@example.com (Ann Lee)" in html, url
        assert "in Pipeline Math 101" in html, url
    listed = unwrapped(page(client, "/errors"))
    assert "bob@example.com" in listed
    assert f"in campaign {bob.campaign_id}" in listed, "a campaign without a name: its id"
    assert f"hub campaign_member {GHOST}" in listed, "a member the hub lost: its id"


def test_the_member_record_page_and_lookup(
    client: FlaskClient, members: list[CampaignMember]
) -> None:
    ann, bob = members
    html = page(client, f"/records/campaign_member/{ann.id}")
    assert "<h1>ann@example.com (Ann Lee) in Pipeline Math 101" in html
    assert f'href="/records/person/{ann.person_id}">ann@example.com (Ann Lee)</a>' in html
    assert f'href="/records/campaign/{ann.campaign_id}">Pipeline Math 101</a>' in html
    assert "Attended" in html
    plain = page(client, f"/records/person/{ann.person_id}")
    assert 'id="membership"' not in plain


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_one_query_for_all_the_members_of_a_page(
    client: FlaskClient, engine: Engine, members: list[CampaignMember], add_error: AddError
) -> None:
    ann, bob = members
    member_error(add_error, ann.id)
    page(client, "/errors")  # warm: the workspace, the session, the login
    with counted(engine) as few:
        page(client, "/errors")
    for n in range(30):
        member_error(add_error, [ann.id, bob.id][n % 2], fingerprint=f"many-{n}")
    with counted(engine) as many:
        html = page(client, "/errors")
    assert html.count("in Pipeline Math 101") == 16
    assert len(many) == len(few), "no query per row"
    assert sum("campaign_member" in s and "JOIN" in s.upper() for s in many) == 1
