"""``syncline hooks send|replay|list``: test a webhook source, replay a stored request, list them.

``send`` signs a JSON file as the source's sender would (its scheme and first secret) and
posts it to the running ``syncline web``: what an admin does to try a form before the site
sends real ones. ``replay`` makes a failed request's errors due and runs its mappings now.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

import click
import requests
from sqlmodel import col, select

from cli.context import App, pass_app
from connectors.webhook.settings import WebhookConnection
from core.clock import utc_text
from core.db import session
from core.errors import InputError
from core.models import InboundEvent
from core.redaction import redact
from inbound import replay as replays
from inbound.progress import progress, readers
from inbound.signatures import sign
from jobs.engine import run_mapping

#: Where ``syncline web`` listens by default (its --host and --port).
DEFAULT_URL = "http://127.0.0.1:5000"


@click.group("hooks")
def hooks() -> None:
    """Webhook sources: send a signed test request, replay a stored one, list them."""


def _source(app: App, name: str) -> WebhookConnection:
    connections = app.connections
    if name not in connections or connections.get(name).get("type") != "webhook":
        webhook = [n for n in connections if connections.get(n).get("type") == "webhook"]
        raise InputError(connections.where(), f"no webhook source named {name!r} "
                         f"(webhook sources: {', '.join(webhook) or 'none'})")
    checked = connections.check(name)
    assert isinstance(checked, WebhookConnection)
    return checked


@hooks.command("send")
@click.argument("source")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", default=DEFAULT_URL, show_default=True, envvar="SYNCLINE_WEB_URL",
              help="The running `syncline web` (its --host and --port).")
@pass_app
def send(app: App, source: str, file: Path, url: str) -> None:
    """Sign FILE (a JSON object) as SOURCE's sender would and post it to /hooks/SOURCE."""
    settings = _source(app, source)
    if not file.exists():
        raise InputError(str(file), "file not found")
    body = file.read_bytes()
    try:
        if not isinstance(json.loads(body), dict):
            raise InputError(str(file), "expected a JSON object")
    except ValueError:
        raise InputError(str(file), "not JSON") from None
    headers = sign(settings.scheme, settings.all_secrets[0], body,
                   event_id=f"msg_{secrets.token_hex(12)}", timestamp=int(time.time()),
                   header=settings.signature_header)
    target = f"{url.rstrip('/')}/hooks/{source}"
    try:
        answer = requests.post(target, data=body, timeout=30,
                               headers={**headers, "Content-Type": "application/json"})
    except requests.RequestException as exc:
        click.echo(f"error: cannot reach {target}: {type(exc).__name__} (is `syncline web` "
                   "running there?)", err=True)
        sys.exit(1)
    click.echo(f"{answer.status_code} {redact(answer.text.strip())}")
    if answer.status_code not in (200, 202):
        try:
            reason = answer.json().get("error", answer.reason)
        except ValueError:
            reason = answer.reason
        click.echo(f"error: refused: {redact(str(reason))}", err=True)
        sys.exit(1)


@hooks.command("replay")
@click.argument("inbox_id", metavar="ID", type=int)
@pass_app
def replay(app: App, inbox_id: int) -> None:
    """Make stored request ID's errors due now and run its mappings once; print the outcome."""
    ctx = app.sync_context()
    queued = replays.prepare(app.engine, ctx.mappings, inbox_id, "cli")
    for name in queued.mappings:
        report = run_mapping(ctx, name, trigger="retry")
        click.echo(f"{name}: {report.status}" + (f" — {report.message}" if report.message else ""))
    found = replays.outcome(app.engine, queued)
    click.echo(f"request {inbox_id} ({queued.source}): {found.state}")
    for message in found.messages:
        click.echo(f"  {redact(message)}")
    if found.state != "processed":
        sys.exit(1)


@hooks.command("list")
@click.argument("source", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_app
def list_command(app: App, source: str | None, limit: int, as_json: bool) -> None:
    """The latest stored requests (of SOURCE), newest first, with where each stands."""
    if source is not None:
        _source(app, source)
    mappings = app.mappings
    with session(app.engine) as db:
        query = select(InboundEvent).order_by(col(InboundEvent.id).desc()).limit(limit)
        if source is not None:
            query = query.where(InboundEvent.source == source)
        rows = db.exec(query).all()
        states = {name: progress(db, readers(mappings, name)) for name in {r.source for r in rows}}
    for row in rows:
        assert row.id is not None
        state = states[row.source].state(row.id)
        if as_json:
            click.echo(json.dumps({"id": row.id, "source": row.source, "event_id": row.event_id,
                                   "received_at": row.received_at.isoformat(), "state": state}))
        else:
            click.echo(f"{row.id:>8}  {utc_text(row.received_at)}  {row.source}  {state}")


def register(group: click.Group) -> None:
    """Add the ``hooks`` group to the main group."""
    group.add_command(hooks)
