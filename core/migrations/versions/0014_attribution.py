"""Attribution results (credit per opportunity × touch × model, per-opportunity state, the
people and change sequence they were computed from) and ``campaign_influence``, the hub object
a mapping writes to Salesforce CampaignInfluence.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attribution_credit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("touch_id", sa.String(length=32), nullable=True),
        sa.Column("positions", sa.String(length=40), nullable=False),
        sa.Column("share", sa.String(length=80), nullable=False),
        sa.Column("credit", sa.Numeric(20, 18), nullable=False),
        sa.Column("revenue", sa.Numeric(18, 2), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_attribution_credit_opportunity", "attribution_credit", ["opportunity_id", "model"]
    )
    op.create_index("ix_attribution_credit_model", "attribution_credit", ["model"])
    op.create_index("ix_attribution_credit_touch", "attribution_credit", ["touch_id"])

    op.create_table(
        "attribution_result",
        sa.Column("opportunity_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("unattributed", sa.Boolean(), nullable=False),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", "model"),
    )
    op.create_table(
        "attribution_person",
        sa.Column("opportunity_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", "person_id"),
    )
    op.create_index("ix_attribution_person_person_id", "attribution_person", ["person_id"])
    op.create_table(
        "attribution_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )

    op.create_table(
        "campaign_influence",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opportunity_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("influence", sa.Float(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunity.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "opportunity_id", "campaign_id", "person_id", "model", name="uq_campaign_influence"
        ),
    )
    for column in ("change_seq", "opportunity_id", "campaign_id", "person_id"):
        op.create_index(f"ix_campaign_influence_{column}", "campaign_influence", [column])


def downgrade() -> None:
    op.drop_table("campaign_influence")
    op.drop_table("attribution_cursor")
    op.drop_index("ix_attribution_person_person_id", table_name="attribution_person")
    op.drop_table("attribution_person")
    op.drop_table("attribution_result")
    op.drop_index("ix_attribution_credit_touch", table_name="attribution_credit")
    op.drop_index("ix_attribution_credit_model", table_name="attribution_credit")
    op.drop_index("ix_attribution_credit_opportunity", table_name="attribution_credit")
    op.drop_table("attribution_credit")
