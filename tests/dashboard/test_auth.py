"""Logging in and out: redirects, wrong credentials, sessions that end, and the rate limit."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from werkzeug.test import TestResponse

from core import accounts
from core.clock import utcnow
from core.models import DashboardSession, LoginCounter, User
from core.sessions import hash_token
from tests.clock import frozen_clock
from tests.dashboard.conftest import ADMIN_PASSWORD, VIEWER_PASSWORD
from tests.dashboard.forms import post

ADMIN = "admin@example.com"
WRONG = "Wrong email or password."


def log_in_with(
    browser: FlaskClient, email: str, password: str, query: str = "", address: str = "127.0.0.1"
) -> TestResponse:
    """Submit the login form as a browser at ``address`` would."""
    return post(
        browser,
        f"/login{query}",
        {"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def counters(engine: Engine) -> dict[tuple[str, str], int]:
    """The login counters: (scope, email or address) -> attempts in the current window."""
    with Session(engine) as db:
        return {(c.scope, c.value): c.attempts for c in db.exec(select(LoginCounter))}


def user(engine: Engine, email: str) -> User:
    with Session(engine) as db:
        found = db.exec(select(User).where(User.email == email)).one()
        db.expunge(found)
        return found


# -- the form ------------------------------------------------------------------------------------


def test_login_page_is_a_form_with_a_csrf_token_and_no_navigation(
    anon_client: FlaskClient,
) -> None:
    html = anon_client.get("/login").get_data(as_text=True)
    assert '<input type="hidden" name="csrf_token" value="' in html
    assert 'name="email"' in html and 'type="password"' in html
    assert "<nav>" not in html and "Log out" not in html


def test_login_goes_where_the_user_was_going(
    anon_client: FlaskClient, admin: User, engine: Engine
) -> None:
    first = anon_client.get("/runs?mapping=crm-person")
    assert first.status_code == 302
    login_url = first.headers["Location"]
    assert login_url == "/login?next=/runs?mapping%3Dcrm-person"
    form = anon_client.get(login_url).get_data(as_text=True)
    assert 'action="/login?next=/runs?mapping%3Dcrm-person"' in form

    response = log_in_with(anon_client, "  Admin@Example.COM ", ADMIN_PASSWORD, "?next=/runs")
    assert response.status_code == 302
    assert response.headers["Location"] == "/runs"
    page = anon_client.get("/runs").get_data(as_text=True)
    assert "admin@example.com · admin" in page and "Log out" in page
    assert user(engine, ADMIN).last_login_at is not None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "runs",
    ],
)
def test_next_never_leaves_the_dashboard(
    anon_client: FlaskClient, admin: User, target: str
) -> None:
    response = post(
        anon_client,
        "/login",
        {"email": ADMIN, "password": ADMIN_PASSWORD},
        query_string={"next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_email_get_the_same_answer(
    anon_client: FlaskClient, admin: User
) -> None:
    wrong_password = log_in_with(anon_client, ADMIN, "not-the-password-at-all")
    unknown_email = log_in_with(anon_client, "nobody@example.com", "not-the-password-at-all")
    for response, email in ((wrong_password, ADMIN), (unknown_email, "nobody@example.com")):
        html = response.get_data(as_text=True)
        assert response.status_code == 401
        assert WRONG in html
        assert f'value="{email}"' in html  # the email is kept, the password is not
        assert "not-the-password-at-all" not in html
    assert anon_client.get("/").status_code == 302


def test_email_in_the_form_is_escaped(anon_client: FlaskClient) -> None:
    response = log_in_with(anon_client, '"><script>alert(1)</script>@x.example', "whatever-long")
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&#34;&gt;&lt;script&gt;" in html


def test_password_is_stored_only_as_a_salted_hash(engine: Engine, admin: User) -> None:
    stored = user(engine, ADMIN).password_hash
    assert ADMIN_PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))
    again = accounts.add_user(engine, "twin@example.com", ADMIN_PASSWORD, "viewer")
    assert again.password_hash != stored  # salted: the same password hashes differently


def test_production_accounts_are_hashed_with_scrypt(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite swaps in a cheap method (tests/conftest.py); the shipped default is scrypt.
    monkeypatch.setattr(accounts, "HASH_METHOD", "scrypt")
    made = accounts.add_user(engine, "real@example.com", ADMIN_PASSWORD, "admin")
    assert made.password_hash.startswith("scrypt:")
    with Session(engine) as db:
        assert accounts.authenticate(db, "real@example.com", ADMIN_PASSWORD) is not None


def test_login_starts_a_fresh_session(
    anon_client: FlaskClient, admin: User, engine: Engine
) -> None:
    """Session fixation: whatever the browser's session held before login is dropped."""
    anon_client.get("/login")
    with anon_client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["sid"] = "a-token-the-attacker-chose"
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 302
    with anon_client.session_transaction() as session:
        assert "planted" not in session
        first = session["sid"]
    assert first != "a-token-the-attacker-chose" and len(first) >= 43  # 32 random bytes
    # Logging in again (as anyone) replaces the token and ends the session it replaced.
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 302
    with anon_client.session_transaction() as session:
        second = session["sid"]
    assert second != first
    with Session(engine) as db:
        stored = [row.token_hash for row in db.exec(select(DashboardSession))]
    # The cookie is signed, not encrypted: the database keeps only the token's SHA-256.
    assert stored == [hash_token(second)]
    assert second not in stored


