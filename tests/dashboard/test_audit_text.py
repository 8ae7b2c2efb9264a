"""Audit entries read as sentences: every action the code records, and any other."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from core.db import session
from core.models import Audit, Person
from dashboard.audit_text import describe
from tests.dashboard.conftest import BASE

LEAD, CONTACT = "Lead 00Q000000000001", "Contact 003000000000001"
OTHER = "a" * 32


def entry(action: str, target: str | None = None, **detail: Any) -> Audit:
    return Audit(at=BASE, actor="someone", action=action, target=target, detail=detail)


@pytest.mark.parametrize(
    ("audit", "sentence"),
    [
        (entry("record.edit", OTHER, title=["CTO", "VP"]), "Changed title from 'CTO' to 'VP'."),
        (entry("record.edit", OTHER, title=[None, "VP"], score=[12, 45],
               unsubscribed=[False, True]),
         "Changed title from blank to 'VP', score from 12 to 45 and unsubscribed from false "
         "to true."),
        (entry("errors.retry", "salesforce-lead", ids=[4, 5, 6], count=3,
               where={"mapping": "salesforce-lead",
                      "code": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                      "status": ["open", "retrying"]}),
         "Queued 3 errors for retry at the next cycle (mapping salesforce-lead, code "
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST)."),
        (entry("errors.ignore", "errors", ids=[7], count=1, where={"status": ["open"]}),
         "Ignored 1 error (#7)."),
        (entry("errors.reopen", "errors", ids=list(range(1, 9)), count=8,
               where={"status": ["ignored"]}),
         "Reopened 8 errors (#1, #2, #3, #4, #5, ...)."),
        (entry("errors.retry", "errors", ids=[1, 2], count=2,
               where={"search": "ann@example.com", "since": "2026-03-01T00:00:00+00:00"}),
         "Queued 2 errors for retry at the next cycle (matching ann@example.com, last seen "
         "from 2026-03-01T00:00:00+00:00)."),
        (entry("link.converted", "h1", connection="salesforce", **{"from": LEAD, "to": CONTACT},
               hub_id="h1"),
         f"{LEAD} in salesforce was converted to {CONTACT}: the link moved with it."),
        (entry("link.merged", "h1", connection="salesforce",
               **{"from": CONTACT, "to": "Contact 003000000000002"}),
         f"{CONTACT} in salesforce was merged into Contact 003000000000002: the link moved "
         "with it."),
        (entry("link.converted.dropped", "h1", connection="salesforce",
               **{"from": LEAD, "to": CONTACT}, successor_hub_id=OTHER),
         f"{LEAD} in salesforce was converted to {CONTACT}, which is linked to hub record "
         f"{OTHER}: the link to {LEAD} was dropped and both hub records were kept."),
        (entry("link.merged.dropped", "h1", connection="crm", **{"from": LEAD, "to": CONTACT}),
         f"{LEAD} in crm was merged into {CONTACT}, which this record was already linked to: "
         f"the link to {LEAD} was dropped."),
        (entry("mapping.edit", "salesforce-lead", file="salesforce-lead.yaml", revision=12,
               lines_added=3, lines_removed=1),
         "Edited salesforce-lead.yaml as revision 12: 3 lines added, 1 removed."),
        (entry("mapping.restore", "salesforce-lead", file="salesforce-lead.yaml", revision=14,
               lines_added=1, lines_removed=3, restored=9),
         "Restored revision 9 of salesforce-lead.yaml as revision 14: 1 line added, 3 removed."),
        (entry("demo.seeded", seed=7), "Seeded the demo data (seed 7)."),
        (entry("record.frozen", "h1", field="email", reason={"by": "legal"}),
         "Record frozen on h1 (field: email; reason: by legal)."),
    ],
    ids=lambda value: value.action if isinstance(value, Audit) else "",
)
def test_every_action_reads_as_a_sentence(audit: Audit, sentence: str) -> None:
    assert describe(audit) == sentence


def test_the_record_page_shows_sentences_not_json(client: FlaskClient, engine: Engine) -> None:
    with session(engine) as db:
        person = Person(email="ada@example.com", first_name="Ada")
        db.add(person)
        db.flush()
        db.add(entry("link.converted", person.id, connection="salesforce",
                     **{"from": LEAD, "to": CONTACT}, hub_id=person.id))
    html = client.get(f"/records/person/{person.id}").get_data(as_text=True)
    assert f"{LEAD} in salesforce was converted to {CONTACT}: the link moved with it." in html
    assert "&#34;from&#34;" not in html and '"from"' not in html, "no raw JSON"
    assert "<th>What happened</th>" in html
