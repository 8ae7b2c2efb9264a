"""Webhooks as an admin meets them: ``syncline web`` receiving, ``hooks send``, ``hooks replay``,
and a web process killed with SIGKILL right after it answered 202.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from core.db import make_engine
from inbound.signatures import sign
from tests.inbound.forms import FORMS_MAPPING, SECRET, SOURCE, source_settings, submit
from tests.processes import Installation, Running, children, wait_until

MAPPING = str(FORMS_MAPPING["name"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def installation(tmp_path: Path, url: str, **source: Any) -> Installation:
    return Installation(tmp_path, url, {SOURCE: source_settings(**source)},
                        {MAPPING: FORMS_MAPPING})


def start_web(inst: Installation, port: int) -> Running:
    web = inst.start("web", "--port", str(port), "--workers", "1", "--threads", "4")

    def healthy() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
        except requests.RequestException:
            return False

    wait_until(healthy, 60, "the web process to answer")
    return web


def person(inst: Installation, email: str) -> list[tuple[Any, ...]]:
    return inst.query("SELECT email, first_name FROM person WHERE email = :e", e=email)


@pytest.fixture
def pg_url(postgres_engine: Engine) -> Iterator[str]:
    yield postgres_engine.url.render_as_string(hide_password=False)


@pytest.mark.postgres
def test_hooks_send_posts_a_signed_file_to_the_running_web(tmp_path: Path, pg_url: str) -> None:
    inst = installation(tmp_path, pg_url, rate_per_minute=1)
    port = free_port()
    form = tmp_path / "form.json"
    form.write_text(json.dumps({"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee"}))
    web = start_web(inst, port)
    try:
        sent = inst.run("hooks", "send", SOURCE, str(form), "--url", f"http://127.0.0.1:{port}")
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.startswith("202 ") and '"accepted"' in sent.stdout
        wait_until(lambda: person(inst, "ann@acme.com"), 60, "the person from the form")

        limited = inst.run("hooks", "send", SOURCE, str(form), "--url",
                           f"http://127.0.0.1:{port}")
        assert limited.returncode == 1 and limited.stdout.startswith("429 ")
        assert "refused: more than 1 requests a minute" in limited.stderr
    finally:
        web.stop()
    unknown = inst.run("hooks", "send", "nobody", str(form))
    assert unknown.returncode == 2 and "no webhook source named 'nobody'" in unknown.stderr
    down = inst.run("hooks", "send", SOURCE, str(form), "--url", f"http://127.0.0.1:{port}")
    assert down.returncode == 1 and "cannot reach" in down.stderr
    assert SECRET not in sent.stdout + sent.stderr + limited.stderr


@pytest.mark.postgres
def test_a_request_answered_202_survives_a_kill_9_of_the_web(tmp_path: Path, pg_url: str) -> None:
    inst = installation(tmp_path, pg_url)
    port = free_port()
    body = json.dumps({"email": "kill@acme.com", "first_name": "Kim", "last_name": "Ill"}).encode()
    web = start_web(inst, port)
    try:
        headers = sign("standard", SECRET, body, event_id="msg_kill", timestamp=int(time.time()))
        workers = children(web.pid)
        answer = requests.post(f"http://127.0.0.1:{port}/hooks/{SOURCE}", data=body,
                               headers={**headers, "Content-Type": "application/json"},
                               timeout=10)
        for pid in [*workers, web.pid]:
            os.kill(pid, signal.SIGKILL)
        assert answer.status_code == 202, answer.text
        web.wait(timeout=10)
    finally:
        web.stop()
    stored = inst.query("SELECT id FROM inbound_event WHERE event_id = 'msg_kill'")
    assert stored == [(answer.json()["id"],)]  # stored before the answer: the kill lost nothing

    restarted = start_web(inst, port)
    try:
        wait_until(lambda: person(inst, "kill@acme.com"), 60, "the person after the restart")
    finally:
        restarted.stop()
    assert person(inst, "kill@acme.com") == [("kill@acme.com", "Kim")]


def test_replay_after_a_fix_processes_a_failed_submission(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    inst = installation(tmp_path, url)
    inst.write_mapping("hub", {"person": {"interest": {"type": "string",
                                                       "choices": ["Pricing", "Demo"]}}})
    inst.write_mapping(MAPPING, {**FORMS_MAPPING, "fields": [
        *FORMS_MAPPING["fields"], {"hub": "interest", "remote": "interest"}]})
    assert inst.run("init").returncode == 0
    engine = make_engine(url)
    try:
        inbox_id = submit(engine, {"email": "tom@acme.com", "first_name": "Tom",
                                   "interest": "Training"})
    finally:
        engine.dispose()
    inst.run("sync", MAPPING)
    listed = inst.run("hooks", "list", "--json")
    assert [json.loads(line)["state"] for line in listed.stdout.splitlines()] == ["failed"]

    still = inst.run("hooks", "replay", str(inbox_id))
    assert still.returncode == 1 and f"request {inbox_id} (website-forms): failed" in still.stdout
    assert "Training" in still.stdout

    # The admin adds the missing choice; the replay reads the stored request again.
    choices = ["Pricing", "Demo", "Training"]
    inst.write_mapping("hub", {"person": {"interest": {"type": "string", "choices": choices}}})
    replayed = inst.run("hooks", "replay", str(inbox_id))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"request {inbox_id} (website-forms): processed" in replayed.stdout
    assert person(inst, "tom@acme.com") == [("tom@acme.com", "Tom")]

    unknown = inst.run("hooks", "replay", "999999")
    assert unknown.returncode == 2 and "no stored request has id 999999" in unknown.stderr
