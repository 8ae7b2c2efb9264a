"""Tests of the Zoom sandbox, through HTTP as a client sees it."""
