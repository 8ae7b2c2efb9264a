"""What journaling field history costs a sync cycle, per 10,000 changed values.

    .venv/bin/python -m bench.history [--people 2000] [--rounds 3] [--database URL]

A hub of ``--people`` people linked to Leads in an in-memory CRM (no latency: the engine and
the database are all that is timed). Each round changes five mapped fields of every person,
once in the CRM (a pull cycle brings them in) and once in the hub (a push cycle sends them
out), and times that cycle with the journal on and with it replaced by one that records
nothing; the two alternate so drift hits both alike. With the journal on, the time spent in
the journal itself (collecting the rows and writing them) is measured too: on a machine
shared with other work the two cycle times wander by more than the journal costs, and that
figure does not. It prints the medians, the journal's cost per 10,000 changes and the ratio.
It asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, func
from sqlmodel import Session, select

import jobs.pull
import jobs.push
from connectors.memory.connector import MemoryConnector
from connectors.memory.store import MemoryStore
from core import db, logs
from core.hubschema import HubSchema
from core.models import FieldHistory, Link, Person
from jobs.engine import SyncContext, run_mapping
from jobs.history import Journal
from mappings.loader import load_mappings

#: The five fields every round changes, hub name → CRM name.
FIELDS = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "company": "Company",
    "title": "Title",
    "country": "Country",
}
MAPPING: dict[str, Any] = {
    "name": "bench-lead",
    "connection": "crm",
    "hub_object": "person",
    "remote_object": "Lead",
    "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
    "page_size": 2000,
    "deletes": {"brake_floor": 1_000_000},
    "fields": [
        {"hub": "email", "remote": "Email"},
        *({"hub": hub, "remote": remote} for hub, remote in FIELDS.items()),
    ],
}


class NoJournal(Journal):
    """A journal that keeps nothing: the cycle as it was before field history."""

    def to_hub(self, *args: Any, **kwargs: Any) -> None:
        """Nothing kept."""

    def to_remote(self, *args: Any, **kwargs: Any) -> None:
        """Nothing kept."""

    def kept(self, *args: Any, **kwargs: Any) -> None:
        """Nothing kept."""

    def flush(self, session: Session) -> int:
        """Nothing written."""
        return 0


class TimedJournal(Journal):
    """The real journal, adding up the time spent in it (class-wide, reset per cycle)."""

    spent = 0.0

    @classmethod
    def timed(cls, started: float) -> None:
        cls.spent += time.perf_counter() - started

    def to_hub(self, *args: Any, **kwargs: Any) -> None:
        """Journaled, and timed."""
        started = time.perf_counter()
        super().to_hub(*args, **kwargs)
        self.timed(started)

    def to_remote(self, *args: Any, **kwargs: Any) -> None:
        """Journaled, and timed."""
        started = time.perf_counter()
        super().to_remote(*args, **kwargs)
        self.timed(started)

    def kept(self, *args: Any, **kwargs: Any) -> None:
        """Journaled, and timed."""
        started = time.perf_counter()
        super().kept(*args, **kwargs)
        self.timed(started)

    def flush(self, session: Session) -> int:
        """Written, and timed (the session's own pending writes are flushed first, untimed)."""
        session.flush()
        started = time.perf_counter()
        written = super().flush(session)
        self.timed(started)
        return written


@contextmanager
def journal(kind: type[Journal]) -> Iterator[None]:
    """Both phases build a ``kind`` journal for the cycle."""
    jobs.pull.Journal = kind  # type: ignore[misc]
    jobs.push.Journal = kind  # type: ignore[misc]
    TimedJournal.spent = 0.0
    try:
        yield
    finally:
        jobs.pull.Journal = Journal  # type: ignore[misc]
        jobs.push.Journal = Journal  # type: ignore[misc]


class Bench:
    """The hub, the CRM and the mapping, and one timed cycle at a time."""

    def __init__(self, engine: Engine, folder: Path, people: int) -> None:
        self.engine = engine
        self.store = MemoryStore()
        (folder / "bench-lead.yaml").write_text(yaml.safe_dump(MAPPING, sort_keys=False))
        schema = HubSchema.standard()
        mappings = load_mappings(folder, hub_schema=schema)
        self.ctx = SyncContext(engine, mappings, schema, self._connect)
        with Session(engine) as session:
            session.add_all(
                Person(email=f"p{n}@bench.example", **{f: f"{f} {n}" for f in FIELDS})
                for n in range(people)
            )
            session.commit()
        self.cycle()  # creates every Lead (and its history): the baseline the rounds change
        with Session(engine) as session:
            self.leads = {link.hub_id: link.remote_id for link in session.exec(select(Link))}

    def _connect(self, name: str) -> MemoryConnector:
        return MemoryConnector(name, {"type": "memory", "store": self.store, "page_size": 2000})

    def cycle(self) -> float:
        started = time.perf_counter()
        report = run_mapping(self.ctx, "bench-lead")
        assert report.status == "success", (report.status, report.message)
        return time.perf_counter() - started

    def change_remote(self, tag: str) -> int:
        """Five new values on every Lead; how many values changed."""
        for key in self.leads.values():
            self.store.update("Lead", key, {crm: f"{crm} {tag}" for crm in FIELDS.values()})
        return len(self.leads) * len(FIELDS)

    def change_hub(self, tag: str) -> int:
        """Five new values on every person, each with a new change_seq."""
        with Session(self.engine) as session:
            for person in session.exec(select(Person)):
                for name in FIELDS:
                    setattr(person, name, f"{name} {tag}")
                session.add(person)
            session.commit()
        return len(self.leads) * len(FIELDS)

    def history_rows(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(FieldHistory)).one())


