"""``syncline alerts check`` and ``syncline alerts test``: what an admin sees, and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.alerts.conftest import Mailbox, Receiver
from tests.cli.conftest import Invoke
from tests.cli.helpers import SHIPPED_MAPPINGS


def write_alerts(project: Path, text: str) -> Path:
    path = project / "mappings" / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_summarises_a_good_file(syncline: Invoke, project: Path) -> None:
    shutil.copy(SHIPPED_MAPPINGS / "alerts.yaml", project / "mappings" / "alerts.yaml")
    result = syncline("alerts", "check")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ok       mappings/alerts.yaml: 7 rules, 2 channels"
    assert "  channel off ops-chat: webhook (no url set)" in lines
    assert ("  rule    errors-rising: when open errors rise by 10 within 15 min → ops-email, "
            "ops-chat") in lines
    assert result.stderr == ""


def test_check_reports_every_problem_with_file_and_line(syncline: Invoke, project: Path) -> None:
    write_alerts(project, (
        "rules:\n"
        "  - {name: failing, condition: failing_runs, runs: 3, mapping: leed}\n"
        "  - {name: api, condition: api_usage, above: 90%, connection: crn}\n"
        "  - {name: stale, condition: stale, after: 2 hours}\n"
    ))
    result = syncline("alerts", "check")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: mappings/alerts.yaml:2 rules.failing.mapping: no mapping named 'leed' "
        "(known: lead)",
        "error: mappings/alerts.yaml:3 rules.api.connection: no connection named 'crn' "
        "(known: crm)",
        "error: mappings/alerts.yaml:4 rules.stale.after: '2 hours' is not a duration: use "
        "90s, 15m, 2h, 1h30m or 1d",
    ]


def test_check_without_a_file_says_so(syncline: Invoke, project: Path) -> None:
    result = syncline("alerts", "check")
    assert result.exit_code == 2
    assert result.stderr == "error: mappings/alerts.yaml: file not found\n"


def test_test_sends_to_every_enabled_channel(
    syncline: Invoke, project: Path, smtp_server: Mailbox, webhook: Receiver
) -> None:
    write_alerts(project, (
        "channels:\n"
        f"  mail: {{type: email, host: 127.0.0.1, port: {smtp_server.port}, starttls: false,"
        " from: syncline@example.com, to: ops@example.com}\n"
        f"  chat: {{type: webhook, url: '{webhook.url}'}}\n"
        "  muted: {type: webhook, enabled: false}\n"
    ))
    result = syncline("alerts", "test")
    assert result.exit_code == 0, result.output
    port = webhook.url.split(":")[2].split("/")[0]
    assert result.stdout.splitlines() == [
        f"sent     mail: email to ops@example.com via 127.0.0.1:{smtp_server.port} (no TLS)",
        f"sent     chat: webhook to http://127.0.0.1:{port}",
    ]
    assert [m["Subject"] for m in smtp_server.messages] == ["[Syncline] Test message for mail"]
    assert len(webhook.posts) == 1

    result = syncline("alerts", "test", "chat")
    assert result.exit_code == 0 and len(webhook.posts) == 2 and len(smtp_server.messages) == 1

    result = syncline("alerts", "test", "muted")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: mappings/alerts.yaml channels.muted.enabled: the channel is disabled: enable it "
        "(or the variable its enabled: reads) to test it\n"
    )
    result = syncline("alerts", "test", "pager")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: mappings/alerts.yaml: no channel named 'pager' (known: mail, chat, muted)\n"
    )


def test_test_exits_1_when_a_channel_refuses(
    syncline: Invoke, project: Path, webhook: Receiver
) -> None:
    write_alerts(project, f"channels:\n  chat: {{type: webhook, url: '{webhook.url}'}}\n")
    webhook.status = 404
    result = syncline("alerts", "test")
    assert result.exit_code == 1
    assert "failed   chat: http://127.0.0.1:" in result.stderr
    assert "answered HTTP 404: invalid_token" in result.stderr
    assert "tok3n5ecret" not in result.output
