"""Scoring test helpers: rules from YAML text, touches in a line."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.hubschema import HubSchema
from core.yamlsource import load_yaml
from scoring.engine import TouchFacts
from scoring.loader import parse_scoring
from scoring.spec import Scoring

ROOT = Path(__file__).resolve().parents[2]
HUB = HubSchema.load(ROOT / "mappings" / "hub.yaml")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

SCORES = """
scores:
  fit_score: {}
  behavior_score: {}
  score_product_a: {}
  score: {formula: "fit_score + behavior_score"}
"""


def rules(text: str, *, scores: bool = True) -> Scoring:
    """Load a scoring file from text (with the usual scores unless ``scores=False``)."""
    body = (SCORES if scores else "") + textwrap.dedent(text)
    data, lines = load_yaml(body, "scoring.yaml")
    return parse_scoring(data, lines, "scoring.yaml", HUB)


def touch(ident: str, days_ago: float, kind: str = "webinar_attended", **fields: Any) -> TouchFacts:
    """A touch ``days_ago`` days before NOW."""
    return TouchFacts(id=ident, occurred_at=NOW - timedelta(days=days_ago), touch_type=kind,
                      **fields)
