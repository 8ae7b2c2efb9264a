"""End-to-end tests: the sync engine, the shipped mappings and the real connectors on sandboxes."""
