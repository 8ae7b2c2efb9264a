"""``syncline score run|explain`` with the shipped scoring file: what an admin reads."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from core.hubschema import HubSchema
from core.models import Person
from lifecycle.loader import load_lifecycle
from lifecycle.run import run_lifecycle
from scoring.loader import load_scoring
from scoring.run import run_scoring
from tests.cli.conftest import Invoke
from tests.cli.helpers import SHIPPED_MAPPINGS
from tests.touches.helpers import add
from touches.record import TouchInput, record_touch


def test_score_explain_lists_each_rule_its_points_and_decay(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    shutil.copy(SHIPPED_MAPPINGS / "scoring.yaml", project / "mappings" / "scoring.yaml")
    shutil.copy(SHIPPED_MAPPINGS / "lifecycle.yaml", project / "mappings" / "lifecycle.yaml")
    hub = ready
    ann = Person(email="ann@acme.example", title="Director of Marketing", country="GB")
    add(hub, ann)
    with Session(hub) as db:
        record_touch(db, TouchInput(person_id=ann.id, occurred_at=datetime.now(UTC) - timedelta(
            days=90), touch_type="form_fill", origin="import"))
        db.commit()
    ran = syncline("score", "run", "--json")
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    assert report["people_changed"] == 1
    # The stages move after the scores, as in the hub steps: Ann is Known now.
    assert report["lifecycle"]["moved"] >= 1
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



def test_score_explain_shows_stage_history_and_aql_parts(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    folder = project / "mappings"
    for name in ("scoring.yaml", "lifecycle.yaml"):
        shutil.copy(SHIPPED_MAPPINGS / name, folder / name)
    schema = HubSchema.load(folder / "hub.yaml")
    # A director in a target country at an enterprise, who came to a webinar and filled in a
    # form: fit 45 + engagement 45 makes an MQL; no company and no account keep AQL back.
    bea = Person(email="bea@bigco.example", first_name="Bea", last_name="Stone",
                 title="Director of Sales", country="US",
                 attributes={"industry_segment": "Enterprise"})
    add(ready, bea)
    now = datetime.now(UTC)
    with Session(ready) as db:
        for days, kind in ((3, "webinar_attended"), (2, "form_fill")):
            record_touch(db, TouchInput(person_id=bea.id, occurred_at=now - timedelta(days=days),
                                        touch_type=kind, origin="import"))
        db.commit()
    run_scoring(ready, load_scoring(folder / "scoring.yaml", hub_schema=schema), schema, now=now)
    lifecycle = load_lifecycle(folder / "lifecycle.yaml")
    assert lifecycle is not None
    run_lifecycle(ready, lifecycle, schema, now=now)

    out = syncline("score", "explain", "bea@bigco.example")
    assert out.exit_code == 0, out.output
    lines = [line.strip() for line in out.stdout.splitlines()]
    assert "score = 89  [fit_score + behavior_score]" in lines
    assert "stage MQL" in lines
    moves = [line for line in lines if "→ Known" in line or "→ Engaged" in line
             or "→ MQL" in line]
    assert moves[0].startswith("(none) → Known ")
    assert moves[1].startswith("Known → Engaged ")
    assert "transitions[1]: behavior_score >= 15 holds" in moves[1]
    assert moves[2].startswith("Engaged → MQL ")
    assert "transitions[2]: aql or (score >= 60 and fit_score >= 20) holds" in moves[2]
    assert "aql no" in lines
    assert "pass  titles: title 'Director of Sales' matches Director" in lines
    assert "FAIL  complete: blank: company" in lines
    assert "pass  behavior_score: behavior_score 44 >= 30" in lines
    assert "FAIL  account_score: account_score has no value (needs at least 40)" in lines

    data = json.loads(syncline("score", "explain", "bea@bigco.example", "--json").stdout)
    assert data["formulas"] == {"score": "fit_score + behavior_score"}
    assert data["stage"] == "MQL"
    assert set(data["stage_entered_at"]) == {"Known", "Engaged", "MQL"}
    assert [(m["from"], m["to"], m["rule"]) for m in data["history"]] == [
        (None, "Known", "transitions[0]"), ("Known", "Engaged", "transitions[1]"),
        ("Engaged", "MQL", "transitions[2]")]
    assert {p["name"]: p["passed"] for p in data["aql_parts"]} == {
        "titles": True, "complete": False, "behavior_score": True, "account_score": False}
    assert data["aql"] is False and data["aql_at"] is None


def test_score_explain_still_explains_scores_when_the_lifecycle_file_is_broken(
    syncline: Invoke, project: Path, ready: Engine
) -> None:
    shutil.copy(SHIPPED_MAPPINGS / "scoring.yaml", project / "mappings" / "scoring.yaml")
    (project / "mappings" / "lifecycle.yaml").write_text("stages: [A, A]\n", encoding="utf-8")
    add(ready, Person(email="cy@acme.example", title="VP Sales", country="FR"))
    out = syncline("score", "explain", "cy@acme.example")
    assert out.exit_code == 0, out.output
    assert "fit_score = 30" in out.stdout and "stage (none)" in out.stdout
    assert "stage history: no stage change recorded" in out.stdout
    assert "aql no" in out.stdout and "pass  titles" not in out.stdout
    assert "note: mappings/lifecycle.yaml:1" in out.stderr
