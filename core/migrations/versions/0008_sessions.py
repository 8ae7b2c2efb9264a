"""Server-side dashboard sessions (dashboard_session) and one login counter per email and per
client address (login_counter) in place of one row per failed login (login_attempt).

The failures recorded so far become counters whose window starts at their oldest failure, so
a lockout in progress at the upgrade still holds.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["dashboard_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_dashboard_session_user_id", "dashboard_session", ["user_id"])
    op.create_table(
        "login_counter",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "value"),
    )
    op.create_index("ix_login_counter_window_start", "login_counter", ["window_start"])
    for scope in ("email", "address"):
        op.execute(
            "INSERT INTO login_counter (scope, value, window_start, attempts) "
            f"SELECT '{scope}', {scope}, MIN(at), COUNT(*) FROM login_attempt GROUP BY {scope}"
        )
    op.drop_index("ix_login_attempt_address_at", table_name="login_attempt")
    op.drop_index("ix_login_attempt_email_at", table_name="login_attempt")
    op.drop_table("login_attempt")


def downgrade() -> None:
    # The counters cannot be split back into single failures: the old table starts empty.
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempt_email_at", "login_attempt", ["email", "at"])
    op.create_index("ix_login_attempt_address_at", "login_attempt", ["address", "at"])
    op.drop_index("ix_login_counter_window_start", table_name="login_counter")
    op.drop_table("login_counter")
    op.drop_index("ix_dashboard_session_user_id", table_name="dashboard_session")
    op.drop_table("dashboard_session")
