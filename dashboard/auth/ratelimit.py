"""Login rate limit: one counter per email and per client address, taken before the password.

Each attempt takes a slot from its address's counter, then from its email's, each with one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite 3.35+ and PostgreSQL). The database
applies such statements to a row one at a time, so however many threads and web workers ask
together, no more than LOGIN_MAX_FAILURES of them get a slot in a window: and only a request
holding both slots has its password checked. Reading a count and writing it back later (as
this module once did) let 100 concurrent guesses get 19 password checks against a limit of 5.

A window starts at a key's first attempt and lasts LOGIN_WINDOW_SECONDS; refused attempts do
not move it, so hammering a locked form does not stretch the lockout. A successful login
gives its address slot back (an office behind one address must not lock itself out by logging
in) and clears its email's counter; so does ``syncline users set-password``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import Connection, and_, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from core.accounts import forget_failed_logins
from core.clock import as_utc
from core.models import LoginCounter
from core.models.users import COUNTER_VALUE_WIDTH
from dashboard.blueprint import engine

#: The address column's width; an IPv6 address with a zone fits easily.
_ADDRESS_WIDTH = 64
_TABLE = LoginCounter.__table__  # type: ignore[attr-defined]
_UPSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def client_address() -> str:
    """The address the request came from, as the WSGI server (or a trusted proxy) reports it.

    X-Forwarded-For is honoured only when the app is configured with TRUSTED_PROXIES, in
    which case ProxyFix has already put the client's address into ``remote_addr``; otherwise
    anyone could pick a fresh address per guess by sending the header.
    """
    return (request.remote_addr or "unknown")[:_ADDRESS_WIDTH]


@dataclass(frozen=True, slots=True)
class Slot:
    """One counter's answer: its attempts in the window (this one included) and the window."""

    scope: str
    value: str
    attempts: int
    window_start: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """A login attempt's place in the limit: the slots it holds, or how long to wait."""

    slots: tuple[Slot, ...]
    wait: int | None = None


def _limits() -> tuple[int, timedelta]:
    config = current_app.config
    return int(config["LOGIN_MAX_FAILURES"]), timedelta(seconds=int(config["LOGIN_WINDOW_SECONDS"]))


def _wait(slot: Slot, window: timedelta, now: datetime) -> int:
    """Seconds until ``slot``'s window ends: from 1 to the window's length.

    A concurrent request that read the clock after this one may have opened the window, a
    moment "in the future": the wait never exceeds the window for that.
    """
    left = math.ceil((as_utc(slot.window_start) + window - now).total_seconds())
    return min(max(1, left), math.ceil(window.total_seconds()))


def reserve(email: str, address: str, now: datetime) -> Attempt:
    """Take one attempt from the address's and the email's allowance, in that order.

    Refused by the address, the email's counter is not touched (a stranger at a locked address
    cannot use up a real user's allowance); refused by the email, the address gets its slot
    back, since no password was checked.
    """
    limit, window = _limits()
    held: list[Slot] = []
    for scope, value in (("address", address), ("email", email)):
        with engine().begin() as connection:  # committed at once: the slot must count now
            slot = _take(connection, scope, value[:COUNTER_VALUE_WIDTH], now, limit, window)
        if slot.attempts > limit:
            give_back(held)
            return Attempt(slots=(), wait=_wait(slot, window, now))
        held.append(slot)
    return Attempt(slots=tuple(held))


def _take(
    connection: Connection, scope: str, value: str, now: datetime, limit: int, window: timedelta
) -> Slot:
    """One atomic bump: a new window at 1, a spent one marked ``limit + 1``, else one more."""
    expired = _TABLE.c.window_start <= now - window
    statement = (
        _UPSERT[connection.dialect.name](_TABLE)
        .values(scope=scope, value=value, window_start=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[_TABLE.c.scope, _TABLE.c.value],
            set_={
                # Both right-hand sides read the row as it was before this statement.
                "attempts": case(
                    (expired, 1),
                    (_TABLE.c.attempts >= limit, limit + 1),
                    else_=_TABLE.c.attempts + 1,
                ),
                "window_start": case((expired, now), else_=_TABLE.c.window_start),
            },
        )
        .returning(_TABLE.c.attempts, _TABLE.c.window_start)
    )
    attempts, window_start = connection.execute(statement).one()
    return Slot(scope, value, int(attempts), window_start)


def give_back(slots: list[Slot] | tuple[Slot, ...]) -> None:
    """Return slots that checked no failed password (only within the window they came from)."""
    for slot in slots:
        with engine().begin() as connection:
            connection.execute(
                update(_TABLE)
                .where(
                    and_(
                        _TABLE.c.scope == slot.scope,
                        _TABLE.c.value == slot.value,
                        _TABLE.c.window_start == slot.window_start,
                        _TABLE.c.attempts > 0,
                    )
                )
                .values(attempts=_TABLE.c.attempts - 1)
            )


def locked_by(attempt: Attempt, now: datetime) -> int | None:
    """After a wrong password: seconds this failure locked its email or address for, or None."""
    limit, window = _limits()
    spent = [_wait(slot, window, now) for slot in attempt.slots if slot.attempts >= limit]
    return max(spent) if spent else None


def succeeded(attempt: Attempt) -> None:
    """A correct password: the address's slot comes back, the email's failures are forgotten."""
    give_back([slot for slot in attempt.slots if slot.scope == "address"])
    with engine().begin() as connection:
        for slot in attempt.slots:
            if slot.scope == "email":
                forget_failed_logins(connection, slot.value)


def purge(now: datetime) -> None:
    """Delete counters whose window has passed (they would restart at 1 anyway)."""
    _, window = _limits()
    with engine().begin() as connection:
        connection.execute(delete(_TABLE).where(_TABLE.c.window_start <= now - window))
