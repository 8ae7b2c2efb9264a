"""The web dashboard: a Flask blueprint with server-rendered pages over runs and errors."""
