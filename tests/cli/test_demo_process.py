"""``syncline demo`` as a process: stopping it stops everything it started.

SIGTERM (a service manager, ``kill``) and Ctrl+C (SIGINT to the whole process group) both stop
the dashboard, the scheduler child and the sandboxes; a scheduler whose parent was killed with
SIGKILL notices and stops by itself. No child survives.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.cli.helpers import SHIPPED_MAPPINGS
from tests.processes import ROOT, Running, wait_until


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl+C", "SIGINT to a background job"])
def test_stopping_the_demo_stops_the_scheduler_and_the_sandboxes(
    tmp_path: Path, how: str
) -> None:
    shutil.copytree(SHIPPED_MAPPINGS, tmp_path / "mappings", ignore=shutil.ignore_patterns("*.py"))
    sf, dyn, web = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "DEMO_SALESFORCE_URL": f"http://127.0.0.1:{sf}",
        "DEMO_DYNAMICS_URL": f"http://127.0.0.1:{dyn}",
        "SYNCLINE_DEMO_PASSWORD": "demo-password-123",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--port", str(web)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
        # A script's `make demo &` starts it with SIGINT ignored.
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if how == "SIGINT to a background job" else None,
    )
    demo = Running(process)
    try:
        match = demo.wait_for_line(r"scheduler running \(pid (\d+)\)", timeout=240)
        scheduler = int(match.group(1))
        wait_until(lambda: _answers(f"http://127.0.0.1:{web}/healthz"), 30, "the dashboard")
        assert alive(scheduler)
        assert _answers(f"http://127.0.0.1:{sf}/services/data/")

        if how == "SIGTERM":
            demo.signal(signal.SIGTERM)
        else:  # Ctrl+C in a terminal: SIGINT to every process of the foreground group
            os.killpg(process.pid, signal.SIGINT)
        code = demo.wait(timeout=60)
    finally:
        demo.stop()

    assert code == 0, demo.text()
    assert not alive(scheduler), "the scheduler must not outlive the demo"
    assert not _answers(f"http://127.0.0.1:{sf}/services/data/"), "nor the Salesforce sandbox"
    assert not _answers(f"http://127.0.0.1:{dyn}/api/data/v9.2/"), "nor the Dataverse sandbox"
    assert "demo stopped" in demo.text()
    assert "Traceback" not in demo.text(), demo.text()


@pytest.mark.parametrize("when", ["running", "starting"])
def test_a_scheduler_whose_parent_is_killed_stops_by_itself(tmp_path: Path, when: str) -> None:
    """The demo's scheduler runs with --parent-pid: SIGKILL of the demo cannot orphan it,
    whether the scheduler is running or still starting up when its parent dies.
    """
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "crm-person.yaml").write_text(
        "name: crm-person\nconnection: crm\nhub_object: person\nremote_object: Lead\n"
        "schedule: 1h\nfields:\n  - {hub: email, remote: Email}\n"
    )
    (tmp_path / "connections.yaml").write_text(
        f"crm: {{type: memory, path: {tmp_path / 'crm.json'}}}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path}/h.db"}
    cli = [sys.executable, "-m", "cli", "--config", "connections.yaml", "--mappings", "mappings"]
    subprocess.run([*cli, "init"], cwd=tmp_path, env=env, check=True, capture_output=True)
    log = tmp_path / "scheduler.log"
    log.touch()
    # A parent that starts the scheduler the way the demo does, says its pid, then waits.
    parent_code = (
        "import os, subprocess, sys, time\n"
        f"command = {[*cli, 'scheduler']!r} + ['--parent-pid', str(os.getpid())]\n"
        "child = subprocess.Popen(command, stderr=open('scheduler.log', 'w'))\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        if when == "running":
            wait_until(lambda: "event=scheduler.started" in log.read_text(), 60, "the scheduler")
        assert alive(child)
        parent.kill()
        parent.wait(timeout=10)
        wait_until(lambda: not alive(child), 60, "the orphaned scheduler to stop")
        if when == "running":
            assert "event=scheduler.parent_gone" in log.read_text()
    finally:
        if parent.poll() is None:
            parent.kill()
        if parent.stdout is not None:
            parent.stdout.close()
        parent.wait(timeout=10)
