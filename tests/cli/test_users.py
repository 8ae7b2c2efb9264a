"""``syncline users``: add, list, set-role, set-password, (de)activate, remove; bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from werkzeug.security import check_password_hash

from cli import context as cli_context
from cli import main
from cli import users as users_cli
from core.db import make_engine
from tests.cli.conftest import Invoke
from tests.cli.helpers import error_lines, rows

PASSWORD = "correct-horse-battery"
Users = Callable[..., Result]


@pytest.fixture
def users(syncline: Invoke, hub: Engine, monkeypatch: pytest.MonkeyPatch) -> Users:
    """``syncline users ARGS...`` on an initialised hub, with ``stdin`` fed to the command."""
    assert syncline("init").exit_code == 0
    runner = CliRunner()
    engines: list[Engine] = []

    def tracked(url: str | None = None) -> Engine:
        engine = make_engine(url)
        engines.append(engine)
        return engine

    monkeypatch.setattr(cli_context, "make_engine", tracked)

    def invoke(*args: str, stdin: str | None = None) -> Result:
        try:
            return runner.invoke(main, ["users", *args], input=stdin, catch_exceptions=False)
        finally:
            while engines:
                engines.pop().dispose()

    return invoke


def add(users: Users, email: str, role: str = "admin", password: str = PASSWORD) -> Result:
    return users("add", email, "--role", role, "--password-stdin", stdin=password + "\n")


def accounts(hub: Engine) -> list[dict[str, object]]:
    return rows(hub, "dashboard_user", order="email")


def fails(result: Result) -> str:
    """The one error line of a command refused for bad input (exit code 2, nothing on stdout)."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_add_list_set_role_remove(users: Users, hub: Engine, db_url: str) -> None:
    """The whole life of two accounts, on SQLite and PostgreSQL."""
    assert users("list").stdout == (
        "no accounts yet; add one with `syncline users add EMAIL --role admin`\n"
    )
    first = add(users, "  Ann@Example.com ")
    assert first.exit_code == 0, first.output
    assert first.stdout == "added ann@example.com (admin)\n"
    assert add(users, "bob@example.com", "viewer").stdout == "added bob@example.com (viewer)\n"

    listing = users("list")
    assert listing.exit_code == 0
    assert listing.stdout.splitlines() == [
        "email            role    active  last login",
        "ann@example.com  admin   yes     never",
        "bob@example.com  viewer  yes     never",
    ]
    assert "scrypt" not in listing.output and PASSWORD not in listing.output

    assert users("set-role", "BOB@example.com", "admin").stdout == "bob@example.com is now admin\n"
    assert users("set-role", "ann@example.com", "viewer").exit_code == 0
    assert [(a["email"], a["role"]) for a in accounts(hub)] == [
        ("ann@example.com", "viewer"),
        ("bob@example.com", "admin"),
    ]
    assert users("remove", "ann@example.com").stdout == "removed ann@example.com\n"
    assert [a["email"] for a in accounts(hub)] == ["bob@example.com"]


def test_password_is_stored_hashed(users: Users, hub: Engine) -> None:
    assert add(users, "ann@example.com").exit_code == 0
    (account,) = accounts(hub)
    stored = str(account["password_hash"])
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    assert check_password_hash(stored, PASSWORD)


