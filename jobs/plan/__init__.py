"""The sync engine's pure planning: decisions from values already fetched, no I/O."""
