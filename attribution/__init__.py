"""Multi-touch attribution (design note to follow)."""
