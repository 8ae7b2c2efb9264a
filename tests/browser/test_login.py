"""In a real browser: the login form, the session cookie, and the overview actually drawn."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageStat
from sqlalchemy import Engine

from app import create_app
from core.accounts import add_user
from tests.browser.conftest import LiveServer

PASSWORD = "browser-test-password"


@pytest.fixture
def server(sqlite_engine: Engine) -> Iterator[LiveServer]:
    add_user(sqlite_engine, "admin@example.com", PASSWORD, "admin")
    app = create_app(
        {"SECRET_KEY": "browser-tests", "DATABASE_URL": str(sqlite_engine.url)}
    )
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = sqlite_engine
    with LiveServer(app) as live:
        yield live


def test_login_then_the_overview_is_drawn(browser: Any, server: LiveServer) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server.url + "/")
    assert "/login" in page.url, "a fresh browser is sent to the login form"

    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "Wrong email or password" in page.inner_text("main")

    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    assert "admin@example.com" in page.inner_text("header")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "syncline_session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"

    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L")
    stat = ImageStat.Stat(shot)
    assert shot.getextrema()[0] < 100, "something dark (text) is on the page"
    assert stat.stddev[0] > 5, "the screenshot is not one flat colour"
    page.close()
