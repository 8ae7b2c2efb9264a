"""Dashboard accounts: create, change and check them (``syncline users`` and the dashboard).

Every change that alters what a session may do (password, role, deactivation, removal) ends
the account's open sessions in the same transaction. Nothing here needs a web request.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from werkzeug.security import check_password_hash, generate_password_hash

from core import sessions
from core.clock import utcnow
from core.db import session
from core.errors import InputError
from core.models import ROLES, LoginCounter, User
from core.models.users import COUNTER_VALUE_WIDTH
from core.values import normalise_email as core_email

MIN_PASSWORD_LENGTH = 12
#: Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("syncline-timing-equaliser")
#: Werkzeug's default, scrypt: slow on purpose (about 0.3 s here). The test suite, which makes
#: hundreds of accounts, swaps in a cheap method; nothing else should change it.
HASH_METHOD = "scrypt"


def normalise_email(email: str) -> str:
    """An account's email in the one form Syncline compares emails (core.values), "" if blank.

    Text rather than None, so ``validate`` names a blank email as not an email address.
    """
    return core_email(email) or ""


def validate(email: str, password: str | None, role: str, role_where: str = "--role") -> None:
    """Raise InputError naming the bad part of a new account."""
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InputError("email", f"{email!r} is not an email address")
    if len(email) > 255:
        raise InputError("email", "longer than 255 characters")
    if role not in ROLES:
        raise InputError(role_where, f"{role!r} is not a role; choose one of {', '.join(ROLES)}")
    if password is not None:
        check_password(password)


def check_password(password: str) -> None:
    """Raise InputError unless ``password`` is long enough to keep as a login secret."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if password != password.strip():
        # Almost always a pasted newline or space; it would silently become part of the secret.
        raise InputError("password", "starts or ends with whitespace")


def add_user(engine: Engine, email: str, password: str, role: str) -> User:
    """Create an account; the password is kept only as a salted scrypt hash."""
    email = normalise_email(email)
    validate(email, password, role)
    with session(engine) as db:
        if db.exec(select(User).where(User.email == email)).first() is not None:
            raise InputError(email, "already has an account")
        user = User(
            email=email,
            password_hash=generate_password_hash(password, method=HASH_METHOD),
            role=role,
            created_at=utcnow(),
        )
        db.add(user)
    return user


def authenticate(db: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same cost either way)."""
    user = db.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def list_users(engine: Engine) -> list[User]:
    """Every account, by email."""
    with Session(engine) as db:
        return list(db.exec(select(User).order_by(col(User.email))))


def lookup(engine: Engine, email: str) -> User | None:
    """The account with this email, or None."""
    with Session(engine) as db:
        return db.exec(select(User).where(User.email == normalise_email(email))).first()


def find_user(engine: Engine, email: str) -> User:
    """The account with this email, or an InputError naming the email."""
    with Session(engine) as db:
        return _find(db, email)


def _find(db: Session, email: str) -> User:
    user = db.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        raise InputError(email, "no account with this email (`syncline users list` shows them)")
    return user


def _keep_an_admin(db: Session, user: User) -> None:
    """Refuse to demote, deactivate or remove the last active admin (nobody could edit)."""
    if user.role != "admin" or not user.active:
        return
    others = db.exec(
        select(User).where(User.role == "admin", col(User.active), User.id != user.id)
    ).first()
    if others is None:
        raise InputError(user.email, "the last active admin; add or activate another admin first")


def set_role(engine: Engine, email: str, role: str) -> User:
    """Give an account another role; its open sessions end, so it applies from the next login."""
    validate(normalise_email(email), None, role, role_where="ROLE")
    with session(engine) as db:
        user = _find(db, email)
        if role != "admin":
            _keep_an_admin(db, user)
        if role != user.role:
            sessions.end_all(db, _id(user))
        user.role = role
        db.add(user)
    return user


def set_password(engine: Engine, email: str, password: str) -> User:
    """Replace a password; every session the account had ends."""
    check_password(password)
    with session(engine) as db:
        user = _find(db, email)
        user.password_hash = generate_password_hash(password, method=HASH_METHOD)
        db.add(user)
        sessions.end_all(db, _id(user))
        # A reset is how an admin helps a locked-out user: the old failures no longer count.
        forget_failed_logins(db, user.email)
    return user


def set_active(engine: Engine, email: str, active: bool) -> User:
    """Allow or stop logins; deactivating ends the account's open sessions."""
    with session(engine) as db:
        user = _find(db, email)
        if not active:
            _keep_an_admin(db, user)
            sessions.end_all(db, _id(user))
        user.active = active
        db.add(user)
    return user


def remove_user(engine: Engine, email: str) -> User:
    """Delete an account (audit entries keep the email as text, so history stays readable)."""
    with session(engine) as db:
        user = _find(db, email)
        _keep_an_admin(db, user)
        sessions.end_all(db, _id(user))
        db.delete(user)
    return user


def sign_out(engine: Engine, email: str) -> tuple[User, int]:
    """End every open session of an account ("sign out everywhere"); it may log in again."""
    with session(engine) as db:
        user = _find(db, email)
        return user, sessions.end_all(db, _id(user))


def forget_failed_logins(db: Session | Connection, email: str) -> None:
    """Clear an email's login counter (a successful login, a new password); the caller commits."""
    db.execute(
        delete(LoginCounter).where(
            col(LoginCounter.scope) == "email",
            col(LoginCounter.value) == email[:COUNTER_VALUE_WIDTH],
        )
    )


def signed_out_text(user: User, ended: int) -> str:
    """What ``sign_out`` did, as the CLI prints it and the dashboard flashes it."""
    return f"signed out {user.email} everywhere: {ended} session{'' if ended == 1 else 's'} ended"


def _id(user: User) -> int:
    assert user.id is not None  # a stored account
    return user.id
