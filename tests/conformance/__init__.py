"""The connector conformance suite (a base class each connector's tests subclass)."""