def main() -> None:
    """Seed, change, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000, help="linked people (x5 changes)")
    parser.add_argument("--rounds", type=int, default=2, help="timed cycles per case")
    parser.add_argument("--database", help="an empty database URL (default: SQLite in /tmp)")
    args = parser.parse_args()
    logs.configure("ERROR")
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(args.database or f"sqlite:///{folder}/history-bench.db")
        try:
            db.init_db(engine)
            bench = Bench(engine, Path(folder), args.people)
            times: dict[tuple[str, str], list[float]] = {}
            changes = 0
            rows_before = bench.history_rows()
            for n in range(args.rounds):
                for on in (True, False) if n % 2 == 0 else (False, True):
                    for direction, change in (("pull", bench.change_remote),
                                              ("push", bench.change_hub)):
                        changes = change(f"{n}-{on}")
                        with journal(TimedJournal if on else NoJournal):
                            took = bench.cycle()
                        times.setdefault((direction, "with" if on else "without"), []).append(took)
                        if on:
                            times.setdefault((direction, "in"), []).append(TimedJournal.spent)
            written = bench.history_rows() - rows_before
            report(engine.dialect.name, args, changes, times, written)
        finally:
            engine.dispose()


def report(
    dialect: str,
    args: argparse.Namespace,
    changes: int,
    times: dict[tuple[str, str], list[float]],
    written: int,
) -> None:
    print(f"{dialect}: {args.people:,} linked people, {changes:,} changed values per cycle, "
          f"median of {args.rounds} cycles each; {written:,} history rows written")
    print(f"{'cycle':<6} {'without':>9} {'with':>9} {'ratio':>6}   {'in the journal':>14} "
          f"{'per 10,000 changes':>19} {'ratio':>6}")
    for direction in ("pull", "push"):
        without = statistics.median(times[(direction, "without")])
        with_journal = statistics.median(times[(direction, "with")])
        inside = statistics.median(times[(direction, "in")])
        per_10k = inside * 10_000 / changes
        print(f"{direction:<6} {without:>8.2f}s {with_journal:>8.2f}s "
              f"{with_journal / without:>5.2f}x   {inside:>13.2f}s {per_10k * 1000:>16.0f} ms "
              f"{(without + inside) / without:>5.2f}x")


if __name__ == "__main__":
    main()
