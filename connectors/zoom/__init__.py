"""Zoom (API v2, webinars): a thin client; the connector over it comes with its mappings."""
