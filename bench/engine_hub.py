"""A hub database, a memory CRM and one lead mapping for ``bench/engine.py``: seeding and cycles.

Only APIs that the engine had before the fetch → plan → apply rewrite are used here
(``jobs.engine.run_mapping``, ``SyncContext``, the memory connector and store, the ORM models),
so the full-cycle figures can be taken on both sides of it with the same code.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, Table, insert, text
from sqlmodel import Session, select

from connectors.memory.connector import MemoryConnector
from connectors.memory.store import MemoryStore
from core import clock
from core.db import init_db, make_engine
from core.hubschema import HubSchema
from core.models import Link, Person, SyncState
from jobs.engine import SyncContext, run_mapping
from jobs.report import RunReport
from mappings.loader import load_mappings
from mappings.spec import Mapping

MAPPING_NAME = "crm-person"
#: The same lead mapping as tests/jobs/harness.py, copied: bench/ may not import tests/, and
#: this module must also run on the commit before the engine rewrite.
#: The engine tests' lead mapping: two-way fields, a default, a push-only score, email matching.
LEAD_MAPPING: dict[str, Any] = {
    "name": MAPPING_NAME,
    "connection": "crm",
    "hub_object": "person",
    "remote_object": "Lead",
    "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
    "deletes": {"brake_floor": 100},
    "fields": [
        {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
        {"hub": "first_name", "remote": "FirstName"},
        {"hub": "last_name", "remote": "LastName", "default": "[unknown]"},
        {"hub": "company", "remote": "Company", "default": "[not provided]"},
        {"hub": "title", "remote": "Title"},
        {"hub": "score", "remote": "Score__c", "rule": "to_remote"},
    ],
}
#: Rows per INSERT statement when seeding (bounded memory, few round trips).
CHUNK = 5_000
#: SQLite page cache while seeding, in KiB (1 GiB; the default is 2 MiB).
SEED_CACHE_KIB = 1 << 20
#: A phase that needs more cycles than this to go quiet is stuck.
MAX_CYCLES = 20


def load_lead_mapping(folder: Path) -> tuple[dict[str, Mapping], HubSchema]:
    """The lead mapping through the real loader (rows compiled), from a file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MAPPING_NAME}.yaml").write_text(yaml.safe_dump(LEAD_MAPPING, sort_keys=False))
    schema = HubSchema.standard()
    return load_mappings(folder, hub_schema=schema), schema


# -- what one person looks like on each side ------------------------------------------------------


def email(index: int, tag: str = "") -> str:
    """A unique, already normalised address (the mapping lowercases and strips)."""
    return f"person{tag}{index}@bench.example.com"


def lead_fields(index: int, tag: str = "") -> dict[str, Any]:
    """The Lead a person is in the CRM: the mapped fields, as the push would have left them."""
    return {
        "Email": email(index, tag), "FirstName": f"First{index}", "LastName": f"Last{index}",
        "Company": f"Company {index % 997}", "Title": "Engineer", "Score__c": index % 100,
    }


def person_values(index: int, tag: str = "") -> dict[str, Any]:
    """The same person in the hub (only the mapped fields; the rest stay empty)."""
    lead = lead_fields(index, tag)
    return {
        "email": lead["Email"], "first_name": lead["FirstName"], "last_name": lead["LastName"],
        "company": lead["Company"], "title": lead["Title"], "score": lead["Score__c"],
    }


# -- the hub --------------------------------------------------------------------------------------


@dataclass
class Cycles:
    """The cycles one phase took until a cycle found nothing left to do."""

    name: str
    records: int
    reports: list[RunReport] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall clock, per cycle
    cpu: list[float] = field(default_factory=list)  # this process's CPU time, per cycle

    @property
    def total(self) -> float:
        return sum(self.seconds)

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu)

    def moved(self) -> int:
        """Records created or updated on either side, over all cycles."""
        return sum(r.created_hub + r.updated_hub + r.created_remote + r.updated_remote
                   for r in self.reports)

    def describe(self) -> str:
        first = self.reports[0]
        return (f"read {sum(r.read for r in self.reports):,}, hub +{first.created_hub:,} "
                f"~{first.updated_hub:,}, CRM +{first.created_remote:,} "
                f"~{first.updated_remote:,}, failed {sum(r.failed for r in self.reports)}")


