"""The scheduler follows its files while it runs: edits, broken files, new and disabled mappings.

Driven as an admin meets it: ``syncline scheduler`` in a subprocess, a fix saved through the
dashboard's mapping editor, files broken and repaired by hand, the remote's records and the
hub's rows read back.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlmodel import Session, select

from app import create_app
from connectors.memory.store import MemoryStore
from core.accounts import add_user
from core.clock import utcnow
from core.hubschema import HubSchema
from core.models import SyncError
from jobs.engine import SyncContext
from jobs.live import INVALID_CODE, LiveConfig
from jobs.scheduler import build_scheduler, reconcile
from tests.dashboard.forms import log_in, post
from tests.dashboard.test_mappings import form_fields, row_of
from tests.jobs.harness import mapping
from tests.processes import Installation, wait_until


def _stores(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name in ("crm", "crm2"):
        paths[name] = tmp_path / f"{name}.json"
        store = MemoryStore(paths[name])
        for i in range(2):
            store.create("Lead", {"Email": f"{name}{i}@acme.com", "LastName": "L", "Company": "A"})
    return paths


def _runs(inst: Installation, name: str, after: Any = None) -> list[tuple[int, str]]:
    rows = inst.query(
        "SELECT id, status, started_at FROM sync_run WHERE mapping = :m ORDER BY id", m=name
    )
    return [(r[0], r[1]) for r in rows if after is None or _aware(r[2]) > after]


def _aware(value: Any) -> Any:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _job_errors(inst: Installation, name: str) -> list[tuple[str, str, str]]:
    return [
        (r[0], r[1], r[2])
        for r in inst.query(
            "SELECT code, status, message FROM sync_error WHERE mapping = :m AND level = 'job'",
            m=name,
        )
    ]


def _lead(store: Path, email: str) -> dict[str, Any] | None:
    found = [r for r in MemoryStore(store).all("Lead") if r.get("Email") == email]
    return found[0] if found else None


def test_the_running_scheduler_follows_edits_broken_files_and_new_mappings(
    tmp_path: Path,
) -> None:
    stores = _stores(tmp_path)
    lead = mapping(schedule="10s")
    other = mapping(name="other-person", connection="crm2", schedule="10s")
    inst = Installation(
        tmp_path,
        f"sqlite:///{tmp_path / 'hub.db'}",
        {name: {"type": "memory", "path": str(path)} for name, path in stores.items()},
        {"crm-person": lead, "other-person": other},
    )
    assert inst.run("init").returncode == 0
    scheduler = inst.start("scheduler")
    try:
        wait_until(lambda: _runs(inst, "crm-person") and _runs(inst, "other-person"), 30,
                   "the first cycle of both mappings")

        # 1. A fix saved in the mapping editor is what the next scheduled cycle sends.
        app = create_app({
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": inst.database_url,
            "MAPPINGS_DIR": str(inst.mappings_dir),
            "CONNECTIONS": str(inst.config),
        })
        engine = app.extensions["syncline.engine"]
        client = log_in(app.test_client(), add_user(engine, "ann@example.com", "pw-123456789a",
                                                    "admin"))
        fields = form_fields(client.get("/mappings/crm-person/edit").get_data(as_text=True))
        n = row_of(fields, "company")
        assert fields[f"rows-{n}-default"] == "[not provided]"
        fields[f"rows-{n}-default"] = "[company unknown]"
        saved = post(client, "/mappings/crm-person/edit", {**fields, "action": "save"})
        assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
        page = client.get("/mappings/crm-person").get_data(as_text=True)
        assert "the next sync of crm-person uses it" in page
        engine.dispose()
        (tmp_path / "people.csv").write_text("email,last_name\nnew@acme.com,Newman\n")
        assert inst.run("import", "people", str(tmp_path / "people.csv")).returncode == 0

        pushed = wait_until(lambda: _lead(stores["crm"], "new@acme.com"), 30,
                            "the new person reaching the CRM")
        assert pushed["Company"] == "[company unknown]", "the edited default, not the old one"

        # 2. A file broken on disk stops its own mapping only, with one job-level error.
        broken_at = utcnow()
        path = inst.mappings_dir / "crm-person.yaml"
        good = path.read_text()
        path.write_text(good.replace("rule: to_remote", "rule: two-way"))
        [(code, status, message)] = wait_until(
            lambda: [e for e in _job_errors(inst, "crm-person") if e[1] == "open"], 15,
            "the broken file's job-level error",
        )
        assert code == INVALID_CODE
        assert "crm-person.yaml:" in message and "'two-way' is not a rule" in message, message
        scheduler.wait_for_line(r"event=mapping\.stopped mapping=crm-person")
        # The other mapping goes on; this one starts no cycle while its file is broken
        # (allow the cycle that may have been running when the file broke).
        wait_until(lambda: [r for r in _runs(inst, "other-person", after=broken_at)
                            if r[1] == "success"], 30, "another cycle of the other mapping")
        assert len(_runs(inst, "crm-person", after=broken_at)) <= 1
        before_fix = len(_runs(inst, "crm-person"))

        # 3. Fixing the file resolves the error and the mapping resumes at once.
        path.write_text(good)
        wait_until(lambda: [e for e in _job_errors(inst, "crm-person") if e[1] == "resolved"],
                   15, "the job-level error to resolve")
        assert not [e for e in _job_errors(inst, "crm-person") if e[1] == "open"]
        wait_until(lambda: len(_runs(inst, "crm-person")) > before_fix, 15,
                   "a cycle of the repaired mapping")

        # 4. A mapping added, disabled or rescheduled takes effect without a restart.
        inst.write_mapping("new-person", mapping(name="new-person", connection="crm2",
                                                 remote_object="Contact", schedule="1h"))
        wait_until(lambda: _runs(inst, "new-person"), 15, "the added mapping's first cycle")
        inst.write_mapping("other-person", {**other, "enabled": False})
        scheduler.wait_for_line(r"event=job\.removed mapping=other-person")
        inst.write_mapping("crm-person", {**yaml.safe_load(good), "schedule": "1h"})
        scheduler.wait_for_line(r"event=job\.rescheduled mapping=crm-person schedule=1h")
        stopped_at = utcnow()
        time.sleep(12)  # longer than the old 10 s interval
        assert _runs(inst, "other-person", after=stopped_at) == []

        scheduler.signal(15)
        assert scheduler.wait(timeout=20) == 0
    finally:
        scheduler.stop()
    assert "Traceback" not in scheduler.text()


# -- in process: what reload keeps and what it stops -------------------------------------------


def _folder(tmp_path: Path, *mappings: dict[str, Any]) -> Path:
    folder = tmp_path / "mappings"
    folder.mkdir(exist_ok=True)
    for data in mappings:
        (folder / f"{data['name']}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def _live(engine: Engine, tmp_path: Path, *mappings: dict[str, Any]) -> LiveConfig:
    folder = _folder(tmp_path, *mappings)
    config = tmp_path / "connections.yaml"
    config.write_text(yaml.safe_dump({
        "crm": {"type": "memory", "path": str(tmp_path / "crm.json")},
        "crm2": {"type": "memory", "path": str(tmp_path / "crm2.json")},
    }))
    return LiveConfig(engine, folder, config)


def _touch(path: Path, text: str) -> None:
    """Write ``text`` and make sure the stamp changes even within one mtime tick."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        import os

        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def test_a_broken_hub_schema_stops_every_mapping_and_fixing_it_resumes_them(
    engine: Engine, tmp_path: Path
) -> None:
    live = _live(engine, tmp_path, mapping(), mapping(name="other-person", connection="crm2"))
    assert sorted(live.current().mappings) == ["crm-person", "other-person"]
    hub = tmp_path / "mappings" / "hub.yaml"
    _touch(hub, "person:\n  nps: {type: nonsense}\n")

    assert live.current().mappings == {}
    with Session(engine) as db:
        errors = db.exec(select(SyncError).where(SyncError.code == INVALID_CODE)).all()
    assert sorted(e.mapping for e in errors) == ["crm-person", "other-person"]
    assert all("hub.yaml:2" in e.message and e.status == "open" for e in errors)

    _touch(hub, "person:\n  nps: {type: integer}\n")
    assert sorted(live.current().mappings) == ["crm-person", "other-person"]
    assert "nps" in live.current().schema.objects["person"]
    with Session(engine) as db:
        errors = db.exec(select(SyncError).where(SyncError.code == INVALID_CODE)).all()
    assert {e.status for e in errors} == {"resolved"}


