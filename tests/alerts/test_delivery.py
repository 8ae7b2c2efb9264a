"""Firing semantics end to end: a real SMTP server and HTTP receiver, a real database.

An alert fires once when its condition starts, once when it ends, never while it holds, not
again after a restart; a failed send is logged once without secrets and retried next time.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from alerts.evaluate import Notification, alert_job, evaluate_alerts
from alerts.rules import AlertRules, alerts_path, parse_alerts
from core.clock import utcnow
from core.db import make_engine, session
from core.models import AlertState, SyncRun
from jobs.engine import SyncContext
from jobs.live import LiveConfig
from tests.alerts.conftest import Mailbox, Receiver, at, free_port
from tests.cli.helpers import CONNECTIONS, LEAD_MAPPING, SHIPPED_MAPPINGS

AddRun = Callable[..., Any]

FAILURE = "[auth INVALID_LOGIN] authentication failure"


def rules_for(mailbox: Mailbox, receiver: Receiver, *, url: str | None = None) -> AlertRules:
    text = f"""\
dashboard_url: http://127.0.0.1:5000
channels:
  mail:
    type: email
    host: {mailbox.host}
    port: {mailbox.port}
    starttls: false
    from: syncline@example.com
    to: [ops@example.com, sales-ops@example.com]
  chat: {{type: webhook, url: "{url or receiver.url}", timeout: 5}}
rules:
  - {{name: failing-runs, condition: failing_runs, runs: 3, channels: [mail, chat]}}
  - {{name: braked, condition: braked}}
"""
    return parse_alerts(text, "mappings/alerts.yaml", env={})


def fail_three_times(add_run: AddRun) -> None:
    for minute in range(3):
        add_run("crm-lead", "failed", minute, message=FAILURE)


def body_of(email: Any) -> str:
    """The text an admin reads (SMTP carries CRLF line ends)."""
    return str(email.get_payload(decode=True).decode()).replace("\r\n", "\n")


def sent(notifications: list[Notification]) -> list[tuple[str, str, bool]]:
    return [(n.channel, n.message.state, n.delivered) for n in notifications]


FIRING_BODY = """\
Firing since 2026-03-01 09:04:00 UTC.

crm-lead failed its last 3 runs in a row; the latest, started 2026-03-01 09:02:00 UTC, \
said: [auth INVALID_LOGIN] authentication failure

Rule: failing-runs (failing_runs)
Subject: crm-lead
Dashboard: http://127.0.0.1:5000/runs?mapping=crm-lead

