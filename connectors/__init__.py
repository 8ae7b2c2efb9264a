"""Connectors: one package per remote system behind one interface, looked up by type name."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from connectors.base import Connector
from connectors.errors import ConnectorError, ErrorKind

#: type name in the connections file → "module:Class". Imported lazily so a deployment that
#: only uses one CRM never imports the others' dependencies.
REGISTRY: dict[str, str] = {
    "memory": "connectors.memory:MemoryConnector",
    "salesforce": "connectors.salesforce:SalesforceConnector",
    "dynamics": "connectors.dynamics:DynamicsConnector",
    "zoom": "connectors.zoom:ZoomConnector",
    "webhook": "connectors.webhook:WebhookConnector",
}


def connector_class(type_name: str) -> type[Connector]:
    """Resolve a connector type name to its class, or raise CONFIG naming the known types."""
    target = REGISTRY.get(type_name)
    if target is None:
        known = ", ".join(sorted(REGISTRY))
        raise ConnectorError(
            ErrorKind.CONFIG, f"unknown connector type {type_name!r} (known: {known})"
        )
    module_name, _, class_name = target.partition(":")
    cls: type[Connector] = getattr(import_module(module_name), class_name)
    return cls


def build_connector(name: str, config: Mapping[str, Any]) -> Connector:
    """Instantiate the connector for one entry of the connections file."""
    return connector_class(str(config.get("type", "")))(name, config)
