"""Retention: old resolved/ignored errors and old runs go; open errors stay, however old."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, select

from cli import main
from cli.context import App
from core.clock import utcnow
from core.errors import InputError
from core.models import FieldHistory, SyncError, SyncRun
from jobs import retention


def _run(engine: Engine, started: datetime, mapping: str = "crm-person") -> int:
    with Session(engine) as session:
        run = SyncRun(mapping=mapping, status="success", started_at=started, finished_at=started)
        session.add(run)
        session.commit()
        assert run.id is not None
        return run.id


def _error(
    engine: Engine, name: str, status: str, last_seen: datetime, run_id: int | None = None
) -> None:
    with Session(engine) as session:
        session.add(
            SyncError(
                fingerprint=name,
                mapping="crm-person",
                direction="to_remote",
                kind="validation",
                message=f"{name} failed",
                remote_id=name,
                status=status,
                first_seen=last_seen,
                last_seen=last_seen,
                run_id=run_id,
            )
        )
        session.commit()


def _errors(engine: Engine) -> dict[str, SyncError]:
    with Session(engine, expire_on_commit=False) as session:
        return {e.remote_id or "": e for e in session.exec(select(SyncError))}


def _run_ids(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return sorted(r.id for r in session.exec(select(SyncRun)) if r.id is not None)


def test_old_resolved_and_ignored_errors_go_open_ones_stay(engine: Engine) -> None:
    now = utcnow()
    ancient, old, recent = (
        now - timedelta(days=400),
        now - timedelta(days=31),
        now - timedelta(days=29),
    )
    for status in ("resolved", "ignored", "open", "retrying"):
        _error(engine, f"{status}-old", status, old)
        _error(engine, f"{status}-recent", status, recent)
    _error(engine, "open-ancient", "open", ancient)

    purged = retention.purge(engine, days=30)

    assert purged.errors == 2
    assert sorted(_errors(engine)) == [
        "ignored-recent",
        "open-ancient",
        "open-old",
        "open-recent",
        "resolved-recent",
        "retrying-old",
        "retrying-recent",
    ]
    assert retention.purge(engine, days=30).errors == 0, "nothing more to purge"


def test_old_runs_go_and_their_errors_keep_existing_without_the_reference(
    engine: Engine,
) -> None:
    now = utcnow()
    old_run = _run(engine, now - timedelta(days=40))
    new_run = _run(engine, now - timedelta(days=1))
    _error(engine, "open-of-old-run", "open", now - timedelta(days=2), run_id=old_run)
    _error(engine, "retrying-of-old-run", "retrying", now - timedelta(days=35), run_id=old_run)
    _error(engine, "open-of-new-run", "open", now, run_id=new_run)

    purged = retention.purge(engine, days=30)

    assert purged.runs == 1
    assert _run_ids(engine) == [new_run]
    errors = _errors(engine)
    assert errors["open-of-old-run"].run_id is None
    assert errors["retrying-of-old-run"].run_id is None
    assert errors["open-of-new-run"].run_id == new_run
    assert errors["open-of-old-run"].message == "open-of-old-run failed"


def test_the_default_keeps_ninety_days(engine: Engine) -> None:
    now = utcnow()
    kept_run = _run(engine, now - timedelta(days=89))
    _run(engine, now - timedelta(days=91))
    _error(engine, "resolved-89", "resolved", now - timedelta(days=89))
    _error(engine, "resolved-91", "resolved", now - timedelta(days=91))

    assert retention.DEFAULT_RETENTION_DAYS == 90
    purged = retention.purge(engine)

    assert (purged.errors, purged.runs) == (1, 1)
    assert list(_errors(engine)) == ["resolved-89"]
    assert _run_ids(engine) == [kept_run]


def _change(engine: Engine, at: datetime, field: str) -> None:
    with Session(engine) as session:
        session.add(
            FieldHistory(
                at=at, hub_table="person", hub_id="p1", field=field, old="a", new="b",
                source="crm", direction="to_hub", mapping="crm-person", reason="rule two_way",
            )
        )
        session.commit()


def test_field_history_is_kept_for_the_same_period(engine: Engine) -> None:
    now = utcnow()
    _change(engine, now - timedelta(days=91), "title")
    _change(engine, now - timedelta(days=89), "company")
    _change(engine, now - timedelta(days=31), "phone")

    assert retention.purge(engine).history == 1
    with Session(engine) as session:
        kept = sorted(row.field for row in session.exec(select(FieldHistory)))
    assert kept == ["company", "phone"]
    assert retention.purge(engine, days=30).history == 2


def test_a_retention_period_must_be_whole_days(engine: Engine) -> None:
    assert retention.check_days(7) == 7
    assert retention.check_days(" 30 ") == 30
    for bad in (0, -5, "ninety", 1.5, True, None):
        with pytest.raises(InputError, match="must be a whole number of days, at least 1"):
            retention.check_days(bad)
    with pytest.raises(InputError, match="^retention days: "):
        retention.purge(engine, days=0)


@pytest.fixture
def cli_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Run ``syncline`` in-process in an empty folder, the package's logging put back after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNCLINE_RETENTION_DAYS", raising=False)
    logger = logging.getLogger("syncline")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    # `syncline scheduler` points its log handler at the runner's (now closed) stderr.
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.mark.usefixtures("cli_run")
@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, 90),
        ([], {"SYNCLINE_RETENTION_DAYS": "14"}, 14),
        (["--retention-days", "7"], {"SYNCLINE_RETENTION_DAYS": "14"}, 7),
    ],
)
def test_the_scheduler_purges_with_the_configured_period(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], expected: int
) -> None:
    import cli.sync

    built: dict[str, Any] = {}

    def build(ctx: Any, **options: Any) -> str:
        built.update(options)
        return "scheduler"

    monkeypatch.setattr(cli.sync, "build_scheduler", build)
    monkeypatch.setattr(cli.sync, "serve", lambda scheduler, stopping, **options: None)
    monkeypatch.setattr(App, "live_config", lambda self: SimpleNamespace(engine=None))

    result = CliRunner().invoke(main, ["scheduler", *args], env=env)

    assert result.exit_code == 0, result.output
    assert built["retention_days"] == expected


@pytest.mark.usefixtures("cli_run")
def test_the_scheduler_refuses_a_retention_below_one_day() -> None:
    result = CliRunner().invoke(main, ["scheduler"], env={"SYNCLINE_RETENTION_DAYS": "0"})
    assert result.exit_code == 2
    assert "--retention-days" in result.output and "0 is not in the range x>=1" in result.output


def test_sqlite_statistics_are_recounted_after_a_purge(engine: Engine) -> None:
    """Without them SQLite's planner sorts every open error for one page of the list."""
    now = utcnow()
    for n in range(3):
        _error(engine, f"open-{n}", "open", now)

    retention.refresh_statistics(engine)  # on PostgreSQL autovacuum's job: nothing to do

    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            stats = list(connection.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1"))
        assert ("sync_error", "3") in {(table, stat.split()[0]) for table, stat in stats}
    assert len(_errors(engine)) == 3
