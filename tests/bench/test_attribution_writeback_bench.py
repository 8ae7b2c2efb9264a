"""bench/attribution_writeback.py pushes a tiny hub's influence rows; its figures add up."""

from __future__ import annotations

import json
import math

import pytest

from bench import attribution_writeback


def test_a_tiny_run_writes_every_row_in_few_calls_and_nothing_when_idle(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert attribution_writeback.main(["--scale", "0.02", "--change", "0.05", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    first, second, idle = figures["cycles"]
    rows = figures["campaign_influence_rows"]

    assert figures["opportunities"] == 11 and rows > 0
    # The first cycle created every hub row in the org, and the org holds them.
    assert (first["created"], first["failed"]) == (rows, 0)
    assert figures["campaign_influence_in_org"] == rows
    assert first["goal"] == math.ceil(rows / 200)
    # Batched writes: one page of 500 costs at most one partly filled call above 200 per call.
    pages = math.ceil(rows / figures["page_size"])
    assert 0 < first["write_calls"] <= first["goal"] + pages
    assert first["write_calls"] == first["collections_calls"] + first["bulk_calls"]
    assert first["ratio"] == round(first["write_calls"] / first["goal"], 3)
    assert first["bulk_used"] is False  # below the connector's 2,000-record threshold
    # Moved touches change some credit: written in a call or two, not row by row.
    assert figures["touches_changed"] > 0 and figures["incremental_opportunities"] > 0
    assert second["rows"] > 0 and second["failed"] == 0
    assert second["write_calls"] <= second["goal"] + 2
    assert (idle["rows"], idle["write_calls"], idle["bulk_jobs"]) == (0, 0, 0)
