"""Automation core: the hub tables, database, change sequence and hub schema."""