class BenchHub:
    """A fresh hub database (SQLite in a temporary folder unless ``url``) and a memory CRM."""

    def __init__(self, url: str | None = None) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="syncline-bench-engine-")
        self.folder = Path(self._folder.name)
        self.engine: Engine = make_engine(url or f"sqlite:///{self.folder}/hub.db")
        init_db(self.engine)
        self.store = MemoryStore()
        self.mappings, self.schema = load_lead_mapping(self.folder / "mappings")
        self.mapping = self.mappings[MAPPING_NAME]
        self.ctx = SyncContext(self.engine, self.mappings, self.schema, self._connect)

    def _connect(self, name: str) -> MemoryConnector:
        return MemoryConnector(name, {"type": "memory", "store": self.store})

    def close(self) -> None:
        self.engine.dispose()
        self._folder.cleanup()

    def __enter__(self) -> BenchHub:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- cycles ---------------------------------------------------------------------------------

    def cycle(self) -> tuple[RunReport, float, float]:
        """One cycle (pull, then push) of the mapping: its report, wall and CPU seconds.

        CPU time is this process's (the engine, SQLite and the memory CRM all run in it): on
        a box shared with other work it moves far less than the wall clock between runs.
        A failed cycle stops the bench.
        """
        started, cpu = time.perf_counter(), time.process_time()
        report = run_mapping(self.ctx, MAPPING_NAME, trigger="manual")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if report.status not in ("success", "partial"):
            raise RuntimeError(f"cycle {report.status}: {report.message}")
        return report, seconds, cpu

    def until_quiet(self, name: str, records: int) -> Cycles:
        """Cycles until one moves nothing: the work, then the echo of our own writes read back."""
        phase = Cycles(name, records)
        while len(phase.reports) < MAX_CYCLES:
            report, seconds, cpu = self.cycle()
            phase.reports.append(report)
            phase.seconds.append(seconds)
            phase.cpu.append(cpu)
            moved = report.created_hub + report.updated_hub + report.created_remote
            if moved + report.updated_remote + report.failed == 0 and report.backlog == 0:
                return phase
        raise RuntimeError(f"{name}: still moving records after {MAX_CYCLES} cycles")

    # -- changes made outside the engine (a user in the CRM, an import into the hub) ------------

    def crm_creates(self, count: int, tag: str) -> list[str]:
        """``count`` new Leads, as a sales rep would enter them (no score: the hub owns it)."""
        with self.store.transaction():
            return [self.store.create("Lead", {**lead_fields(i, tag), "Score__c": None},
                                      validate=False)
                    for i in range(count)]

    def crm_retitles(self, title: str) -> int:
        """Every Lead gets a new title (one change each)."""
        with self.store.transaction():
            keys = [lead["Id"] for lead in self.store.all("Lead")]
            for key in keys:
                self.store.update("Lead", key, {"Title": title}, validate=False)
        return len(keys)

    def hub_creates(self, count: int, tag: str) -> None:
        """``count`` new hub people, through the ORM (sequenced like any hub write)."""
        with Session(self.engine) as session:
            for start in range(0, count, CHUNK):
                session.add_all(Person(**person_values(i, tag))
                                for i in range(start, min(count, start + CHUNK)))
                session.commit()

    def hub_retitles(self, title: str) -> int:
        """Every hub person gets a new title, through the ORM."""
        with Session(self.engine) as session:
            people = list(session.exec(select(Person)))
            for person in people:
                person.title = title
            session.commit()
        return len(people)

    # -- a hub that is linked already, made in bulk ----------------------------------------------

    def seed_linked(self, count: int, progress: Callable[[str], None] | None = None) -> float:
        """``count`` people linked to their Leads, both sides agreeing, cursors at the end.

        What a hub looks like after it synced them all, made with bulk INSERTs (a million in
        about a minute) instead of cycles: Leads in the store, people with consecutive
        change_seqs, one link each with the snapshot and version the sync would have stored,
        and both cursors past everything. Returns the seconds taken.
        """
        started = time.perf_counter()
        with self.store.transaction():
            keys = [self.store.create("Lead", lead_fields(i), validate=False)
                    for i in range(count)]
            # Every write takes the next sequence number, and a record's version is its own.
            versions = [str(self.store.seq - count + 1 + i) for i in range(count)]
        if progress:
            progress(f"{count:,} Leads in the CRM ({time.perf_counter() - started:.0f} s)")
        now = clock.utcnow()
        people, links = Person.__table__, Link.__table__  # type: ignore[attr-defined]
        link_extra = {"pending": None, "held": {}} if "held" in links.c else {}
        with self.engine.begin() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # random-order index inserts (emails) need the index pages in memory
                connection.exec_driver_sql(f"PRAGMA cache_size = -{SEED_CACHE_KIB}")
            last = int(connection.execute(
                text("UPDATE hub_sequence SET value = value + :n WHERE name = 'hub' "
                     "RETURNING value"), {"n": count}).scalar_one())
            first = last - count + 1
            for start in range(0, count, CHUNK):
                stop = min(count, start + CHUNK)
                bulk_insert(
                    connection, people,
                    {"created_at": now, "updated_at": now, "deleted_at": None, "attributes": {},
                     "unsubscribed": False},
                    [{**person_values(i), "id": f"{i:032x}", "change_seq": first + i}
                     for i in range(start, stop)])
                bulk_insert(
                    connection, links,
                    {"hub_object": "person", "connection": "crm", "remote_object": "Lead",
                     "mapping": MAPPING_NAME, "synced_at": now, **link_extra},
                    [{"hub_id": f"{i:032x}", "remote_id": keys[i], "snapshot": lead_fields(i),
                      "remote_version": versions[i]}
                     for i in range(start, stop)])
            states = SyncState.__table__  # type: ignore[attr-defined]
            connection.execute(insert(states), [
                {"mapping": MAPPING_NAME, "direction": "to_hub", "cursor": versions[-1],
                 "updated_at": now},
                {"mapping": MAPPING_NAME, "direction": "to_remote", "cursor": str(last),
                 "updated_at": now},
            ])
            if sqlite:  # back to the default: the cycles measured must not run on our cache
                connection.exec_driver_sql("PRAGMA cache_size = -2000")
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE person, link"))  # what autovacuum would do
        return time.perf_counter() - started

    def counts(self) -> dict[str, int]:
        """Rows in the tables an idle cycle could wander into."""
        with self.engine.connect() as connection:
            return {name: int(connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
                    for name in ("person", "link", "sync_error", "sync_run")}

    def hub_edit(self, index: int, title: str) -> None:
        """One person's title changes in the hub (through the ORM)."""
        with Session(self.engine) as session:
            person = session.get(Person, f"{index:032x}")
            assert person is not None
            person.title = title
            session.commit()

    def lead_of(self, index: int) -> dict[str, Any]:
        """Person ``index``'s Lead, found by its email (not through the link under test)."""
        (key,) = self.store.find("Lead", "Email", email(index))
        lead = self.store.get("Lead", key)
        assert lead is not None
        return lead

    def person_title(self, index: int) -> str | None:
        with Session(self.engine) as session:
            person = session.get(Person, f"{index:032x}")
            return person.title if person else None


def bulk_insert(
    connection: Connection, table: Table, same: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    """One driver-level executemany of ``rows``, each with the columns in ``same`` added.

    Values go through each column type's own bind processing (JSON, dates), so the rows read
    back exactly as the ORM would have written them; the shared ones are processed once.
    About five times faster than ``insert(table)`` with dicts.
    """
    dialect = connection.dialect

    def processor(name: str) -> Callable[[Any], Any] | None:
        return table.c[name].type.bind_processor(dialect)  # type: ignore[no-any-return]

    fixed = [(p(v) if (p := processor(n)) else v) for n, v in same.items()]
    varying = [(n, processor(n)) for n in rows[0]]
    names = [*same, *(n for n, _ in varying)]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {table.name} ({', '.join(names)}) "
                 f"VALUES ({', '.join([marker] * len(names))})")
    connection.exec_driver_sql(statement, [
        (*fixed, *(p(row[n]) if p else row[n] for n, p in varying)) for row in rows])
