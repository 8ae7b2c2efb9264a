"""Lifecycle stages and automatic qualification (AQL): the file, its loader and a pure engine."""
