"""Zoom (API v2, webinars): the ``type: zoom`` connector and its thin client."""

from connectors.zoom.connector import ZoomConnector

__all__ = ["ZoomConnector"]
