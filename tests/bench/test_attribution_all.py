"""bench/attribution_all.py runs the recompute bench, then the write-back bench, and prints both."""

from __future__ import annotations

import json

import pytest

import core.clock
from bench import attribution_all as attribution


def test_the_entry_point_reports_both_benches(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.clock, "clock", core.clock.clock)
    assert attribution.main(["--scale", "0.002", "--models", "first_touch,w_shaped",
                             "--change", "0.05", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    recompute, writeback = figures["recompute"], figures["writeback"]
    assert (recompute["opportunities"], recompute["touches"]) == (200, 2000)
    assert 0 < recompute["incremental_opportunities"] < 200
    assert recompute["ratio_incremental_to_full"] > 0
    # The write-back bench ran after it, on the real clock (its rows are dated now).
    assert writeback["opportunities"] == 1 and writeback["campaign_influence_rows"] > 0
    assert [c["name"] for c in writeback["cycles"]] == ["first", "after change", "idle"]
    assert writeback["cycles"][0]["created"] == writeback["campaign_influence_rows"]


def test_the_printed_report_has_both_sections(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.clock, "clock", core.clock.clock)
    assert attribution.main(["--scale", "0.002", "--models", "first_touch"]) == 0
    out = capsys.readouterr().out
    assert "== recompute" in out and "ratio_incremental_to_full" in out
    assert "== write-back" in out and "after change" in out
