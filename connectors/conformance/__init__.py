"""The connector conformance suite, for every connector, in this repository or outside it.

A connector's tests subclass one class and provide two fixtures (the connector, and a
RemoteControl on the remote behind it)::

    from connectors.conformance import ConnectorConformance

    class TestAcmeConformance(ConnectorConformance):
        ...

It needs pytest (``pip install 'syncline[test]'``). Nothing here is collected as a test by
itself: only a ``Test...`` subclass in a test module is.
"""

from connectors.conformance.remote import RemoteControl
from connectors.conformance.suite import ConnectorConformance, changes_of, read_all

__all__ = ["ConnectorConformance", "RemoteControl", "changes_of", "read_all"]
