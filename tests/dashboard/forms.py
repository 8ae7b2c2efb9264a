"""Test helpers for a logged-in browser: session login and form posts with a CSRF token."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.models import User
from dashboard.auth.guard import remember


def log_in(client: FlaskClient, user: User) -> FlaskClient:
    """Put ``user``'s login into the client's session, as the login form would."""
    with client.application.test_request_context():
        remember(user)
        from flask import session

        values = dict(session)
    with client.session_transaction() as sess:
        sess.update(values)
    return client


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token a page would embed for this client's session."""
    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "the page has no csrf-token meta tag"
    return match.group(1)


def post(
    client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> TestResponse:
    """POST a form the way the page would: with the session's CSRF token."""
    form = dict(data or {})
    form.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=form, **kwargs)
