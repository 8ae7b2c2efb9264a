"""Alerts: rules over runs, errors and API usage, sent once per start and end to email or chat.

``rules`` reads and checks ``mappings/alerts.yaml``; ``conditions`` measures each rule kind in
the database; ``state`` remembers what holds and who was told; ``channels`` delivers;
``evaluate`` ties them together for the scheduler.
"""
