"""bench/attribution_recompute.py runs end to end on a tiny hub and reports what it promises."""

from __future__ import annotations

import json

import pytest

import core.clock
from bench import attribution_recompute


def test_a_tiny_run_reports_full_incremental_and_idle(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.clock, "clock", core.clock.clock)  # the bench freezes the clock
    assert attribution_recompute.main(["--scale", "0.002", "--models", "first_touch,w_shaped",
                                       "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["opportunities"], figures["touches"]) == (200, 2000)
    assert figures["full_credit_rows"] > 0 and figures["campaign_influence_rows"] > 0
    assert figures["touches_changed"] == 20
    assert 0 < figures["incremental_opportunities"] < 200
    assert figures["idle_opportunities"] == 0
