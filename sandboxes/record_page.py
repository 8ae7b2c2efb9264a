"""A record's page as the CRM's web client shows it, for links such as "open in dynamics".

The sandboxes emulate APIs, not user interfaces; but the dashboard links each record to its
page in the CRM, and a newcomer clicking one in the demo should see the record rather than a
404. One plain HTML table of the record's fields, escaped, is all it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from flask import Response


def record_page(system: str, table: str, key: str, fields: Mapping[str, Any] | None) -> Response:
    """The record's fields as an HTML page, or a 404 page naming what was not found."""
    title = f"{escape(system)}: {escape(table)} {escape(key)}"
    if fields is None:
        body = f"<h1>{title}</h1><p>No such record (deleted, or never created).</p>"
        return Response(_page(title, body), status=404, mimetype="text/html")
    rows = "".join(
        f"<tr><th>{escape(str(name))}</th><td>{escape('' if v is None else str(v))}</td></tr>"
        for name, v in sorted(fields.items())
    )
    body = (f"<h1>{title}</h1><p>The sandbox's view of this record, as its API holds it.</p>"
            f"<table>{rows}</table>")
    return Response(_page(title, body), mimetype="text/html")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2rem}th{text-align:left;padding-right:1rem}"
            "</style></head>"
            f"<body>{body}</body></html>")
