"""Due times on Person: ``score_due_at`` (decay next moves a rounded score) and
``stage_due_at`` (an ``idle_days`` lifecycle rule can next fire), each indexed; scoring's
bookkeeping ``scored_account_id`` (the account it last counted the person in) and
``scored_seq`` (the change sequence of its own last write); and an index on
``person.account_id`` (scoring reads the people of a page of accounts: without it, a scan of
every person per page).

The scoring and lifecycle hub steps add the people whose time has come to the people whose
facts changed, so time-driven changes need no full run.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, as 0018: batch mode would rebuild the person table, which SQLite
    # refuses while campaign members and touches name its rows.
    op.add_column("person", sa.Column("score_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("person", sa.Column("stage_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("person", sa.Column("scored_account_id", sa.String(length=32), nullable=True))
    op.add_column("person", sa.Column("scored_seq", sa.BigInteger(), nullable=True))
    op.create_index("ix_person_score_due_at", "person", ["score_due_at"])
    op.create_index("ix_person_stage_due_at", "person", ["stage_due_at"])
    op.create_index("ix_person_account_id", "person", ["account_id"])
    # The people already there have no due time yet: forgetting the two steps' cursors makes
    # their next run a full one, which sets everyone's.
    op.execute(
        "DELETE FROM sync_state WHERE direction = 'hub' "
        "AND mapping IN ('scoring:people', 'lifecycle:people')"
    )


def downgrade() -> None:
    op.drop_index("ix_person_account_id", table_name="person")
    op.drop_index("ix_person_stage_due_at", table_name="person")
    op.drop_index("ix_person_score_due_at", table_name="person")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("scored_seq")
        batch.drop_column("scored_account_id")
        batch.drop_column("stage_due_at")
        batch.drop_column("score_due_at")
