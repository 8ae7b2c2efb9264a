"""Sessions end on the server: for every copy of the cookie, by the clock, and on request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from core import accounts
from core.models import DashboardSession, User
from core.sessions import hash_token
from tests.clock import Clock, frozen_clock
from tests.dashboard.conftest import ADMIN_PASSWORD, VIEWER_PASSWORD
from tests.dashboard.forms import csrf_token, post

COOKIE = "syncline_session"
VIEWER = "viewer@example.com"


def logged_in(
    app: Flask, email: str = VIEWER, password: str = VIEWER_PASSWORD, **environ: str
) -> FlaskClient:
    """A browser that logged in through the form (``environ``: its address, its user agent)."""
    browser = app.test_client()
    response = post(
        browser, "/login", {"email": email, "password": password}, environ_base=environ
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def token_of(browser: FlaskClient) -> str:
    with browser.session_transaction() as session:
        return str(session["sid"])


def copy_of(app: Flask, browser: FlaskClient) -> tuple[FlaskClient, str]:
    """Another browser with a copy of ``browser``'s cookie (as a thief would have), and the
    CSRF token of a page it loaded."""
    copy = app.test_client()
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    copy.set_cookie(COOKIE, cookie.value)
    return copy, csrf_token(copy)


def assert_ended(browser: FlaskClient, token: str) -> None:
    """What the holder of an ended session sees: a form refused (401), pages send to login."""
    refused = browser.post("/logout", data={"csrf_token": token})
    assert refused.status_code == 401
    assert "Your session has ended" in refused.get_data(as_text=True)
    page = browser.get("/errors")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login")


def stored_sessions(engine: Engine) -> list[DashboardSession]:
    with Session(engine) as db:
        return list(db.exec(select(DashboardSession)))


def _logout(app: Flask, engine: Engine, browser: FlaskClient, admin: FlaskClient) -> None:
    assert post(browser, "/logout").headers["Location"] == "/login"


def _new_password(app: Flask, engine: Engine, browser: FlaskClient, admin: FlaskClient) -> None:
    accounts.set_password(engine, VIEWER, "another-long-password")


def _new_role(app: Flask, engine: Engine, browser: FlaskClient, admin: FlaskClient) -> None:
    accounts.set_role(engine, VIEWER, "admin")


def _deactivated(app: Flask, engine: Engine, browser: FlaskClient, admin: FlaskClient) -> None:
    accounts.set_active(engine, VIEWER, False)


def _removed(app: Flask, engine: Engine, browser: FlaskClient, admin: FlaskClient) -> None:
    accounts.remove_user(engine, VIEWER)


def _self_everywhere(
    app: Flask, engine: Engine, browser: FlaskClient, admin: FlaskClient
) -> None:
    response = post(browser, "/account/sign-out-everywhere", follow_redirects=True)
    assert response.request.path == "/login"
    html = response.get_data(as_text=True)
    assert "Signed out viewer@example.com everywhere: 2 sessions ended." in html


def _admin_everywhere(
    app: Flask, engine: Engine, browser: FlaskClient, admin: FlaskClient
) -> None:
    user = accounts.find_user(engine, VIEWER)
    response = post(admin, f"/users/{user.id}/sign-out", follow_redirects=True)
    assert response.request.path == "/users"
    html = response.get_data(as_text=True)
    assert "Signed out viewer@example.com everywhere: 2 sessions ended." in html


Ender = Callable[[Flask, Engine, FlaskClient, FlaskClient], None]


@pytest.mark.parametrize(
    "end",
    [
        _logout, _new_password, _new_role, _deactivated, _removed, _self_everywhere,
        _admin_everywhere,
    ],
)
def test_the_session_ends_for_every_copy_of_the_cookie(
    app: Flask, engine: Engine, admin: User, viewer: User, end: Ender
) -> None:
    browser = logged_in(app)
    other_browser = logged_in(app)  # the same account, elsewhere
    admin_browser = logged_in(app, "admin@example.com", ADMIN_PASSWORD)
    copy, token = copy_of(app, browser)
    elsewhere, elsewhere_token = copy_of(app, other_browser)
    assert copy.get("/errors").status_code == 200

    end(app, engine, browser, admin_browser)

    # Ended in the database at once, not only when a copy of the cookie next comes back.
    viewer_rows = [s for s in stored_sessions(engine) if s.user_id == viewer.id]
    assert len(viewer_rows) == (1 if end is _logout else 0)
    assert_ended(copy, token)
    if end is not _logout:  # logging out ends this browser's session, not the others
        assert_ended(elsewhere, elsewhere_token)
        assert browser.get("/").status_code == 302
    assert admin_browser.get("/").status_code == 200  # other accounts keep theirs


def test_signing_out_everywhere_is_logged_with_who_did_it(
    app: Flask, admin: User, viewer: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="syncline")
    logged_in(app)
    admin_browser = logged_in(app, "admin@example.com", ADMIN_PASSWORD)
    post(admin_browser, f"/users/{viewer.id}/sign-out")
    (record,) = [r for r in caplog.records if r.getMessage() == "sessions.signed_out_everywhere"]
    assert record.fields == {  # type: ignore[attr-defined]
        "actor": "admin@example.com", "email": VIEWER, "sessions": 1,
    }


def test_signing_out_an_unknown_account_is_404(client: FlaskClient) -> None:
    assert post(client, "/users/987654/sign-out").status_code == 404


# -- the clock -----------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return frozen_clock(monkeypatch)


def test_idle_session_ends_after_30_minutes(
    app: Flask, engine: Engine, viewer: User, clock: Clock
) -> None:
    browser = logged_in(app)
    copy, token = copy_of(app, browser)
    clock.advance(minutes=29)
    assert browser.get("/errors").status_code == 200  # a request: the session is in use
    clock.advance(minutes=29)
    assert browser.get("/errors").status_code == 200  # 58 minutes after login, 29 idle
    clock.advance(minutes=30)
    assert_ended(copy, token)
    assert browser.get("/errors").status_code == 302
    assert stored_sessions(engine) == []


def test_idle_timeout_comes_from_the_config(app: Flask, viewer: User, clock: Clock) -> None:
    app.config["SESSION_IDLE_MINUTES"] = 5
    browser = logged_in(app)
    clock.advance(minutes=4, seconds=59)
    assert browser.get("/account").status_code == 200
    html = " ".join(browser.get("/account").get_data(as_text=True).split())
    assert "after 5 minutes without a request, and 12 hours after you logged in" in html
    clock.advance(minutes=5)
    assert browser.get("/account").status_code == 302


def test_busy_session_ends_12_hours_after_login(
    app: Flask, engine: Engine, viewer: User, clock: Clock
) -> None:
    browser = logged_in(app)
    copy, token = copy_of(app, browser)
    for _ in range(35):  # a request every 20 minutes: never idle
        clock.advance(minutes=20)
        assert browser.get("/errors").status_code == 200
    clock.advance(minutes=20)  # 12 hours after login
    assert_ended(copy, token)
    assert browser.get("/errors").status_code == 302
    assert stored_sessions(engine) == []


def test_last_seen_is_written_at_most_once_a_minute(
    app: Flask, engine: Engine, viewer: User, clock: Clock
) -> None:
    start = clock.now
    browser = logged_in(app)
    clock.advance(seconds=59)
    assert browser.get("/errors").status_code == 200
    (row,) = stored_sessions(engine)
    assert row.last_seen_at.replace(tzinfo=None) == start.replace(tzinfo=None)
    clock.advance(seconds=1)
    assert browser.get("/errors").status_code == 200
    (row,) = stored_sessions(engine)
    assert row.last_seen_at.replace(tzinfo=None) == (start.replace(tzinfo=None) +
                                                      (clock.now - start))


def test_a_login_purges_sessions_that_ran_out(
    app: Flask, engine: Engine, admin: User, viewer: User, clock: Clock
) -> None:
    logged_in(app)  # never used again
    clock.advance(minutes=30)
    admin_browser = logged_in(app, "admin@example.com", ADMIN_PASSWORD)
    assert [s.token_hash for s in stored_sessions(engine)] == [hash_token(token_of(admin_browser))]


# -- the pages -----------------------------------------------------------------------------------


def test_account_page_lists_this_accounts_sessions(
    app: Flask, admin: User, viewer: User
) -> None:
    browser = logged_in(app, REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="Firefox/140.0 desk")
    logged_in(app, REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT="Safari/18 phone")
    logged_in(app, "admin@example.com", ADMIN_PASSWORD, REMOTE_ADDR="192.0.2.77")
    html = browser.get("/account").get_data(as_text=True)
    assert "198.51.100.23" in html and "Firefox/140.0 desk" in html
    assert "203.0.113.5" in html and "Safari/18 phone" in html
    assert "192.0.2.77" not in html  # another account's session
    assert html.count("this browser") == 1
    mine = html.index("this browser")
    assert html.rindex("198.51.100.23", 0, mine) > html.rfind("203.0.113.5", 0, mine)
    assert 'action="/account/sign-out-everywhere"' in html and 'name="csrf_token"' in html


def test_header_links_the_account_and_for_admins_the_users_page(
    client: FlaskClient, viewer_client: FlaskClient
) -> None:
    admin_header = client.get("/").get_data(as_text=True)
    assert 'href="/account"' in admin_header and 'href="/users"' in admin_header
    viewer_header = viewer_client.get("/").get_data(as_text=True)
    assert 'href="/account"' in viewer_header and 'href="/users"' not in viewer_header


def test_users_page_lists_accounts_with_their_open_sessions(
    app: Flask, engine: Engine, admin: User, viewer: User, clock: Clock
) -> None:
    accounts.add_user(engine, "idle@example.com", VIEWER_PASSWORD, "viewer")
    accounts.add_user(engine, "gone@example.com", VIEWER_PASSWORD, "viewer")
    accounts.set_active(engine, "gone@example.com", False)
    logged_in(app, REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="<b>Firefox</b>")
    logged_in(app, "idle@example.com", VIEWER_PASSWORD, REMOTE_ADDR="203.0.113.40")
    clock.advance(minutes=31)  # idle@'s session has run out; the viewer's is used again
    admin_browser = logged_in(app, "admin@example.com", ADMIN_PASSWORD, REMOTE_ADDR="192.0.2.1")
    html = admin_browser.get("/users").get_data(as_text=True).replace("<wbr>", "")
    rows = {
        email: html[html.index(f">{email}<"):].split("</tr>")[0]
        for email in ("admin@example.com", VIEWER, "idle@example.com", "gone@example.com")
    }
    assert "192.0.2.1" in rows["admin@example.com"] and "this browser" in rows["admin@example.com"]
    assert "Sign out everywhere" in rows["admin@example.com"]
    assert "198.51.100.23" not in rows[VIEWER]  # 31 minutes idle: no longer open
    assert "203.0.113.40" not in rows["idle@example.com"]
    assert "none" in rows["idle@example.com"] and "Sign out everywhere" not in rows[VIEWER]
    assert "<td>no</td>" in rows["gone@example.com"] and "<td>yes</td>" in rows[VIEWER]
    assert "<b>Firefox</b>" not in html
    # A fresh login is listed with its address, escaped browser and the account's last login.
    logged_in(app, REMOTE_ADDR="198.51.100.24", HTTP_USER_AGENT="<b>Firefox</b>")
    html = admin_browser.get("/users").get_data(as_text=True).replace("<wbr>", "")
    row = html[html.index(f">{VIEWER}<"):].split("</tr>")[0]
    assert "198.51.100.24" in row and "&lt;b&gt;Firefox&lt;/b&gt;" in row
    assert f"last seen {clock.now:%Y-%m-%d %H:%M:%S} UTC" in row
    assert "Sign out everywhere" in row


def test_timeouts_from_the_environment(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.sessions import Lifetime
    from dashboard.auth.guard import lifetime
    from tests.dashboard.test_security import _app_on

    monkeypatch.setenv("SYNCLINE_SESSION_IDLE_MINUTES", "10")
    monkeypatch.setenv("SYNCLINE_PERMANENT_SESSION_LIFETIME", "3600")
    with _app_on(engine, {}).app_context():
        assert lifetime() == Lifetime(idle=timedelta(minutes=10), absolute=timedelta(hours=1))


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-5", "-5"), ("soon", "'soon'")])
def test_an_idle_timeout_that_is_not_a_positive_number_is_refused(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, value: str, shown: str
) -> None:
    from core.errors import InputError
    from tests.dashboard.test_security import _app_on

    monkeypatch.setenv("SYNCLINE_SESSION_IDLE_MINUTES", value)
    with pytest.raises(InputError) as refused:
        _app_on(engine, {})
    assert str(refused.value) == (
        f"SESSION_IDLE_MINUTES: must be a positive number of minutes, not {shown}"
    )
