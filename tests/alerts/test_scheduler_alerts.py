"""The running scheduler evaluates the alert rules and mails the admin when trouble starts."""

from __future__ import annotations

from pathlib import Path

from tests.alerts.conftest import Mailbox
from tests.jobs.harness import mapping
from tests.processes import Installation, wait_until

ALERTS = """\
dashboard_url: http://dash.example.com
channels:
  ops-email:
    type: email
    host: 127.0.0.1
    port: {port}
    starttls: false
    from: syncline@example.com
    to: ops@example.com
rules:
  - name: failing-runs
    condition: failing_runs
    runs: 1
    channels: [ops-email]
"""


def test_the_scheduler_mails_an_alert_when_a_mapping_starts_failing(
    tmp_path: Path, smtp_server: Mailbox
) -> None:
    crm = {"type": "memory", "path": str(tmp_path / "crm.json"),
           "faults": {"transient_rate": 1.0}, "retry": {"max_tries": 1}}
    inst = Installation(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", {"crm": crm},
                        {"crm-person": mapping(schedule="10s")})
    (inst.mappings_dir / "alerts.yaml").write_text(ALERTS.format(port=smtp_server.port))
    assert inst.run("init").returncode == 0
    scheduler = inst.start("scheduler")
    try:
        [message] = wait_until(lambda: list(smtp_server.messages), 60, "the alert email")
        scheduler.signal(15)
        assert scheduler.wait(timeout=20) == 0
    finally:
        scheduler.stop()
    assert message["Subject"] == "[Syncline] ALERT failing-runs: crm-person"
    body = message.get_payload(decode=True).decode()
    assert "crm-person failed its last 1 run" in body, body
    assert "http://dash.example.com/runs?mapping=crm-person" in body
    assert inst.query("SELECT rule, active FROM alert_state")[0][1] in (1, True)