def test_add_prompts_twice_without_echo_on_a_terminal(
    users: Users, hub: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users_cli, "_stdin_is_terminal", lambda: True)
    result = users("add", "ann@example.com", "--role", "viewer", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password:" in result.stderr and "Repeat the password:" in result.stderr
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert check_password_hash(str(accounts(hub)[0]["password_hash"]), PASSWORD)


def test_add_without_a_terminal_or_stdin_flag_says_how(users: Users, hub: Engine) -> None:
    line = fails(users("add", "ann@example.com", "--role", "admin", stdin=PASSWORD + "\n"))
    assert line == "error: password: no terminal to prompt on; use --password-stdin"
    assert accounts(hub) == []


def test_there_is_no_password_option(users: Users, hub: Engine) -> None:
    """A password given as an option value would sit in shell history and ``ps`` output."""
    result = users("add", "ann@example.com", "--role", "admin", "--password", PASSWORD)
    assert result.exit_code == 2
    assert "No such option '--password'" in result.stderr
    assert accounts(hub) == []


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("add", "ann@example.com", "--role", "admin", "--password-stdin"),
            "short-pass\n",
            "error: password: must be at least 12 characters long",
        ),
        (
            ("add", "ann@example.com", "--role", "admin", "--password-stdin"),
            " correct-horse-battery \n",
            "error: password: starts or ends with whitespace",
        ),
        (
            ("add", "ann@example.com", "--role", "admin", "--password-stdin"),
            "",
            "error: --password-stdin: stdin is empty; pipe the password in",
        ),
        (
            ("add", "not-an-email", "--role", "admin", "--password-stdin"),
            PASSWORD,
            "error: email: 'not-an-email' is not an email address",
        ),
        (
            ("add", "ann@example.com", "--role", "owner", "--password-stdin"),
            PASSWORD,
            "error: --role: 'owner' is not a role; choose one of admin, viewer",
        ),
    ],
)
def test_add_refuses_bad_input(
    users: Users, hub: Engine, args: tuple[str, ...], stdin: str, message: str
) -> None:
    assert fails(users(*args, stdin=stdin)) == message
    assert accounts(hub) == []


def test_add_refuses_a_duplicate_email(users: Users, hub: Engine, db_url: str) -> None:
    assert add(users, "ann@example.com").exit_code == 0
    before = accounts(hub)
    line = fails(add(users, "ANN@example.com", "viewer", "another-long-password"))
    assert line == "error: ann@example.com: already has an account"
    assert accounts(hub) == before


