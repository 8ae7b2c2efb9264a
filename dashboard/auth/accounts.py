"""Creating users and checking passwords; shared by ``syncline users`` and the login form."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import session, utcnow
from core.errors import InputError
from core.models import ROLES, User

MIN_PASSWORD_LENGTH = 12
#: Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("syncline-timing-equaliser")


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def validate(email: str, password: str | None, role: str) -> None:
    """Raise InputError naming the bad part of a new account."""
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InputError("email", f"{email!r} is not an email address")
    if role not in ROLES:
        raise InputError("--role", f"{role!r} is not a role; choose one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")


def add_user(engine: Engine, email: str, password: str, role: str) -> User:
    """Create an account; the password is kept only as a salted scrypt hash."""
    email = normalise_email(email)
    validate(email, password, role)
    with session(engine) as db:
        if db.exec(select(User).where(User.email == email)).first() is not None:
            raise InputError("email", f"{email} already has an account")
        user = User(
            email=email,
            password_hash=generate_password_hash(password),
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
