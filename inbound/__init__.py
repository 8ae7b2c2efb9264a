"""Inbound webhooks: signed requests from martech tools and the website, stored first.

Named ``inbound`` rather than ``hooks``: ``bench/hooks.py`` (the webhook benchmark) would
shadow a ``hooks`` package for a bench run as a script.
"""