def test_deactivated_account_cannot_log_in(
    anon_client: FlaskClient, admin: User, viewer: User, engine: Engine
) -> None:
    accounts.set_active(engine, "viewer@example.com", False)
    response = log_in_with(anon_client, "viewer@example.com", VIEWER_PASSWORD)
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)


def test_deactivated_account_is_logged_out(
    viewer_client: FlaskClient, admin: User, engine: Engine
) -> None:
    assert viewer_client.get("/").status_code == 200
    accounts.set_active(engine, "viewer@example.com", False)
    response = viewer_client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    accounts.set_active(engine, "viewer@example.com", True)
    assert viewer_client.get("/").status_code == 302  # the old session stays ended


def test_new_password_ends_every_session(
    client: FlaskClient, anon_client: FlaskClient, engine: Engine
) -> None:
    assert client.get("/").status_code == 200
    accounts.set_password(engine, ADMIN, "a-brand-new-password")
    assert client.get("/").status_code == 302
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 401
    assert log_in_with(anon_client, ADMIN, "a-brand-new-password").status_code == 302
    assert anon_client.get("/").status_code == 200


def test_role_change_ends_the_sessions(
    app: Flask, client: FlaskClient, anon_client: FlaskClient, viewer: User, engine: Engine
) -> None:
    from dashboard.auth import admin_required

    app.add_url_rule("/test-change", "change", admin_required(lambda: "changed"), methods=["POST"])
    assert post(client, "/test-change").status_code == 200
    accounts.set_role(engine, ADMIN, "admin")  # the same role: nothing changes
    assert post(client, "/test-change").status_code == 200
    accounts.set_role(engine, "viewer@example.com", "admin")
    accounts.set_role(engine, ADMIN, "viewer")
    assert client.get("/").status_code == 302
    assert post(client, "/test-change").status_code == 401
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 302
    assert post(anon_client, "/test-change").status_code == 403
    assert "admin@example.com · viewer" in anon_client.get("/").get_data(as_text=True)


