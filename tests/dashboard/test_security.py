"""Every route of the app: login required, CSRF on every POST, roles, headers, cookies, escaping.

The routes are read from the app's URL map, so a page added later is covered without
touching this file; an action that changes something must carry ``@admin_required``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.routing import Rule

from app import HSTS, SECURITY_HEADERS, create_app
from core.models import SyncError, User
from dashboard.auth.guard import PUBLIC_ENDPOINTS
from tests.dashboard.conftest import ADMIN_PASSWORD
from tests.dashboard.forms import csrf_token, log_in, post

AddError = Callable[..., SyncError]

#: POST actions a viewer may use: logging in and out, ending their own sessions everywhere, and
#: asking a connection for its status (a read-only call that changes no data).
VIEWER_POSTS = frozenset(
    {
        "dashboard.login",
        "dashboard.logout",
        "dashboard.sign_out_everywhere",
        "dashboard.connection_check",
    }
)
#: Not dashboard pages: the webhook receiver is signed rather than logged in (tests/inbound).
SKIPPED = frozenset({"static", "dashboard.static", "inbound.receive"})


def _rules() -> list[Rule]:
    app = create_app({"TESTING": True, "SECRET_KEY": "collect", "DATABASE_URL": "sqlite://"})
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED]
    app.extensions["syncline.engine"].dispose()
    return sorted(rules, key=lambda r: r.rule)


RULES = _rules()
GET_RULES = [r for r in RULES if "GET" in (r.methods or ()) and r.endpoint not in PUBLIC_ENDPOINTS]
POST_RULES = [r for r in RULES if "POST" in (r.methods or ())]
MUTATING_RULES = [r for r in POST_RULES if r.endpoint not in VIEWER_POSTS]


def url(rule: Rule, name: str = "1") -> str:
    """A concrete URL for ``rule``: 1 for numeric arguments, ``name`` for the others."""
    values: dict[str, object] = {}
    for argument in rule.arguments:
        number = type(rule._converters[argument]).__name__ in ("IntegerConverter", "FloatConverter")
        values[argument] = 1 if number else name
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def test_the_map_has_the_agreed_routes() -> None:
    endpoints = {r.endpoint for r in RULES}
    assert {"dashboard.login", "dashboard.logout", "dashboard.overview"} <= endpoints
    assert [r.endpoint for r in POST_RULES if r.endpoint == "dashboard.logout"]
    assert GET_RULES and POST_RULES


# -- anonymous visitors --------------------------------------------------------------------------
# One test per check walking every route (rather than one test per route): each test builds an
# app and accounts on both databases, and the walk names every route that fails.


def test_anonymous_get_redirects_to_login(anon_client: FlaskClient) -> None:
    wrong = []
    for rule in GET_RULES:
        target = url(rule) + "?page=2"
        response = anon_client.get(target)
        location = urlsplit(response.headers.get("Location", ""))
        if (response.status_code, location.path) != (302, "/login") or parse_qs(
            location.query
        ).get("next") != [target]:
            wrong.append(f"{target}: {response.status_code} {location.geturl()}")
    assert wrong == []


@pytest.mark.parametrize("path", ["/login", "/healthz"])
def test_public_pages_need_no_login(anon_client: FlaskClient, path: str) -> None:
    assert anon_client.get(path).status_code == 200


def test_anonymous_post_without_token_is_refused_by_csrf_first(anon_client: FlaskClient) -> None:
    """CSRF runs before the login check: a forged form learns nothing about sessions."""
    wrong = []
    for rule in POST_RULES:
        response = anon_client.post(url(rule), data={"email": "a@b.example", "password": "x" * 20})
        if response.status_code != 400 or "Form refused" not in response.get_data(as_text=True):
            wrong.append(f"{rule.rule}: {response.status_code}")
    assert wrong == []


def test_anonymous_post_with_token_needs_login(anon_client: FlaskClient) -> None:
    wrong = []
    for rule in POST_RULES:
        if rule.endpoint == "dashboard.login":
            continue
        response = post(anon_client, url(rule))
        html = response.get_data(as_text=True)
        if response.status_code != 401 or "Your session has ended" not in html:
            wrong.append(f"{rule.rule}: {response.status_code}")
        elif 'href="/login"' not in html:
            wrong.append(f"{rule.rule}: no link to the login page")
    assert wrong == []


# -- logged in: CSRF on every form, admin role on every change -----------------------------------


def test_post_without_csrf_token_is_400_when_logged_in(client: FlaskClient) -> None:
    wrong = []
    for rule in POST_RULES:
        for data in ({"ids": "1", "action": "ignore"}, {"csrf_token": "forged", "ids": "1"}):
            status = client.post(url(rule), data=data).status_code
            if status != 400:
                wrong.append(f"{rule.rule} {data}: {status}")
    assert wrong == []
    assert client.get("/").status_code == 200  # still logged in: the logout was refused too


def test_csrf_token_of_another_session_is_refused(
    app: Flask, client: FlaskClient, admin: User
) -> None:
    other = log_in(app.test_client(), admin)
    response = client.post("/logout", data={"csrf_token": csrf_token(other)})
    assert response.status_code == 400


def test_viewer_gets_403_on_every_action_that_changes_data(viewer_client: FlaskClient) -> None:
    wrong = []
    for rule in MUTATING_RULES:
        response = post(viewer_client, url(rule), {"ids": "1", "action": "ignore"})
        html = response.get_data(as_text=True)
        if response.status_code != 403 or "you are logged in with the viewer role" not in html:
            wrong.append(f"{rule.rule}: {response.status_code}")
    assert wrong == []


def test_every_view_that_changes_data_is_marked_admin_only(app: Flask) -> None:
    unguarded = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
        and rule.endpoint not in VIEWER_POSTS
        and rule.endpoint not in SKIPPED
        and not admin_only(app, rule)
    ]
    assert unguarded == [], f"POST views without @admin_required: {unguarded}"


def admin_only(app: Flask, rule: Rule) -> bool:
    return bool(getattr(app.view_functions[rule.endpoint], "admin_only", False))


def test_admin_required_refuses_viewers_and_lets_admins_through(
    app: Flask, admin: User, viewer: User
) -> None:
    from dashboard.auth import admin_required

    @admin_required
    def sensitive() -> str:
        return "done"

    assert getattr(sensitive, "admin_only", False) is True
    app.add_url_rule("/test-sensitive", "sensitive", sensitive, methods=["POST"])
    as_admin = log_in(app.test_client(), admin)
    as_viewer = log_in(app.test_client(), viewer)
    assert post(as_admin, "/test-sensitive").get_data(as_text=True) == "done"
    assert post(as_viewer, "/test-sensitive").status_code == 403


def test_viewer_can_read_every_page(app: Flask, viewer_client: FlaskClient) -> None:
    wrong = []
    for rule in GET_RULES:
        if admin_only(app, rule):
            expected = {403}  # a form for admins only (the editor): refused as a whole
        elif rule.arguments:
            expected = {200, 404}  # the sample id or name may match nothing
        else:
            expected = {200}
        status = viewer_client.get(url(rule)).status_code
        if status not in expected:
            wrong.append(f"{rule.rule}: {status}, expected {sorted(expected)}")
    assert wrong == []


# -- headers and cookies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("admin", "/", 200),
        ("anon", "/login", 200),
        ("anon", "/", 302),
        ("admin", "/runs/987654", 404),
        ("anon", "/logout", 400),  # POSTed below
    ],
)
def test_security_headers_on_every_kind_of_response(
    client: FlaskClient, anon_client: FlaskClient, who: str, path: str, status: int
) -> None:
    browser = client if who == "admin" else anon_client
    response = browser.post(path) if status == 400 else browser.get(path)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_hsts_only_over_https(client: FlaskClient) -> None:
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == HSTS == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/login").headers


def _login_response(browser: FlaskClient, **kwargs: object) -> tuple[int, str]:
    response = post(
        browser, "/login", {"email": "admin@example.com", "password": ADMIN_PASSWORD}, **kwargs
    )
    return response.status_code, response.headers.get("Set-Cookie", "")


def test_session_cookie_is_secure_httponly_samesite_lax(
    anon_client: FlaskClient, admin: User
) -> None:
    status, cookie = _login_response(anon_client)
    assert status == 302
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("syncline_session=")
    assert "Secure" in attributes and "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes and "Path=/" in attributes


def test_plain_http_deployment_turns_secure_off_by_environment(
    engine: Engine, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCLINE_SESSION_COOKIE_SECURE", "false")
    app = _app_on(engine, {})
    assert app.config["SESSION_COOKIE_SECURE"] is False
    status, cookie = _login_response(app.test_client())
    assert status == 302
    attributes = [part.strip() for part in cookie.split(";")]
    assert "Secure" not in attributes and "HttpOnly" in attributes and "SameSite=Lax" in attributes


def test_missing_cookie_over_plain_http_explains_the_secure_flag(anon_client: FlaskClient) -> None:
    """A Secure cookie over plain HTTP never comes back: say so instead of a bare 400."""
    anon_client.get("/login")
    anon_client.delete_cookie("syncline_session")
    response = anon_client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert response.status_code == 400
    assert "SYNCLINE_SESSION_COOKIE_SECURE=false" in response.get_data(as_text=True)
    over_https = anon_client.post("/login", base_url="https://localhost", data={})
    assert over_https.status_code == 400
    assert "SYNCLINE_SESSION_COOKIE_SECURE" not in over_https.get_data(as_text=True)


def _app_on(engine: Engine, config: dict[str, object]) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            **config,
        }
    )
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = engine
    return app


@pytest.fixture
def proxied(engine: Engine) -> Iterator[Flask]:
    """The app behind one reverse proxy that sets X-Forwarded-For and X-Forwarded-Proto."""
    yield _app_on(engine, {"TRUSTED_PROXIES": 1})


def test_behind_a_trusted_proxy_forwarded_https_gets_hsts(proxied: Flask) -> None:
    response = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == HSTS


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(client: FlaskClient) -> None:
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


# -- remote text and secrets ---------------------------------------------------------------------

SCRIPT = "<script>alert('owned')</script>"


def test_script_in_a_remote_validation_message_renders_as_text(
    client: FlaskClient, add_error: AddError
) -> None:
    error = add_error(
        message=f"FIELD_CUSTOM_VALIDATION_EXCEPTION: {SCRIPT}",
        code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        email="ann@example.com",
    )
    for path in ("/errors", f"/errors/{error.id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in html, path
        assert SCRIPT not in html and "<script>alert" not in html, path
        assert "&lt;script&gt;alert(" in html, path


SECRETS = (
    "client-secret-value-8f2c",
    "sandbox-password-value-51d",
    "security-token-value-9e0",
    "memory-api-key-value-77a",
)


@pytest.fixture
def with_secrets(app: Flask, tmp_path: Path) -> Flask:
    connections = tmp_path / "connections.yaml"
    connections.write_text(
        "crm:\n"
        "  type: salesforce\n"
        "  login_url: http://127.0.0.1:9\n"  # nothing listens on port 9: a check fails at once
        "  auth: password\n"
        "  client_id: public-client-id\n"
        f"  client_secret: {SECRETS[0]}\n"
        "  username: integration@example.com\n"
        f"  password: {SECRETS[1]}\n"
        f"  security_token: {SECRETS[2]}\n"
        "  retry: {max_tries: 1}\n"
        "webinar:\n"
        "  type: memory\n"
        f"  path: {tmp_path / 'webinar.json'}\n"
        f"  api_key: {SECRETS[3]}\n",
        encoding="utf-8",
    )
    app.config["CONNECTIONS"] = str(connections)
    return app


def test_secrets_from_the_connections_file_are_never_rendered(
    with_secrets: Flask, client: FlaskClient
) -> None:
    pages = {url(rule, name) for rule in GET_RULES for name in ("1", "crm", "webinar")}
    for page in sorted(pages):
        html = client.get(page).get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in html, page
    if "dashboard.connection_check" in with_secrets.view_functions:
        for name in ("crm", "webinar"):
            response = post(client, f"/connections/{name}/check", follow_redirects=True)
            html = response.get_data(as_text=True)
            assert response.status_code == 200
            for secret in SECRETS:
                assert secret not in html, name
