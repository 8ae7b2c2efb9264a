"""Touches with their UTM fields and natural key, opportunities with their CRM creation time,
and contact roles as rows of their own (``opportunity_contact_role``).

Contact roles were a JSON list on the opportunity that nothing filled. As rows they sync like
any hub object (each role links to its Salesforce OpportunityContactRole and resolves its
person through the contact's link), and a changed role bumps its own change sequence, which is
what tells attribution which opportunities to recompute.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOUCH_COLUMNS = (
    ("touch_type", 40),
    ("medium", 120),
    ("utm_campaign", 255),
    ("utm_content", 255),
    ("utm_term", 255),
    ("landing_page", 2000),
    ("origin", 40),
    ("natural_key", 64),
)


def upgrade() -> None:
    with op.batch_alter_table("touch") as batch:
        for name, length in TOUCH_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch.add_column(sa.Column("member_id", sa.String(length=32), nullable=True))
        batch.create_foreign_key("fk_touch_member_id", "campaign_member", ["member_id"], ["id"])
    op.create_index("ix_touch_natural_key", "touch", ["natural_key"], unique=True)
    op.create_index("ix_touch_campaign_id", "touch", ["campaign_id"])
    op.create_index("ix_touch_member_id", "touch", ["member_id"])

    with op.batch_alter_table("opportunity") as batch:
        batch.add_column(sa.Column("created_on", sa.DateTime(timezone=True), nullable=True))
        batch.drop_column("contact_roles")

    op.create_table(
        "opportunity_contact_role",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opportunity_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunity.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_opportunity_contact_role_change_seq", "opportunity_contact_role", ["change_seq"]
    )
    op.create_index(
        "ix_opportunity_contact_role_opportunity_id", "opportunity_contact_role",
        ["opportunity_id"],
    )
    op.create_index(
        "ix_opportunity_contact_role_person_id", "opportunity_contact_role", ["person_id"]
    )


def downgrade() -> None:
    op.drop_table("opportunity_contact_role")
    with op.batch_alter_table("opportunity") as batch:
        batch.add_column(
            sa.Column("contact_roles", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.drop_column("created_on")
    op.drop_index("ix_touch_member_id", table_name="touch")
    op.drop_index("ix_touch_campaign_id", table_name="touch")
    op.drop_index("ix_touch_natural_key", table_name="touch")
    with op.batch_alter_table("touch") as batch:
        batch.drop_constraint("fk_touch_member_id", type_="foreignkey")
        batch.drop_column("member_id")
        for name, _ in reversed(TOUCH_COLUMNS):
            batch.drop_column(name)
