"""SOQL for the Salesforce sandbox: `parse(text)` into a `Query`, `execute()` it over a source."""

from sandboxes.salesforce.errors import SalesforceError, SoqlError
from sandboxes.salesforce.soql.evaluate import QueryResult, execute
from sandboxes.salesforce.soql.fields import QuerySource
from sandboxes.salesforce.soql.parser import parse
from sandboxes.salesforce.soql.query import Query

__all__ = [
    "Query",
    "QueryResult",
    "QuerySource",
    "SalesforceError",
    "SoqlError",
    "execute",
    "parse",
]
