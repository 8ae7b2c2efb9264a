"""Mapping files (YAML) and the Python that loads, validates and applies them."""
