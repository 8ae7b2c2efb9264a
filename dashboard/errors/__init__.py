"""Errors: find, group, inspect, act on and export sync errors."""
