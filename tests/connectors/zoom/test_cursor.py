"""The registrant/person cursor and the daily-usage bookkeeping, without a sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.errors import ConnectorError, ErrorKind
from connectors.zoom.cursor import ReadState
from connectors.zoom.transport import ZoomHttp


def test_a_cursor_round_trips_compactly_and_sorted() -> None:
    state = ReadState(datetime(2026, 12, 7, 10, 0, tzinfo=UTC), {"12", "9"}, {"81": "abc"}, "h1")
    text = state.encode()
    assert text == ('{"v":1,"t":"2026-12-07T10:00:00Z","final":["9","12"],"d":{"81":"abc"},'
                    '"h":"h1"}')
    again = ReadState.decode(text)
    assert (again.time, again.final, again.digests, again.mark, again.full) == (
        state.time, state.final, state.digests, "h1", False)
    assert ReadState.decode(None).full


@pytest.mark.parametrize("foreign", ["2026-01-01T00:00:00Z", "{}", '{"v":1}', "null"])
def test_a_cursor_of_another_connector_is_a_config_error(foreign: str) -> None:
    with pytest.raises(ConnectorError) as info:
        ReadState.decode(foreign)
    assert info.value.kind is ErrorKind.CONFIG and info.value.hint


def answer(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def test_daily_usage_comes_from_heavy_answers_only() -> None:
    http = ZoomHttp("https://api.zoom.us/v2")
    http._observe(answer(200, **{"X-RateLimit-Category": "Medium"}))
    assert http.usage() is None
    http._observe(answer(429, **{"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS",
                                 "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}))
    assert http.usage() is None, "a per-second limit is not the daily allowance"
    http._observe(answer(200, **{"X-RateLimit-Category": "Heavy", "X-RateLimit-Limit": "30000",
                                 "X-RateLimit-Remaining": "29000"}))
    usage = http.usage()
    assert usage is not None and (usage.used, usage.limit) == (1000, 30000)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert http.usage(tomorrow).used == 0  # type: ignore[union-attr]
