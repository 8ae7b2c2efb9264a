"""Webhook sources (``type: webhook``): the inbox of signed requests, read as a remote object."""

from __future__ import annotations

from connectors.webhook.connector import OBJECT, WebhookConnector
from connectors.webhook.settings import WebhookConnection

__all__ = ["OBJECT", "WebhookConnection", "WebhookConnector"]