def test_logout_is_a_post_with_csrf(client: FlaskClient) -> None:
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # the forged logout did nothing
    response = post(client, "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_logout_button_on_every_page(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    form = html[html.index('action="/logout"') - 40 : html.index("Log out")]
    assert 'method="post"' in form and 'name="csrf_token"' in form


# -- rate limit ----------------------------------------------------------------------------------


def fail(browser: FlaskClient, times: int, email: str = ADMIN, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        response = log_in_with(browser, email, "wrong-password-guess", address=address)
        assert response.status_code == 401


def assert_locked(response: TestResponse) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 900
    html = response.get_data(as_text=True)
    assert "Too many failed logins. Try again in" in html
    assert WRONG not in html


def test_sixth_attempt_is_refused_even_with_the_right_password(
    anon_client: FlaskClient, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = frozen_clock(monkeypatch)
    fail(anon_client, 5)
    locked = log_in_with(anon_client, ADMIN, ADMIN_PASSWORD)
    assert_locked(locked)
    assert locked.headers["Retry-After"] == "900"
    assert "Try again in 15 minutes." in locked.get_data(as_text=True)
    assert anon_client.get("/").status_code == 302  # not logged in
    # Refused attempts do not move the window: hammering cannot stretch the lockout.
    clock.advance(minutes=10)
    for _ in range(10):
        again = log_in_with(anon_client, ADMIN, ADMIN_PASSWORD)
        assert_locked(again)
        assert again.headers["Retry-After"] == "300"
    clock.advance(minutes=5)
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 302


def test_lockout_per_client_address_across_emails(
    anon_client: FlaskClient, admin: User, viewer: User
) -> None:
    for n in range(5):
        fail(anon_client, 1, email=f"guess{n}@example.com", address="198.51.100.7")
    for _ in range(10):
        assert_locked(log_in_with(anon_client, ADMIN, ADMIN_PASSWORD, address="198.51.100.7"))
    # Refused by its address, an attempt leaves the email's allowance alone: a stranger at a
    # locked address cannot lock the account, and the account from elsewhere is not held up.
    fail(anon_client, 4, address="198.51.100.8")
    elsewhere = log_in_with(anon_client, ADMIN, ADMIN_PASSWORD, address="198.51.100.8")
    assert elsewhere.status_code == 302


def test_lockout_per_email_across_addresses(anon_client: FlaskClient, admin: User) -> None:
    for n in range(5):
        fail(anon_client, 1, address=f"203.0.113.{n}")
    for _ in range(10):
        assert_locked(log_in_with(anon_client, ADMIN, ADMIN_PASSWORD, address="203.0.113.99"))
    # Those refusals checked no password, so the address got its slots back.
    fail(anon_client, 5, email="someone@example.com", address="203.0.113.99")


def test_forwarded_for_is_ignored_without_a_trusted_proxy(
    anon_client: FlaskClient, admin: User
) -> None:
    for n in range(5):
        response = post(
            anon_client,
            "/login",
            {"email": f"guess{n}@example.com", "password": "wrong-password-guess"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
        assert response.status_code == 401
    response = post(
        anon_client,
        "/login",
        {"email": ADMIN, "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.200"},
    )
    assert_locked(response)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    engine: Engine, admin: User
) -> None:
    from tests.dashboard.test_security import _app_on

    browser = _app_on(engine, {"TRUSTED_PROXIES": 1}).test_client()

    def attempt(email: str, password: str, client_ip: str) -> int:
        return post(
            browser,
            "/login",
            {"email": email, "password": password},
            headers={"X-Forwarded-For": client_ip},
        ).status_code

    for n in range(5):
        assert attempt(f"guess{n}@example.com", "wrong-password-guess", "192.0.2.1") == 401
    assert attempt(ADMIN, ADMIN_PASSWORD, "192.0.2.1") == 429
    assert attempt(ADMIN, ADMIN_PASSWORD, "192.0.2.2") == 302


def test_lockout_ends_when_the_window_has_passed(
    anon_client: FlaskClient, admin: User, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = frozen_clock(monkeypatch)
    fail(anon_client, 5)
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 429
    clock.advance(seconds=899)
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 429
    clock.advance(seconds=1)
    fail(anon_client, 1, email="someone@example.com")  # purges the passed windows on its way
    assert counters(engine) == {
        ("address", "127.0.0.1"): 1,
        ("email", "someone@example.com"): 1,
    }
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 302


def test_successful_login_clears_the_emails_failures(
    anon_client: FlaskClient, admin: User, engine: Engine
) -> None:
    fail(anon_client, 4)
    fail(anon_client, 1, email="other@example.com", address="192.0.2.50")
    assert log_in_with(anon_client, ADMIN, ADMIN_PASSWORD).status_code == 302
    assert counters(engine) == {
        ("address", "127.0.0.1"): 4,
        ("address", "192.0.2.50"): 1,
        ("email", "other@example.com"): 1,
    }
    fail(anon_client, 5, address="192.0.2.51")  # the email's allowance is whole again


def test_successful_logins_leave_the_address_its_allowance(
    app: Flask, admin: User, viewer: User
) -> None:
    """An office behind one address: its logins must not lock the next person out."""
    for n in range(10):
        browser = app.test_client()
        user, password = (ADMIN, ADMIN_PASSWORD) if n % 2 else ("viewer@example.com",
                                                               VIEWER_PASSWORD)
        assert log_in_with(browser, user, password).status_code == 302
    fail(app.test_client(), 5, email="typo@example.com")


def test_retry_after_counts_from_the_first_attempt_in_the_window(
    anon_client: FlaskClient, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = frozen_clock(monkeypatch)
    fail(anon_client, 1)
    clock.advance(seconds=100)
    fail(anon_client, 1)
    clock.advance(seconds=100)
    fail(anon_client, 3)
    clock.advance(seconds=200)
    locked = log_in_with(anon_client, ADMIN, ADMIN_PASSWORD)
    assert_locked(locked)
    assert locked.headers["Retry-After"] == "500"
    assert "Try again in 9 minutes." in locked.get_data(as_text=True)


def test_retry_after_never_exceeds_the_window(app: Flask, admin: User) -> None:
    """A concurrent request that read the clock later may have opened the window first."""
    from dashboard.auth import ratelimit

    opened = utcnow() + timedelta(seconds=2)
    with app.app_context():
        for _ in range(5):
            assert ratelimit.reserve(ADMIN, "192.0.2.9", opened).wait is None
        assert ratelimit.reserve(ADMIN, "192.0.2.9", opened - timedelta(seconds=2)).wait == 900


def test_lockout_is_logged_without_the_password(
    anon_client: FlaskClient, admin: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="syncline")
    fail(anon_client, 5)
    log_in_with(anon_client, ADMIN, ADMIN_PASSWORD)
    events = [(r.getMessage(), getattr(r, "fields", {})) for r in caplog.records]
    names = [name for name, _ in events]
    assert names.count("login.failed") == 5
    assert names.count("login.locked_out") == 1
    assert names.count("login.refused") == 1
    locked = dict(events)["login.locked_out"]
    assert locked["email"] == ADMIN and locked["address"] == "127.0.0.1"
    assert 0 < locked["retry_after"] <= 900
    logged = repr(events)
    assert ADMIN_PASSWORD not in logged and "wrong-password-guess" not in logged


def test_limits_come_from_the_config(app: Flask, anon_client: FlaskClient, admin: User) -> None:
    app.config.update(LOGIN_MAX_FAILURES=2, LOGIN_WINDOW_SECONDS=60)
    fail(anon_client, 2)
    locked = log_in_with(anon_client, ADMIN, ADMIN_PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert "Try again in a minute." in locked.get_data(as_text=True)


def test_login_redirect_location_is_relative(anon_client: FlaskClient, admin: User) -> None:
    location = log_in_with(anon_client, ADMIN, ADMIN_PASSWORD, "?next=/errors").headers["Location"]
    assert urlsplit(location).netloc == ""


def test_a_new_password_clears_the_lockout(
    anon_client: FlaskClient, admin: User, engine: Engine
) -> None:
    """How an admin helps a locked-out user: ``syncline users set-password``."""
    for n in range(5):
        fail(anon_client, 1, address=f"203.0.113.{n}")
    assert_locked(log_in_with(anon_client, ADMIN, ADMIN_PASSWORD, address="203.0.113.9"))
    accounts.set_password(engine, ADMIN, "a-brand-new-password")
    response = log_in_with(anon_client, ADMIN, "a-brand-new-password", address="203.0.113.9")
    assert response.status_code == 302
