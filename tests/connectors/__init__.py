"""Tests of the connector layer: retry, HTTP client, connections file, memory connector."""
