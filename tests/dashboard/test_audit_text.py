"""Audit entries as sentences: one describe() for every action the dashboard lists."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Audit
from dashboard.audit_text import describe
from tests.dashboard.conftest import BASE

WHEN = "on 2026-03-01 09:00:00 UTC"


def entry(action: str, detail: dict[str, Any], actor: str = "ann@example.com",
          target: str | None = "a" * 32) -> Audit:
    return Audit(at=BASE, actor=actor, action=action, target=target, detail=detail)


@pytest.mark.parametrize(
    ("audit", "sentence"),
    [
        (entry("record.edit", {"title": ["CTO", "VP"]}),
         f"ann@example.com changed title from 'CTO' to 'VP' {WHEN}"),
        (entry("record.edit", {"title": [None, "VP"], "score": [12, 45],
                               "unsubscribed": [False, True]}),
         "ann@example.com changed title from blank to 'VP', score from 12 to 45 and "
         f"unsubscribed from false to true {WHEN}"),
        (entry("errors.retry", {"ids": [1, 2, 3], "count": 3, "where": "code=X"},
               target="crm-lead"),
         f"ann@example.com retried 3 errors of crm-lead (code=X) {WHEN}"),
        (entry("errors.ignore", {"ids": [4], "count": 1}, target="errors"),
         f"ann@example.com ignored 1 error {WHEN}"),
        (entry("errors.reopen", {"ids": [4, 5], "count": 2}, target="errors"),
         f"ann@example.com reopened 2 errors {WHEN}"),
        (entry("link.converted", {"connection": "crm", "from": "Lead 00Q1",
                                  "to": "Contact 0031"}, actor="sync"),
         f"sync moved the link from Lead 00Q1 to Contact 0031 in crm (converted) {WHEN}"),
        (entry("link.merged", {"connection": "crm", "from": "Lead 00Q1", "to": "Lead 00Q2"},
               actor="sync"),
         f"sync moved the link from Lead 00Q1 to Lead 00Q2 in crm (merged) {WHEN}"),
        (entry("link.merged.dropped", {"connection": "crm", "from": "Lead 00Q1",
                                       "to": "Lead 00Q2", "successor_hub_id": "b" * 32},
               actor="sync"),
         "sync dropped the link to Lead 00Q1 in crm: it was merged into Lead 00Q2, which "
         f"belongs to hub record {'b' * 32} {WHEN}"),
        (entry("link.converted.dropped", {"connection": "crm", "from": "Lead 00Q1",
                                          "to": "Contact 0031"}, actor="sync"),
         "sync dropped the link to Lead 00Q1 in crm: it was converted into Contact 0031, which "
         f"belongs to this record already {WHEN}"),
        (entry("mapping.edit", {"file": "mappings/crm-lead.yaml", "revision": 3,
                                "lines_added": 2, "lines_removed": 1}, target="crm-lead"),
         f"ann@example.com edited mapping crm-lead (mappings/crm-lead.yaml: +2 −1 lines) {WHEN}"),
        (entry("mapping.restore", {"file": "mappings/crm-lead.yaml", "restored": 2},
               target="crm-lead"),
         "ann@example.com restored mapping crm-lead (mappings/crm-lead.yaml) to revision 2 "
         f"{WHEN}"),
        (entry("demo.seeded", {"seed": 7}, actor="demo", target=None),
         f"demo seeded the demo data (seed 7) {WHEN}"),
        (entry("something.new", {"x": 1}, target="crm-lead"),
         f"ann@example.com did something.new on crm-lead {WHEN}"),
    ],
)
def test_every_action_reads_as_a_sentence(audit: Audit, sentence: str) -> None:
    assert describe(audit) == sentence
