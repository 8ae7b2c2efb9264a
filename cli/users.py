"""``syncline users``: dashboard accounts (add, list, change, sign out everywhere, remove).

Passwords are read from a hidden prompt, or from stdin with ``--password-stdin`` in scripts;
never from an option value, which would end up in shell history and in ``ps`` output.
"""

from __future__ import annotations

import sys

import click

from cli.context import App, pass_app
from core import accounts
from core.errors import InputError
from core.models import ROLES

PASSWORD_STDIN = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin (for scripts) instead of prompting.",
)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_password(from_stdin: bool) -> str:
    """The new password: stdin's first line, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise InputError("--password-stdin", "stdin is empty; pipe the password in")
    elif _stdin_is_terminal():
        password = click.prompt(
            "Password", hide_input=True, confirmation_prompt="Repeat the password", err=True
        )
    else:
        raise InputError("password", "no terminal to prompt on; use --password-stdin")
    accounts.check_password(password)
    return password


@click.group("users")
def users_group() -> None:
    """Dashboard accounts: admins edit mappings and act on errors, viewers read."""


@users_group.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    metavar="|".join(ROLES),
    help="admin: edit mappings, retry and ignore errors; viewer: read only.",
)
@PASSWORD_STDIN
@pass_app
def add(app: App, email: str, role: str, password_stdin: bool) -> None:
    """Create an account for EMAIL; the password is prompted for."""
    # Everything that can be wrong without the password is checked before asking for it.
    accounts.validate(accounts.normalise_email(email), None, role)
    engine = app.engine
    if accounts.lookup(engine, email) is not None:
        raise InputError(accounts.normalise_email(email), "already has an account")
    password = read_password(password_stdin)
    user = accounts.add_user(engine, email, password, role)
    click.echo(f"added {user.email} ({user.role})")


@users_group.command("list")
@pass_app
def list_users(app: App) -> None:
    """Every account: email, role, active, last login (UTC)."""
    users = accounts.list_users(app.engine)
    if not users:
        click.echo("no accounts yet; add one with `syncline users add EMAIL --role admin`")
        return
    width = max(len("email"), *(len(u.email) for u in users))
    click.echo(f"{'email':<{width}}  {'role':<6}  {'active':<6}  last login")
    for user in users:
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "never"
        active = "yes" if user.active else "no"
        click.echo(f"{user.email:<{width}}  {user.role:<6}  {active:<6}  {last}")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", metavar="|".join(ROLES))
@pass_app
def set_role(app: App, email: str, role: str) -> None:
    """Give EMAIL the ROLE admin or viewer."""
    user = accounts.set_role(app.engine, email, role)
    click.echo(f"{user.email} is now {user.role}")


@users_group.command("set-password")
@click.argument("email")
@PASSWORD_STDIN
@pass_app
def set_password(app: App, email: str, password_stdin: bool) -> None:
    """Replace EMAIL's password; the account's open sessions end."""
    engine = app.engine
    accounts.find_user(engine, email)  # an unknown email fails before the prompt
    user = accounts.set_password(engine, email, read_password(password_stdin))
    click.echo(f"password changed for {user.email}; its sessions have ended")


@users_group.command("deactivate")
@click.argument("email")
@pass_app
def deactivate(app: App, email: str) -> None:
    """Stop EMAIL from logging in; open sessions end."""
    user = accounts.set_active(app.engine, email, False)
    click.echo(f"deactivated {user.email}")


@users_group.command("activate")
@click.argument("email")
@pass_app
def activate(app: App, email: str) -> None:
    """Let a deactivated EMAIL log in again."""
    user = accounts.set_active(app.engine, email, True)
    click.echo(f"activated {user.email}")


@users_group.command("sign-out")
@click.argument("email")
@pass_app
def sign_out(app: App, email: str) -> None:
    """End every open dashboard session of EMAIL (it may log in again)."""
    user, ended = accounts.sign_out(app.engine, email)
    click.echo(accounts.signed_out_text(user, ended))


@users_group.command("remove")
@click.argument("email")
@pass_app
def remove(app: App, email: str) -> None:
    """Delete EMAIL's account."""
    user = accounts.remove_user(app.engine, email)
    click.echo(f"removed {user.email}")


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(users_group)