def test_set_password_replaces_the_hash(users: Users, hub: Engine) -> None:
    assert add(users, "ann@example.com").exit_code == 0
    result = users("set-password", "ann@example.com", "--password-stdin", stdin="a-new-secret-9\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "password changed for ann@example.com; its sessions have ended\n"
    stored = str(accounts(hub)[0]["password_hash"])
    assert check_password_hash(stored, "a-new-secret-9")
    assert not check_password_hash(stored, PASSWORD)


def test_set_password_refuses_short_ones_and_keeps_the_old(users: Users, hub: Engine) -> None:
    assert add(users, "ann@example.com").exit_code == 0
    before = accounts(hub)
    result = users("set-password", "ann@example.com", "--password-stdin", stdin="short\n")
    assert fails(result) == "error: password: must be at least 12 characters long"
    assert accounts(hub) == before


def test_deactivate_and_activate(users: Users, hub: Engine) -> None:
    assert add(users, "ann@example.com").exit_code == 0
    assert add(users, "bob@example.com").exit_code == 0
    assert users("deactivate", "bob@example.com").stdout == "deactivated bob@example.com\n"
    assert "bob@example.com  admin   no      never" in users("list").stdout
    assert users("activate", "bob@example.com").stdout == "activated bob@example.com\n"
    assert [bool(a["active"]) for a in accounts(hub)] == [True, True]


@pytest.mark.parametrize(
    "args",
    [
        ("remove", "nobody@example.com"),
        ("set-role", "nobody@example.com", "viewer"),
        ("deactivate", "nobody@example.com"),
        ("activate", "nobody@example.com"),
        ("set-password", "nobody@example.com", "--password-stdin"),
        ("sign-out", "nobody@example.com"),
    ],
)
def test_unknown_email_is_bad_input(users: Users, hub: Engine, args: tuple[str, ...]) -> None:
    assert add(users, "ann@example.com").exit_code == 0
    before = accounts(hub)
    line = fails(users(*args, stdin=PASSWORD + "\n"))
    assert line == (
        "error: nobody@example.com: no account with this email (`syncline users list` shows them)"
    )
    assert accounts(hub) == before


def test_sign_out_ends_the_accounts_dashboard_sessions(
    users: Users, hub: Engine, db_url: str
) -> None:
    """A browser logged in to the dashboard, and a copy of its cookie, are logged out."""
    from app import create_app
    from tests.dashboard.forms import csrf_token, post

    assert add(users, "ann@example.com").exit_code == 0
    assert add(users, "bob@example.com", "viewer").exit_code == 0
    app = create_app({"TESTING": True, "SECRET_KEY": "cli-test", "DATABASE_URL": db_url})
    try:
        browsers = {}
        for email in ("ann@example.com", "bob@example.com"):
            browsers[email] = app.test_client()
            login = post(browsers[email], "/login", {"email": email, "password": PASSWORD})
            assert login.status_code == 302
        copy = app.test_client()
        cookie = browsers["ann@example.com"].get_cookie("syncline_session")
        assert cookie is not None
        copy.set_cookie("syncline_session", cookie.value)
        token = csrf_token(copy)

        result = users("sign-out", "ANN@example.com")
        assert result.exit_code == 0, result.output
        assert result.stdout == "signed out ann@example.com everywhere: 1 session ended\n"
        assert copy.post("/logout", data={"csrf_token": token}).status_code == 401
        assert browsers["ann@example.com"].get("/errors").status_code == 302
        assert browsers["bob@example.com"].get("/errors").status_code == 200
        assert users("sign-out", "ann@example.com").stdout == (
            "signed out ann@example.com everywhere: 0 sessions ended\n"
        )
    finally:
        app.extensions["syncline.engine"].dispose()


def test_set_role_refuses_an_unknown_role(users: Users, hub: Engine) -> None:
    assert add(users, "ann@example.com").exit_code == 0
    line = fails(users("set-role", "ann@example.com", "owner"))
    assert line == "error: ROLE: 'owner' is not a role; choose one of admin, viewer"


@pytest.mark.parametrize(
    "args",
    [("remove", "ann@example.com"), ("deactivate", "ann@example.com"),
     ("set-role", "ann@example.com", "viewer")],
)
def test_the_last_active_admin_is_kept(users: Users, hub: Engine, args: tuple[str, ...]) -> None:
    """Without an active admin nobody could edit a mapping or act on an error."""
    assert add(users, "ann@example.com").exit_code == 0
    assert add(users, "bob@example.com", "viewer").exit_code == 0
    before = accounts(hub)
    line = fails(users(*args))
    assert line == (
        "error: ann@example.com: the last active admin; add or activate another admin first"
    )
    assert accounts(hub) == before
    assert add(users, "cid@example.com").exit_code == 0
    assert users(*args).exit_code == 0


def test_users_needs_an_initialised_database(syncline: Invoke) -> None:
    result = syncline("users", "list")
    assert result.exit_code == 2
    assert error_lines(result)[0].startswith("error: ")


# -- the demo's account --------------------------------------------------------------------------


@pytest.fixture
def initialised(syncline: Invoke, hub: Engine) -> Engine:
    assert syncline("init").exit_code == 0
    return hub


def test_demo_makes_an_admin_with_a_password_shown_once(
    initialised: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.demo import demo_login

    monkeypatch.delenv("SYNCLINE_DEMO_PASSWORD", raising=False)
    demo_login(initialised)
    first = capsys.readouterr().err
    assert first.startswith("dashboard login: admin@example.com, password ")
    password = first.split("password ")[1].split(" ")[0]
    (account,) = accounts(initialised)
    assert account["role"] == "admin"
    assert check_password_hash(str(account["password_hash"]), password)

    demo_login(initialised)  # the next start: same account, the password is not shown again
    again = capsys.readouterr().err
    assert password not in again and "syncline users set-password admin@example.com" in again
    assert len(accounts(initialised)) == 1


def test_demo_password_from_the_environment(
    initialised: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.demo import demo_login

    monkeypatch.setenv("SYNCLINE_DEMO_PASSWORD", "demo-password-from-env")
    demo_login(initialised)
    out = capsys.readouterr().err
    assert out == "dashboard login: admin@example.com, password from SYNCLINE_DEMO_PASSWORD\n"
    stored = str(accounts(initialised)[0]["password_hash"])
    assert check_password_hash(stored, "demo-password-from-env")


def test_demo_refuses_a_short_password_from_the_environment(
    initialised: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.demo import demo_login
    from core.errors import InputError

    monkeypatch.setenv("SYNCLINE_DEMO_PASSWORD", "short")
    with pytest.raises(InputError, match="SYNCLINE_DEMO_PASSWORD: must be at least 12"):
        demo_login(initialised)
    assert accounts(initialised) == []


def test_demo_adds_no_account_to_a_database_that_has_some(
    users: Users, hub: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.demo import demo_login

    assert add(users, "ann@example.com").exit_code == 0
    capsys.readouterr()
    demo_login(hub)
    assert "an existing account" in capsys.readouterr().err
    assert [a["email"] for a in accounts(hub)] == ["ann@example.com"]
