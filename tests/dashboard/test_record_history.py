"""The person page's History tab: the field history newest first, filtered by field, escaped."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from core.db import session
from core.models import FieldHistory, Person
from tests.dashboard.conftest import BASE


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response.get_data(as_text=True)


@pytest.fixture
def ann(engine: Engine) -> Person:
    person = Person(email="ann@example.com", first_name="Ann", last_name="Lee", company="Acme")
    rows = [
        ("company", "to_hub", "dynamics", "Acme", "Newco <script>x</script>", "dynamics-lead", 7,
         "dynamics-lead's rule prefer_remote_unless_blank: dynamics holds a value, so it stands"),
        ("company", "to_hub", "salesforce", "Newco <script>x</script>", "Acme", "salesforce-lead",
         8, "salesforce-lead's rule prefer_remote_unless_blank: salesforce holds a value"),
        ("company", "kept", "dynamics", "Acme", "Newco <script>x</script>", "dynamics-lead", 9,
         "dynamics-lead's rule prefer_remote_unless_blank: dynamics holds a value, so it "
         "stands; a push takes no value back from dynamics"),
        ("title", "to_remote", "hub", None, "CFO", "salesforce-lead", 10,
         "salesforce-lead's rule two_way: only the hub changed since the last sync"),
    ]
    with session(engine) as db:
        db.add(person)
        for minute, (field, direction, source, old, new, mapping, run, reason) in enumerate(rows):
            db.add(FieldHistory(
                at=BASE + timedelta(minutes=minute), hub_table="person", hub_id=person.id,
                field=field, remote_field=field.title(), old=old, new=new, source=source,
                direction=direction, mapping=mapping, run_id=run, reason=reason))
    return person


def test_history_tab_lists_changes_newest_first_with_why(client: FlaskClient, ann: Person) -> None:
    page = get(client, f"/records/person/{ann.id}")
    assert f'href="/records/person/{ann.id}/history">History</a>' in page

    html = get(client, f"/records/person/{ann.id}/history")

    assert 'aria-current="page">History</a>' in html
    runs = [int(r) for r in re.findall(r'href="/runs/(\d+)"', html)]
    assert runs == [10, 9, 8, 7], "newest first"
    assert "blank → &#39;CFO&#39;" in html and "from the hub to Title (salesforce-lead)" in html
    assert ("kept &#39;Acme&#39;; dynamics said &#39;Newco &lt;script&gt;x&lt;/script&gt;&#39;"
            in html)
    assert "<script>x" not in html, "remote values are escaped"
    assert "a push takes no value back from dynamics" in html
    assert "from salesforce Company (salesforce-lead)" in html


def test_history_tab_filters_by_field(client: FlaskClient, ann: Person) -> None:
    html = get(client, f"/records/person/{ann.id}/history?field=title")
    assert re.findall(r'href="/runs/(\d+)"', html) == ["10"]
    assert '<option value="title" selected>title</option>' in html

    everything = get(client, f"/records/person/{ann.id}/history?field=nonsense")
    assert len(re.findall(r'href="/runs/(\d+)"', everything)) == 4


def test_history_tab_of_a_record_without_changes(
    client: FlaskClient, viewer_client: FlaskClient, engine: Engine
) -> None:
    with session(engine) as db:
        bob = Person(email="bob@example.com")
        db.add(bob)
    html = get(viewer_client, f"/records/person/{bob.id}/history")
    assert "No change has been recorded for this record" in html
    get(client, "/records/person/" + "0" * 32 + "/history", 404)
