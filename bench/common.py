"""What the push benchmarks share: request counting, phases, the hub seed, children, the report.

Written for ``bench/dynamics_push.py``; ``bench/salesforce_push.py`` still carries its own
copies of these pieces and can import them from here later.
"""

from __future__ import annotations

import json
import math
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.engine import Engine

from connectors import build_connector
from connectors.base import Connector
from core import clock, sequence
from core.hubschema import HubSchema
from core.models import Person
from jobs.engine import SyncContext, run_mapping
from jobs.report import RunReport
from mappings.loader import load_mappings
from sandboxes.salesforce.sandbox import SalesforceSandbox

REPO = Path(__file__).resolve().parent.parent
HUB_SCHEMA_FILE = REPO / "mappings" / "hub.yaml"
INSERT_CHUNK = 5_000
#: A drain that needs more cycles than this is stuck (failures re-queued forever, say).
MAX_CYCLES = 200

SANDBOX_MODES = {"subprocess": "subprocess: a child process (its CPU never holds our GIL)",
                 "inprocess": "inprocess: a thread of this process (sharing its GIL)"}


# -- counting HTTP requests by endpoint ----------------------------------------------------------


def kind_of(endpoint: str) -> str:
    """``auth`` (OAuth token requests), ``read`` (GET/HEAD) or ``write`` (everything else)."""
    method, path = endpoint.split(" ", 1)
    if "/oauth2/" in path:
        return "auth"
    return "read" if method in ("GET", "HEAD") else "write"


class CallLog:
    """Every HTTP request this process sends, by endpoint (thread-safe).

    ``endpoint_of(method, url)`` names the endpoint: each CRM folds its ids differently.
    """

    def __init__(self, endpoint_of: Callable[[str, str], str]) -> None:
        self._endpoint_of = endpoint_of
        self._lock = threading.Lock()
        self.by_endpoint: Counter[str] = Counter()

    def record(self, method: str, url: str) -> None:
        endpoint = self._endpoint_of(method, url)
        with self._lock:
            self.by_endpoint[endpoint] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.by_endpoint)


@contextmanager
def counting_requests(log: CallLog) -> Iterator[CallLog]:
    """Count every request sent through any requests adapter (the connector's and the baseline's).

    Counting on the client side works the same whether the sandbox runs in this process or
    in a child, and sees exactly what the CRM would count.
    """
    original = HTTPAdapter.send

    def send(adapter: HTTPAdapter, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        log.record(str(request.method), str(request.url))
        return original(adapter, request, *args, **kwargs)

    HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        yield log
    finally:
        HTTPAdapter.send = original  # type: ignore[method-assign]


# -- measurements -------------------------------------------------------------------------------


def sandbox_context(engine: Engine, folder: Path, sandbox: SalesforceSandbox) -> SyncContext:
    """Real cycles of ``folder``'s mappings, their connections built for ``sandbox``'s org."""
    schema = HubSchema.load(folder / "hub.yaml")
    settings = {"type": "salesforce", "login_url": sandbox.url, "client_id": sandbox.client_id,
                "client_secret": sandbox.client_secret, "username": sandbox.username,
                "password": sandbox.password, "security_token": sandbox.security_token,
                "bulk_poll_seconds": 0.05}

    def connect(name: str) -> Connector:
        return build_connector(name, settings)

    return SyncContext(engine, load_mappings(folder, hub_schema=schema), schema, connect)


def peak_rss_mb() -> float:
    """Peak resident set of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_peak_rss_mb(pid: int) -> float | None:
    """A live child's peak resident set (VmHWM), None where /proc is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Phase:
    """What one phase cost: records, calls by kind and endpoint, time, peak memory."""

    name: str
    records: int = 0
    failed: int = 0
    cycles: int = 0
    write_calls: int = 0
    other_calls: int = 0
    auth_calls: int = 0
    connector_calls: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    endpoints: dict[str, int] = field(default_factory=dict)
    #: First failure messages seen (a few), so a failing run says why.
    errors: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.write_calls + self.other_calls

    @property
    def calls_per_1000(self) -> float | None:
        return 1000 * self.calls / self.records if self.records else None

    @property
    def records_per_hour(self) -> float | None:
        return 3600 * self.records / self.seconds if self.records and self.seconds else None

    def count(self, before: Counter[str], after: Counter[str]) -> None:
        """Attribute the requests sent between two snapshots to this phase."""
        delta = after - before
        self.endpoints = dict(sorted(delta.items()))
        for endpoint, calls in delta.items():
            kind = kind_of(endpoint)
            if kind == "write":
                self.write_calls += calls
            elif kind == "read":
                self.other_calls += calls
            else:
                self.auth_calls += calls

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "calls": self.calls, "calls_per_1000": self.calls_per_1000,
                "records_per_hour": self.records_per_hour}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Phase:
        """The inverse of :meth:`as_json` (the derived figures are dropped and recomputed)."""
        derived = ("calls", "calls_per_1000", "records_per_hour")
        return cls(**{k: v for k, v in data.items() if k not in derived})

    @classmethod
    def combined(cls, name: str, phases: list[Phase]) -> Phase:
        """The sum of several phases (peak RSS: the last one's, it only grows)."""
        endpoints: Counter[str] = Counter()
        for phase in phases:
            endpoints.update(phase.endpoints)
        return cls(name, records=sum(p.records for p in phases),
                   failed=sum(p.failed for p in phases), cycles=sum(p.cycles for p in phases),
                   write_calls=sum(p.write_calls for p in phases),
                   other_calls=sum(p.other_calls for p in phases),
                   auth_calls=sum(p.auth_calls for p in phases),
                   connector_calls=sum(p.connector_calls for p in phases),
                   seconds=sum(p.seconds for p in phases), peak_rss_mb=phases[-1].peak_rss_mb,
                   endpoints=dict(sorted(endpoints.items())))


