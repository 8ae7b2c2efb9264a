"""Benchmarks: run by hand (``python -m bench.<name>``), never collected by pytest."""