--\x20
You get one message when an alert starts and one when it ends, never a repeat while it \
lasts; the dashboard's overview lists the alerts that hold right now.
"""

#: The resolved message differs in its first lines only: rule, subject, link and footer repeat.
RESOLVED_BODY = (
    "Resolved at 2026-03-01 09:31:00 UTC, after 27 min (began 2026-03-01 09:04:00 UTC).\n\n"
    "crm-lead's latest run ended success; this rule fires when 3 runs in a row fail."
    + FIRING_BODY[FIRING_BODY.index("\n\nRule:"):]
)


def test_an_alert_fires_once_resolves_once_and_survives_a_restart(
    engine: Engine, add_run: AddRun, smtp_server: Mailbox, webhook: Receiver
) -> None:
    rules = rules_for(smtp_server, webhook)
    fail_three_times(add_run)

    assert sent(evaluate_alerts(engine, rules, at(4))) == [
        ("mail", "firing", True), ("chat", "firing", True)]
    [email] = smtp_server.messages
    assert email["Subject"] == "[Syncline] ALERT failing-runs: crm-lead"
    assert email["From"] == "syncline@example.com"
    assert email["To"] == "ops@example.com, sales-ops@example.com"
    assert body_of(email) == FIRING_BODY
    assert smtp_server.envelopes == [
        ("syncline@example.com", ["ops@example.com", "sales-ops@example.com"])]
    [(path, body)] = webhook.posts
    assert path == "/services/T0001/B0002/tok3n5ecret"
    assert body["text"] == (
        "[Syncline] ALERT failing-runs: crm-lead\nFiring since 2026-03-01 09:04:00 UTC.\n"
        "crm-lead failed its last 3 runs in a row; the latest, started 2026-03-01 09:02:00 UTC, "
        f"said: {FAILURE}\nhttp://127.0.0.1:5000/runs?mapping=crm-lead"
    )
    assert body["syncline"] | {"message": "..."} == {
        "state": "firing", "rule": "failing-runs", "condition": "failing_runs",
        "subject": "crm-lead", "message": "...", "since": "2026-03-01T09:04:00+00:00",
        "at": "2026-03-01T09:04:00+00:00", "value": 3.0,
        "link": "http://127.0.0.1:5000/runs?mapping=crm-lead",
    }

    # While it holds: nothing more, however often it is evaluated and however it changes.
    add_run("crm-lead", "failed", 5, message="[transient] 503 Service Unavailable")
    for minute in (5, 6, 10):
        assert evaluate_alerts(engine, rules, at(minute)) == []

    # A restarted scheduler (a new process: a new engine on the same database) stays quiet.
    restarted = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert evaluate_alerts(restarted, rules, at(20)) == []
        add_run("crm-lead", "success", 30)
        assert sent(evaluate_alerts(restarted, rules, at(31))) == [
            ("mail", "resolved", True), ("chat", "resolved", True)]
    finally:
        restarted.dispose()
    assert len(smtp_server.messages) == 2 and len(webhook.posts) == 2
    resolved = smtp_server.messages[1]
    assert resolved["Subject"] == "[Syncline] RESOLVED failing-runs: crm-lead"
    assert body_of(resolved) == RESOLVED_BODY
    assert webhook.posts[1][1]["syncline"]["state"] == "resolved"

    # Ended: nothing more either, until it starts again.
    assert evaluate_alerts(engine, rules, at(32)) == []
    fail_later = [40, 41, 42]
    for minute in fail_later:
        add_run("crm-lead", "failed", minute, message=FAILURE)
    assert sent(evaluate_alerts(engine, rules, at(43))) == [
        ("mail", "firing", True), ("chat", "firing", True)]
    assert len(smtp_server.messages) == 3


def test_a_failed_send_is_logged_without_secrets_and_retried_next_time(
    engine: Engine, add_run: AddRun, smtp_server: Mailbox, webhook: Receiver,
    log_lines: io.StringIO,
) -> None:
    rules = rules_for(smtp_server, webhook)
    fail_three_times(add_run)
    webhook.status = 500  # Slack answering an error
    assert sent(evaluate_alerts(engine, rules, at(4))) == [
        ("mail", "firing", True), ("chat", "firing", False)]
    failures = [line for line in log_lines.getvalue().splitlines() if "alert.send_failed" in line]
    assert len(failures) == 1
    assert "rule=failing-runs subject=crm-lead state=firing channel=chat" in failures[0]
    assert 'error="http://127.0.0.1:' in failures[0]
    assert "answered HTTP 500: invalid_token" in failures[0]
    assert "tok3n5ecret" not in log_lines.getvalue()

    webhook.status = 200
    assert sent(evaluate_alerts(engine, rules, at(5))) == [("chat", "firing", True)]
    assert len(smtp_server.messages) == 1  # email was not sent twice
    assert [body["syncline"]["since"] for _, body in webhook.posts] == [
        "2026-03-01T09:04:00+00:00", "2026-03-01T09:04:00+00:00"]
    with session(engine) as db:
        row = db.exec(select(AlertState).where(AlertState.rule == "failing-runs")).one()
    assert row.delivered == {"mail": "firing", "chat": "firing"}


def test_an_unreachable_webhook_is_logged_without_its_token(
    engine: Engine, add_run: AddRun, smtp_server: Mailbox, webhook: Receiver,
    log_lines: io.StringIO,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/services/T0001/B0002/s3cr3tT0ken"
    rules = rules_for(smtp_server, webhook, url=closed)
    fail_three_times(add_run)
    [_, chat] = evaluate_alerts(engine, rules, at(4))
    assert not chat.delivered and "ConnectionError" in (chat.error or "")
    assert "s3cr3tT0ken" not in log_lines.getvalue()
    assert "s3cr3tT0ken" not in (chat.error or "")


def test_an_alert_that_ends_before_anyone_was_told_sends_nothing(
    engine: Engine, add_run: AddRun, smtp_server: Mailbox, webhook: Receiver
) -> None:
    rules = rules_for(smtp_server, webhook)
    fail_three_times(add_run)
    webhook.status = 503
    smtp_server.port = free_port()  # the relay is down too
    rules_down = rules_for(smtp_server, webhook)
    assert sent(evaluate_alerts(engine, rules_down, at(4))) == [
        ("mail", "firing", False), ("chat", "firing", False)]
    add_run("crm-lead", "success", 5)
    webhook.status = 200
    assert evaluate_alerts(engine, rules, at(6)) == []  # no "resolved" for an unannounced alert
    assert webhook.posts == [webhook.posts[0]]  # only the refused first attempt


def test_a_rule_without_channels_still_holds_and_a_removed_rule_is_forgotten(
    engine: Engine, add_run: AddRun, smtp_server: Mailbox, webhook: Receiver
) -> None:
    add_run("crm-lead", "braked", 0, message="would delete 40 of 200 linked records")
    rules = rules_for(smtp_server, webhook)
    assert evaluate_alerts(engine, rules, at(1)) == []  # the braked rule has no channel
    with session(engine) as db:
        rows = db.exec(select(AlertState).where(AlertState.active)).all()
    assert [(row.rule, row.subject) for row in rows] == [("braked", "crm-lead")]
    only_failing = AlertRules(rules.source, rules.rules[:1], rules.channels)
    evaluate_alerts(engine, only_failing, at(2))
    with session(engine) as db:
        assert {row.rule for row in db.exec(select(AlertState))} == {"failing-runs"}


def context(engine: Engine, **mappings: bool) -> SyncContext:
    loaded = {name: SimpleNamespace(enabled=on) for name, on in mappings.items()}
    return SyncContext(engine, loaded, None, lambda name: None)  # type: ignore[arg-type]


def test_alert_job_reads_the_file_each_time(
    engine: Engine, add_run: AddRun, tmp_path: Path, log_lines: io.StringIO
) -> None:
    path = tmp_path / "alerts.yaml"
    ctx = context(engine, **{"crm-lead": True, "old-mapping": False})
    assert alert_job(ctx, path) == []  # no file: no alerts
    path.write_text("rules:\n  - {name: stale, condition: stale, after: 1h, channels: [x]}\n")
    assert alert_job(ctx, path) == []
    assert ("event=alerts.invalid problems=\"alerts.yaml:2 rules.stale.channels[0]: no channel "
            "named 'x' (known: none)\"") in log_lines.getvalue().replace(str(tmp_path) + "/", "")
    path.write_text("rules:\n  - {name: stale, condition: stale, after: 1h}\n")
    add_run("old-mapping", "success", 0)
    assert alert_job(ctx, path) == []
    with session(engine) as db:
        watched = {row.subject for row in db.exec(select(AlertState))}
    assert watched == {"crm-lead"}  # enabled mappings only


def test_the_scheduler_context_keeps_watching_a_mapping_whose_file_broke(
    engine: Engine, tmp_path: Path, smtp_server: Mailbox
) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(SHIPPED_MAPPINGS / "hub.yaml", folder / "hub.yaml")
    (folder / "lead.yaml").write_text(LEAD_MAPPING)
    connections = tmp_path / "connections.yaml"
    connections.write_text(CONNECTIONS)
    alerts_path(folder).write_text(
        "channels:\n"
        f"  mail: {{type: email, host: 127.0.0.1, port: {smtp_server.port}, starttls: false,"
        " from: syncline@example.com, to: ops@example.com}\n"
        "rules:\n  - {name: stale, condition: stale, after: 1h, channels: [mail]}\n"
    )
    live = LiveConfig(engine, folder, connections)
    with session(engine) as db:  # the job evaluates at the real now
        db.add(SyncRun(mapping="lead", status="success", started_at=utcnow(),
                       finished_at=utcnow()))

    def tick() -> list[Notification]:
        snapshot = live.snapshot()
        return alert_job(snapshot.ctx, alerts_path(folder), stopped=snapshot.workspace.stopped)

    assert tick() == []
    (folder / "lead.yaml").write_text(LEAD_MAPPING.replace("direction: both", "direction: up"))
    assert "lead" in live.snapshot().workspace.stopped
    with session(engine) as db:  # two hours later, as far as the database can tell
        run = db.exec(select(SyncRun)).one()
        run.finished_at -= timedelta(hours=2)
        run.started_at -= timedelta(hours=2)
        db.add(run)
    [notification] = tick()
    assert notification.delivered and notification.message.subject == "lead"
    assert smtp_server.messages[0]["Subject"] == "[Syncline] ALERT stale: lead"
