"""The sync engine, the scheduler and the periodic jobs around it."""
