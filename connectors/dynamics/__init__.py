"""The Dynamics 365 / Dataverse connector (``type: dynamics``): Web API v9.2 over requests."""

from connectors.dynamics.connector import DynamicsConnector

__all__ = ["DynamicsConnector"]
