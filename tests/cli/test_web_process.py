"""``syncline web`` serves through gunicorn: workers, threads, and a graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.cli.test_demo_process import alive
from tests.processes import ROOT, Running, children, wait_until


def test_web_runs_gunicorn_workers_and_stops_gracefully(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path}/h.db"}
    subprocess.run([sys.executable, "-m", "cli", "init"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "--mappings", str(ROOT / "mappings"), "web", "--port",
         str(port), "--workers", "3", "--threads", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    web = Running(process)
    try:
        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
            except requests.RequestException:
                return False

        wait_until(healthy, 60, "the dashboard to answer")
        login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and "Log in" in login.text
        workers = wait_until(lambda: len(children(process.pid)) == 3 and children(process.pid),
                             30, "three worker processes")
        web.signal(signal.SIGTERM)
        code = web.wait(timeout=30)
    finally:
        web.stop()
    assert code == 0, web.text()
    assert "gunicorn" in web.text().lower() and "Handling signal: term" in web.text()
    assert not [pid for pid in workers if alive(pid)], "no worker survives"
    assert "WARNING: This is a development server" not in web.text()
