"""Bodies as a sender posts them, and the per-source token bucket on a clock we move."""

from __future__ import annotations

import pytest

from inbound.body import BodyError, flatten, parse
from inbound.ratelimit import RateLimiter

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def test_json_objects_flatten_and_forms_keep_repeated_keys_as_lists() -> None:
    assert parse(b'{"a": {"b": {"c": 1}}, "d": [1, {"e": 2}]}', "application/json") == {
        "a.b.c": 1, "d": [1, {"e": 2}]}
    assert parse(b"x=1&y=&x=2&z=%C3%A9", FORM) == {"x": ["1", "2"], "y": "", "z": "é"}
    assert parse(b'{"email": "a@b.c"}', None) == {"email": "a@b.c"}  # no Content-Type
    assert flatten({}) == {}


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (b"email=a@b.c", "text/plain", "neither a JSON object nor a form"),
    (b"[1]", "application/json", r"not an object \(a list\)"),
    (b'"text"', "application/json", r"not an object \(a string\)"),
    (b"\xff\xfe", "application/json", "not UTF-8"),
    (b"a=1&&=b&c", FORM, "not a valid"),
])
def test_what_is_refused_says_why(body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(BodyError, match=reason):
        parse(body, content_type)


def test_the_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [1000.0]
    limiter = RateLimiter(clock=lambda: now[0])

    assert [limiter.take("forms", 3) for _ in range(4)] == [0, 0, 0, 20]  # 3/min: 20 s a token
    assert limiter.take("other", 3) == 0  # each source has its own bucket
    now[0] += 20
    assert limiter.take("forms", 3) == 0
    assert limiter.take("forms", 3) == 20
