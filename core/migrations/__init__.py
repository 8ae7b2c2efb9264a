"""Alembic migrations of the Syncline schema (run by core.db.init_db, no alembic.ini)."""
