"""bench/engine.py runs end to end on small sizes and prints every figure it promises."""

from __future__ import annotations

import re
import sys
import types

import pytest

from bench import engine

#: The quick mode with its sizes cut further, so the smoke test takes seconds, not half a minute.
SMALL = ["--quick", "--records", "200", "--idle", "1000,5000", "--repeats", "3"]


def test_quick_run_prints_planning_cost_cycles_and_the_idle_ratio(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert engine.main([*SMALL, "--only", "planners,cycles,idle"]) == 0
    out = capsys.readouterr().out
    for kind in ("new", "linked, unchanged", "linked, changed"):
        # Each page took the path its name says: creates for new records, updates for linked.
        planned = "200 Create" if kind == "new" else "200 Update"
        assert re.search(rf"{kind} +[\d,]+ ms per 10,000 +[\d,]+ ms per 10,000 +"
                         rf"\({planned} / {planned}\)", out), out
    for phase in ("new in the CRM (pull)", "changed in the CRM (pull)",
                  "changed in the hub (push)", "new in the hub (push)"):
        assert re.search(rf"{re.escape(phase)} +[\d,]+ +[\d,]+ +\(2 cycles", out), out
    assert "hub +200 ~0" in out and "CRM +0 ~200" in out and "CRM +200 ~0" in out
    assert re.search(r"1,000 linked: median +[\d.]+ ms wall", out), out
    assert re.search(r"5,000 linked: median +[\d.]+ ms wall .*1 read, 1 API call", out), out
    for clock in ("wall", "CPU"):
        assert re.search(rf"5,000 vs 1,000 linked: [\d.]+x {clock} \(goal <= 1.5x: (met|MISSED)\)",
                         out), out


def test_the_journal_and_backfill_sections_call_their_benches_or_say_they_are_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    history = types.ModuleType("bench.history")
    history.main = lambda argv: calls.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.history", history)
    monkeypatch.setitem(sys.modules, "bench.backfill", None)  # as if not written yet
    code = engine.main(["--only", "history,backfill", "--history-args", "--changes 100"])
    out = capsys.readouterr().out
    assert code == 0
    assert calls == [["--changes", "100"]]
    assert "(d) backfill (bench.backfill):\n  skipped: bench.backfill is not in this checkout" \
        in out


def test_quick_mode_leaves_the_journal_and_backfill_to_their_own_benches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert engine.main(["--quick", "--only", "history,backfill"]) == 0
    assert "bench.history" not in capsys.readouterr().out


def test_an_unknown_section_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        engine.main(["--only", "planners,idel"])
    assert exit_.value.code == 2
    assert "unknown section(s) idel" in capsys.readouterr().err