# -- children: the sandbox and the baseline -------------------------------------------------------


@dataclass
class ChildSandbox:
    """A sandbox served by a child process: what it announced, and how to stop it."""

    hello: dict[str, Any]
    process: subprocess.Popen[str]

    @classmethod
    def start(cls, module: str, args: list[str]) -> ChildSandbox:
        """Run ``python -m module --serve-sandbox args`` and read its one-line JSON hello."""
        child = subprocess.Popen([sys.executable, "-m", module, "--serve-sandbox", *args],
                                 cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox child exited ({child.wait()}) before it listened")
        return cls(json.loads(line), child)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the child serves until its stdin closes
        self.process.wait(timeout=60)

    def peak_rss_mb(self) -> float | None:
        return child_peak_rss_mb(self.process.pid)


def serve_until_stdin_closes(hello: dict[str, Any], stop: Callable[[], None]) -> None:
    """Child side of a ChildSandbox: announce, serve (other threads) until EOF, stop."""
    print(json.dumps(hello), flush=True)
    sys.stdin.read()
    stop()


class BaselineChild:
    """The baseline in a child process (``--baseline-only``): its own GIL and its own peak RSS."""

    def __init__(self, module: str, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--baseline-only", *args], cwd=REPO,
            stdout=subprocess.PIPE, text=True)

    def result(self) -> Phase:
        out, _ = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"the baseline child failed ({self.process.returncode})")
        return Phase.from_json(json.loads(out.strip().splitlines()[-1]))


# -- the hub side ---------------------------------------------------------------------------------

_BUMP = text(f"UPDATE hub_sequence SET value = value + :n WHERE name = "
             f"'{sequence.SEQUENCE_NAME}' RETURNING value")


def reserve_seqs(connection: Connection, count: int) -> int:
    """Reserve ``count`` change_seq numbers the way core.sequence does; returns the first."""
    last = int(connection.execute(_BUMP, {"n": count}).scalar_one())
    return last - count + 1


