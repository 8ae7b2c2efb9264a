"""Sandboxes: local emulators of the remote APIs Syncline talks to, with fault injection."""
