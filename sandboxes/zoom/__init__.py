"""A local emulator of the Zoom API v2 (webinars, registrants, reports) for demos and tests."""
