"""bench/zoom_pull.py runs end to end on small sizes and prints every figure it promises."""

from __future__ import annotations

import re

import pytest

from bench import zoom_pull


def test_small_run_prints_calls_throughput_rss_and_the_idle_cycle(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert zoom_pull.main(["--small", "--latency-ms", "0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"registrants read +1,000\n", out), out
    assert "goal met: yes" in out, out
    for figure in ("API calls", "wall time", "records/hour", "peak RSS"):
        assert figure in out, out
    # The idle cycle reads nothing and costs its formula: 1 + 5 upcoming webinars + 1 awaited.
    assert re.search(r"idle cycle.*\n +records read +0\n +API calls +7 \(.*= 7; met\)", out), out
