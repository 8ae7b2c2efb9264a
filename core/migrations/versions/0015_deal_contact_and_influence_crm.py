"""An opportunity's primary contact, and the CRM each campaign influence row belongs to.

Dynamics names a deal's main contact on the opportunity itself (``parentcontactid``) rather
than in a role row, and many orgs record no other stakeholder: attribution counts that
contact beside the contact roles. A credit row goes back only to the CRM that holds its
deal, so each row carries that CRM's connection name for the mappings' sync rules.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("opportunity") as batch:
        batch.add_column(sa.Column("primary_contact_id", sa.String(length=32), nullable=True))
        batch.create_foreign_key(
            "fk_opportunity_primary_contact_id", "person", ["primary_contact_id"], ["id"]
        )
    op.create_index("ix_opportunity_primary_contact_id", "opportunity", ["primary_contact_id"])
    with op.batch_alter_table("campaign_influence") as batch:
        batch.add_column(sa.Column("crm", sa.String(length=80), nullable=True))
    # Rows computed before this revision: their deal's link says which CRM holds it.
    op.execute(
        "UPDATE campaign_influence SET crm = (SELECT MAX(link.connection) FROM link "
        "WHERE link.hub_object = 'opportunity' AND link.hub_id = campaign_influence.opportunity_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("campaign_influence") as batch:
        batch.drop_column("crm")
    op.drop_index("ix_opportunity_primary_contact_id", table_name="opportunity")
    with op.batch_alter_table("opportunity") as batch:
        batch.drop_constraint("fk_opportunity_primary_contact_id", type_="foreignkey")
        batch.drop_column("primary_contact_id")