def person_row(index: int, seq: int, now: Any) -> dict[str, Any]:
    """A reachable MQL with a phone: passes the shipped sync rules and the CRMs' lead rules."""
    return {
        "id": f"{index:032x}", "change_seq": seq, "created_at": now, "updated_at": now,
        "deleted_at": None, "email": f"person{index}@bench.example.com",
        "first_name": f"First{index}", "last_name": f"Last{index}", "title": "Engineer",
        "company": f"Company {index % 997}", "account_id": None,
        "phone": f"+1415555{index % 10_000:04d}", "city": "San Francisco", "state": "CA",
        "country": "United States", "lead_source": "Webinar", "lifecycle_stage": "MQL",
        "score": 50 + index % 50, "unsubscribed": False, "attributes": {},
    }


def seed_people(engine: Engine, count: int) -> float:
    """Insert ``count`` people in one transaction with consecutive change_seqs; seconds taken."""
    started = time.perf_counter()
    now = clock.utcnow()
    table = Person.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        first = reserve_seqs(connection, count)
        for start in range(0, count, INSERT_CHUNK):
            stop = min(count, start + INSERT_CHUNK)
            rows = [person_row(i, first + i, now) for i in range(start, stop)]
            connection.execute(insert(table), rows)
    return time.perf_counter() - started


def retitle_people(engine: Engine) -> int:
    """Change every person's title (a pushed field) with fresh change_seqs; returns how many.

    A bulk UPDATE bypasses the ORM's sequencing hook, so it reserves numbers itself, in the
    same transaction, exactly as the hook would.
    """
    table = Person.__table__  # type: ignore[attr-defined]
    now = clock.utcnow()
    with engine.begin() as connection:
        ids = list(connection.execute(select(table.c.id).order_by(table.c.change_seq)).scalars())
        first = reserve_seqs(connection, len(ids))
        statement = (update(table).where(table.c.id == bindparam("person_id"))
                     .values(title=bindparam("new_title"), change_seq=bindparam("new_seq"),
                             updated_at=bindparam("stamp")))
        for start in range(0, len(ids), INSERT_CHUNK):
            connection.execute(statement, [
                {"person_id": pid, "new_title": f"Senior Engineer {n % 7}", "new_seq": first + n,
                 "stamp": now}
                for n, pid in enumerate(ids[start:start + INSERT_CHUNK], start=start)])
    return len(ids)


def write_mapping(folder: Path, shipped: Path, direction: str, page_size: int) -> None:
    """A shipped mapping with the bench's direction and push page size, beside hub.yaml."""
    data = yaml.safe_load(shipped.read_text())
    data["direction"] = direction
    data["page_size"] = page_size
    (folder / shipped.name).write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copy(HUB_SCHEMA_FILE, folder / "hub.yaml")


# -- the Syncline run -----------------------------------------------------------------------------


class SynclineRun:
    """A hub database, the bench mapping and a connector factory: drains and idles."""

    def __init__(self, engine: Engine, folder: Path, mapping_name: str,
                 connector: Callable[[str], Connector], log: CallLog) -> None:
        self.log = log
        self.mapping_name = mapping_name
        schema = HubSchema.load(folder / "hub.yaml")
        mappings = load_mappings(folder, hub_schema=schema)
        self.ctx = SyncContext(engine, mappings, schema, connector)

    def cycles(self, name: str, *, until_drained: bool, progress: bool) -> Phase:
        """Run cycles until the backlog is empty (or just one) and measure them."""
        phase = Phase(name)
        before = self.log.snapshot()
        started = time.perf_counter()
        while True:
            report: RunReport = run_mapping(self.ctx, self.mapping_name, trigger="manual")
            phase.cycles += 1
            phase.records += report.created_remote + report.updated_remote
            phase.failed += report.failed
            phase.connector_calls += report.api_calls
            if report.failed and len(phase.errors) < 3:
                phase.errors.append(str(report.message))
            if progress:
                print(f"  [{name}] cycle {phase.cycles}: {report.status}, "
                      f"+{report.created_remote} created, +{report.updated_remote} updated, "
                      f"{report.failed} failed, {report.api_calls} calls, "
                      f"backlog {report.backlog}, "
                      f"{report.duration_ms / 1000:.1f} s", file=sys.stderr, flush=True)
            if report.status not in ("success", "partial"):
                raise RuntimeError(f"{name}: cycle {report.status}: {report.message}")
            if not until_drained or report.backlog == 0 or phase.cycles >= MAX_CYCLES:
                break
        phase.seconds = time.perf_counter() - started
        phase.count(before, self.log.snapshot())
        phase.peak_rss_mb = peak_rss_mb()
        return phase


