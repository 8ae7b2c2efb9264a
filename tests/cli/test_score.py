"""``syncline score run|explain`` with the shipped scoring file: what an admin reads."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from core.models import Person
from tests.cli.conftest import Invoke
from tests.cli.helpers import SHIPPED_MAPPINGS
from tests.touches.helpers import add
from touches.record import TouchInput, record_touch


def test_score_explain_lists_each_rule_its_points_and_decay(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    shutil.copy(SHIPPED_MAPPINGS / "scoring.yaml", project / "mappings" / "scoring.yaml")
    hub = ready
    ann = Person(email="ann@acme.example", title="Director of Marketing", country="GB")
    add(hub, ann)
    with Session(hub) as db:
        record_touch(db, TouchInput(person_id=ann.id, occurred_at=datetime.now(UTC) - timedelta(
            days=90), touch_type="form_fill", origin="import"))
        db.commit()
    ran = syncline("score", "run", "--json")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["people_changed"] == 1
    out = syncline("score", "explain", "ann@acme.example")
    assert out.exit_code == 0, out.output
    assert "fit_score = 30" in out.stdout
    assert "Decision maker (demographic)" in out.stdout
    assert "Target country (demographic)" in out.stdout
    # 90 days old, a 90-day half-life: 15 points are worth 7.5 now.
    assert "+15 → 7.5  Filled in a form (behavioral) at" in out.stdout
    assert "decay -7.5" in out.stdout
    data = json.loads(syncline("score", "explain", "ann@acme.example", "--json").stdout)
    assert data["scores"]["fit_score"] == 30 and data["stored"]["fit_score"] == 30
    missing = syncline("score", "explain", "nobody@example.com")
    assert missing.exit_code == 2

