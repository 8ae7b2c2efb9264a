"""Errors pages over a million rows: newest first, one mapping's newest, errors by cause.

``ix_sync_error_newest`` replaces ``ix_sync_error_last_seen`` (its leading column, so every
query the old one served it serves too). Measured with ``bench/dashboard_pages.py``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CAUSE = ["mapping", "direction", "level", "kind", "code", "field", "status", "last_seen", "id"]


def upgrade() -> None:
    op.create_index("ix_sync_error_newest", "sync_error", ["last_seen", "id", "status"])
    op.create_index(
        "ix_sync_error_mapping_newest", "sync_error", ["mapping", "last_seen", "id", "status"]
    )
    op.create_index("ix_sync_error_cause", "sync_error", CAUSE)
    op.drop_index("ix_sync_error_last_seen", table_name="sync_error")


def downgrade() -> None:
    op.create_index("ix_sync_error_last_seen", "sync_error", ["last_seen"])
    op.drop_index("ix_sync_error_cause", table_name="sync_error")
    op.drop_index("ix_sync_error_mapping_newest", table_name="sync_error")
    op.drop_index("ix_sync_error_newest", table_name="sync_error")