# -- the report -----------------------------------------------------------------------------------


@dataclass
class Target:
    """One target of the issue and whether this run met it."""

    name: str
    wanted: str
    got: str
    met: bool


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    return f"{ours / theirs:,.1f}x" if ours and theirs else "-"


#: Targets both benches check (the Salesforce issue's; the Dynamics one keeps them to compare).
TARGET_RECORDS_PER_HOUR = 500_000
TARGET_IDLE_CALLS_PER_OBJECT = 1


def push_targets(
    people: int, create: Phase, updates: Phase, idle: Phase, *,
    per_call: int, write_note: str = "", idle_label: str = "1 object",
) -> list[Target]:
    """Write calls (``per_call`` records each), throughput, the idle cycle, all records written.

    Token requests are left out of the idle count: neither CRM counts them against its limits.
    """
    limit = math.ceil(people / per_call)
    found = [
        Target(f"{p.name}: write calls", f"<= {limit:,}{write_note}", f"{p.write_calls:,}",
               p.write_calls <= limit)
        for p in (create, updates)
    ]
    found += [
        Target(f"{p.name}: records/hour", f">= {TARGET_RECORDS_PER_HOUR:,}",
               f"{p.records_per_hour or 0:,.0f}",
               (p.records_per_hour or 0) >= TARGET_RECORDS_PER_HOUR)
        for p in (create, updates)
    ]
    found.append(Target(f"idle cycle: API calls ({idle_label})",
                        f"<= {TARGET_IDLE_CALLS_PER_OBJECT}", str(idle.calls),
                        idle.calls <= TARGET_IDLE_CALLS_PER_OBJECT))
    failed = create.failed + updates.failed
    found.append(Target("every record written", f"{people:,} created, {people:,} updated",
                        f"{create.records:,} / {updates.records:,} ({failed} failed)",
                        create.records == people and updates.records == people))
    return found


def render_body(phases: list[Phase], baseline: Phase | None, checks: list[Target]) -> list[str]:
    """The table, the ratios against the baseline, the targets and every request by endpoint."""
    lines: list[str] = []
    header = ("phase", "records", "failed", "cycles", "write calls", "other calls", "auth",
              "calls/1000", "seconds", "records/hour", "peak RSS MB")
    rows = [header]
    everything = [*phases, *([baseline] if baseline else [])]
    for phase in everything:
        rows.append((phase.name, f"{phase.records:,}", f"{phase.failed:,}", str(phase.cycles),
                     f"{phase.write_calls:,}", f"{phase.other_calls:,}", str(phase.auth_calls),
                     _num(phase.calls_per_1000, 2), _num(phase.seconds, 1),
                     _num(phase.records_per_hour), _num(phase.peak_rss_mb)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    if baseline is not None:
        lines += ["", "vs baseline (calls: baseline ÷ ours, speed and RSS: ours ÷ baseline):"]
        for phase in phases:
            if not phase.records:
                continue
            fewer = _ratio(baseline.calls_per_1000, phase.calls_per_1000)
            lines.append(f"  {phase.name:<13} {fewer} fewer calls per record, "
                         f"{_ratio(phase.records_per_hour, baseline.records_per_hour)} the "
                         f"records/hour, {_ratio(phase.peak_rss_mb, baseline.peak_rss_mb)} the "
                         "peak RSS")
    lines += ["", "targets:"]
    for check in checks:
        lines.append(f"  [{'met' if check.met else 'MISSED'}] {check.name}: wanted "
                     f"{check.wanted}, got {check.got}")
    failures = [(p.name, e) for p in everything for e in p.errors]
    if failures:
        lines += ["", "first failures:"]
        lines += [f"  {name}: {error}" for name, error in failures]
    lines += ["", "requests by endpoint:"]
    for phase in everything:
        lines.append(f"  {phase.name}:")
        lines += [f"    {calls:>7,}  {endpoint}" for endpoint, calls in phase.endpoints.items()]
    return lines
