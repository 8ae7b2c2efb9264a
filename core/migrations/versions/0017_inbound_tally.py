"""Inbound counts (``inbound_tally``): requests per webhook source, hour and outcome.

The dashboard's Inbound page shows what each source sent and why any was refused; one row per
(source, hour, outcome), counted up with an upsert so concurrent requests never lose a count.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_tally",
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "hour", "outcome"),
    )


def downgrade() -> None:
    op.drop_table("inbound_tally")