def test_a_file_that_is_no_longer_yaml_stops_the_mapping_it_defined(
    engine: Engine, tmp_path: Path
) -> None:
    live = _live(engine, tmp_path, mapping(), mapping(name="other-person", connection="crm2"))
    live.current()
    path = tmp_path / "mappings" / "crm-person.yaml"
    _touch(path, "name: crm-person\nconnection: [oops\n")  # not even YAML

    snapshot = live.snapshot()
    assert list(snapshot.ctx.mappings) == ["other-person"]
    assert list(snapshot.workspace.stopped) == ["crm-person"]
    problem = str(snapshot.workspace.stopped["crm-person"][0])
    assert "crm-person.yaml:3" in problem and "not valid YAML" in problem


def test_reconcile_adds_removes_and_reschedules_jobs(engine: Engine, tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    live = _live(engine, tmp_path, mapping(schedule="5m"), mapping(
        name="other-person", connection="crm2", schedule="1h"))
    scheduler = build_scheduler(live, scheduler=BackgroundScheduler(timezone="UTC"))
    assert {j.id for j in scheduler.get_jobs()} >= {"sync:crm-person", "sync:other-person",
                                                    "watch"}
    _folder(tmp_path, mapping(schedule="30m"), mapping(name="third", connection="crm2",
                                                        remote_object="Contact"))
    _touch(tmp_path / "mappings" / "other-person.yaml",
           yaml.safe_dump(mapping(name="other-person", connection="crm2", enabled=False)))
    reconcile(scheduler, live, live.current())

    jobs = {j.id: j for j in scheduler.get_jobs() if j.id.startswith("sync:")}
    assert sorted(jobs) == ["sync:crm-person", "sync:third"]
    assert str(jobs["sync:crm-person"].trigger.interval) == "0:30:00"
    assert jobs["sync:third"].args == (live, "third")


def test_a_static_context_gets_no_watch_job(engine: Engine, tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    folder = _folder(tmp_path, mapping())
    from mappings.loader import load_mappings

    schema = HubSchema.standard()
    ctx = SyncContext(engine, load_mappings(folder, hub_schema=schema), schema, lambda n: None)
    scheduler = build_scheduler(ctx, scheduler=BackgroundScheduler(timezone="UTC"))
    assert "watch" not in {j.id for j in scheduler.get_jobs()}


def test_live_config_records_errors_only_once_per_change(
    engine: Engine, tmp_path: Path
) -> None:
    live = _live(engine, tmp_path, mapping())
    path = tmp_path / "mappings" / "crm-person.yaml"
    _touch(path, path.read_text().replace("rule: to_remote", "rule: sideways"))
    for _ in range(5):
        live.current()
    with Session(engine) as db:
        [error] = db.exec(select(SyncError).where(SyncError.code == INVALID_CODE)).all()
    assert error.attempts == 1, "an unchanged broken file is not re-reported every tick"
