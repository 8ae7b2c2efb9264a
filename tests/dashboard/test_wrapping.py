"""The breakable filter: long codes get wrap points after "_", and stay escaped."""

from __future__ import annotations

from dashboard.blueprint import breakable


def test_codes_wrap_after_underscores_and_emails_at_their_dots() -> None:
    assert str(breakable("INVALID_OR_NULL")) == "INVALID_<wbr>OR_<wbr>NULL"
    assert str(breakable("ann.lee@example.com")) == "ann.<wbr>lee@<wbr>example.<wbr>com"
    assert str(breakable(None)) == ""


def test_remote_text_stays_escaped() -> None:
    assert str(breakable("<script>_x")) == "&lt;script&gt;_<wbr>x"
