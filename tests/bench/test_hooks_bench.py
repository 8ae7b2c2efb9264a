"""bench/hooks.py runs end to end on a small load and prints every figure it promises."""

from __future__ import annotations

import re

import pytest

from bench import hooks
from tests.conftest import POSTGRES_ADMIN_URL, PostgresServer


@pytest.mark.postgres
def test_small_run_prints_throughput_latency_and_lag(
    postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    assert hooks.main(["--small", "--seconds", "1", "--server", server]) == 0
    out = capsys.readouterr().out
    assert re.search(r"accepted \(202\): +[\d,]+ += [\d,.]+ requests/s", out), out
    assert re.search(r"latency to 202: +p50 [\d.]+ ms · p99 [\d.]+ ms", out), out
    assert "until every one was processed: its person and form_fill touch in the hub" in out, out
