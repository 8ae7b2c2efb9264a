"""The Salesforce connector (``type: salesforce``): simple-salesforce as transport, our own auth."""

from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
