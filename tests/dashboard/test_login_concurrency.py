"""The login limit under load: 100 wrong passwords at once against ``syncline web`` (gunicorn,
several worker processes of several threads), on SQLite and on PostgreSQL.

The server is a real process: the limit must hold across its processes and threads, which an
in-process test client (one thread at a time) could never show.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, update

from core.models import LoginCounter
from tests.processes import ROOT, Running, wait_until

ADMIN = "admin@example.com"
PASSWORD = "the-right-password-for-load"
GUESSES = 100
LIMIT = 5  # the default LOGIN_MAX_FAILURES
WRONG = "Wrong email or password."
LOCKED = "Too many failed logins. Try again in 15 minutes."


@dataclass
class Server:
    """The running dashboard: its address, its stderr, and its database."""

    url: str
    process: Running
    database_url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        # requests returns a Secure cookie only over HTTPS; this server speaks plain HTTP.
        "SYNCLINE_SESSION_COOKIE_SECURE": "false",
        # Given, so the server does not make instance/secret_key in the checkout.
        "SYNCLINE_SECRET_KEY": "load-test-secret",
        # login.failed is logged at info, once per password found wrong.
        "SYNCLINE_LOG_LEVEL": "INFO",
    }
    for name in ("SYNCLINE_LOGIN_MAX_FAILURES", "SYNCLINE_LOGIN_WINDOW_SECONDS"):
        env.pop(name, None)

    def cli(*args: str, stdin: str | None = None) -> None:
        done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=tmp_path, env=env,
                              input=stdin, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    cli("init")
    cli("users", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "--mappings", str(ROOT / "mappings"), "web",
         "--port", str(port), "--workers", "3", "--threads", "4"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    web = Running(process)
    url = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            try:
                return requests.get(f"{url}/healthz", timeout=2).ok
            except requests.RequestException:
                return False

        wait_until(healthy, 60, "the dashboard to answer")
        yield Server(url, web, db_url)
    finally:
        web.stop()


def browser_with_form(url: str) -> tuple[requests.Session, str]:
    """A browser that loaded the login page: its session cookie and the form's CSRF token."""
    browser = requests.Session()
    # Not kept alive: gunicorn drops an idle connection after 2 s, and a POST sent on one it
    # is dropping that moment fails with "connection reset" (requests retries no POST).
    page = browser.get(f"{url}/login", timeout=30, headers={"Connection": "close"})
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return browser, match.group(1)


def log_in(url: str, password: str) -> requests.Response:
    browser, token = browser_with_form(url)
    return browser.post(
        f"{url}/login",
        data={"email": ADMIN, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=60,
    )


def test_100_concurrent_wrong_passwords_get_5_password_checks(server: Server) -> None:
    forms = [browser_with_form(server.url) for _ in range(GUESSES)]
    start = threading.Barrier(GUESSES)

    def guess(form: tuple[requests.Session, str]) -> requests.Response:
        browser, token = form
        start.wait(timeout=60)  # every guess is sent at the same moment
        return browser.post(
            f"{server.url}/login",
            data={"email": ADMIN, "password": "a-wrong-guess-at-it", "csrf_token": token},
            allow_redirects=False,
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        answers = list(pool.map(guess, forms))

    assert Counter(a.status_code for a in answers) == {401: LIMIT, 429: GUESSES - LIMIT}
    assert all(WRONG in a.text for a in answers if a.status_code == 401)
    for refused in (a for a in answers if a.status_code == 429):
        assert LOCKED in refused.text and WRONG not in refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 900
    checked = [line for line in server.process.lines if "event=login.failed" in line]
    assert len(checked) == LIMIT, "\n".join(checked)

    # The right password is refused too, until the window has passed.
    refused = log_in(server.url, PASSWORD)
    assert refused.status_code == 429 and LOCKED in refused.text
    # The server's clock cannot be moved from here: move the window's start back instead.
    engine = create_engine(server.database_url)
    try:
        with engine.begin() as connection:
            passed = datetime.now(UTC) - timedelta(seconds=901)
            connection.execute(update(LoginCounter).values(window_start=passed))
    finally:
        engine.dispose()
    accepted = log_in(server.url, PASSWORD)
    assert accepted.status_code == 302, accepted.text
    assert accepted.headers["Location"] == "/"
