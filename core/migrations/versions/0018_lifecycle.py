"""Lifecycle stages and automatic qualification: Person's ``aql``, ``aql_at`` and
``stage_entered_at``, and ``lifecycle_history`` (one row per stage change, with its rule).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows already there (not null); the models set values themselves.
    # Plain ADD COLUMN, which SQLite takes as it is: batch mode would rebuild the person table,
    # and dropping the old one fails while campaign members and touches name its rows.
    op.add_column("person", sa.Column("stage_entered_at", sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
    op.add_column("person", sa.Column("aql", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column("person", sa.Column("aql_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "lifecycle_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=True),
        sa.Column("to_stage", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lifecycle_history_person_at", "lifecycle_history", ["person_id", "at"])
    op.create_index("ix_lifecycle_history_at", "lifecycle_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_lifecycle_history_at", table_name="lifecycle_history")
    op.drop_index("ix_lifecycle_history_person_at", table_name="lifecycle_history")
    op.drop_table("lifecycle_history")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("aql_at")
        batch.drop_column("aql")
        batch.drop_column("stage_entered_at")
