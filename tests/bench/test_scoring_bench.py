"""bench/scoring_all.py seeds a hub, scores it fully, incrementally and a day later."""

from __future__ import annotations

import json

import pytest

import core.clock
from bench import scoring_all


def test_the_bench_reports_each_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.clock, "clock", core.clock.clock)
    argv = ["--people", "400", "--touches", "2000", "--database", "sqlite", "--json"]
    assert scoring_all.main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["backend"], figures["a_full_people"]) == ("sqlite", 400)
    # 10,000 new touches on 400 people: nearly everyone is scored again.
    assert 350 < figures["b_incremental_people"] <= 400
    # A day later only the people whose decay came are rescanned, and each is due.
    assert 0 < figures["c_decay_people_rescanned"] < 400
    assert figures["c_decay_people_due"] == figures["c_decay_people_rescanned"]
    assert figures["d_people_due"] == figures["c_decay_people_due"]
    assert 0 < figures["d_score_changed_crm_writes"] <= figures["d_people_due"]
    assert figures["idle_people"] == 0
