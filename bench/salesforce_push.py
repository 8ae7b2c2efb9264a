"""Benchmark: push N hub people to the Salesforce sandbox (create, update, idle) vs a naive client.

``python -m bench.salesforce_push --people 100000`` seeds N people in a hub database, runs
real ``run_mapping`` cycles of the shipped Lead mapping against a SalesforceSandbox with
realistic latency until the backlog is empty, updates every person and drains again, then
runs one idle cycle. A naive baseline (simple-salesforce, one upsert call per record) runs
on a smaller N in a child process. It prints calls per 1,000 records, records/hour and peak
RSS per phase, the ratios against the baseline, and whether each target of the issue is met.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import (
    REPO,
    SANDBOX_MODES,
    CallLog,
    Phase,
    SynclineRun,
    Target,
    child_peak_rss_mb,
    counting_requests,
    peak_rss_mb,
    person_row,
    push_targets,
    render_body,
    retitle_people,
    seed_people,
    write_mapping,
)
from connectors.salesforce import SalesforceConnector
from core import clock, db

SHIPPED_MAPPING = REPO / "mappings" / "salesforce-lead.yaml"
MAPPING_NAME = "salesforce-lead"
CONNECTION = "salesforce"

#: Records per Collections call: the write-call target is ⌈N/200⌉.
COLLECTION_SIZE = 200


# -- counting HTTP requests by endpoint ----------------------------------------------------------

#: A path segment holding an id (Salesforce 15/18-char ids, bulk job ids, hub uuids): at least
#: 15 letters and digits with a digit among them. Field names (``Syncline_Id__c``) have "_".
_ID_SEGMENT = re.compile(r"/(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{15,}(?=/|$)")
_VERSION = re.compile(r"/services/data/v\d+\.\d+")


def endpoint_of(method: str, url: str) -> str:
    """``PATCH /composite/sobjects/Lead/Syncline_Id__c``: method and path with ids folded."""
    path = _VERSION.sub("", urlsplit(url).path)
    return f"{method} {_ID_SEGMENT.sub('/{id}', path)}"


# -- measurements -------------------------------------------------------------------------------


# -- the sandbox ----------------------------------------------------------------------------------


@dataclass
class SandboxHandle:
    """Where the sandbox listens, the default app and user, and how it was run."""

    url: str
    credentials: dict[str, str]
    mode: str
    stop: Callable[[], None]
    pid: int | None = None

    def settings(self, **extra: Any) -> dict[str, Any]:
        """A ``type: salesforce`` connection pointing at this sandbox."""
        return {"type": "salesforce", "login_url": self.url, **self.credentials, **extra}

    def peak_rss_mb(self) -> float | None:
        """The sandbox's own peak RSS when it runs in a child (else it is part of ours)."""
        return child_peak_rss_mb(self.pid) if self.pid is not None else None


def _credentials(sandbox: Any) -> dict[str, str]:
    return {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
            "username": sandbox.username, "password": sandbox.password,
            "security_token": sandbox.security_token}


def _new_sandbox(latency_ms: float, per_record_ms: float) -> Any:
    from sandboxes.salesforce.faults import Faults
    from sandboxes.salesforce.sandbox import SalesforceSandbox

    faults = Faults(latency_ms=latency_ms, latency_per_record_ms=per_record_ms)
    return SalesforceSandbox(faults=faults).start()


def start_sandbox(mode: str, latency_ms: float, per_record_ms: float) -> SandboxHandle:
    """The sandbox in this process, or in a child so its CPU work never holds our GIL."""
    if mode == "inprocess":
        sandbox = _new_sandbox(latency_ms, per_record_ms)
        return SandboxHandle(sandbox.url, _credentials(sandbox), mode, sandbox.stop)
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.salesforce_push", "--serve-sandbox",
         "--latency-ms", str(latency_ms), "--per-record-ms", str(per_record_ms)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline()
    if not line:
        raise RuntimeError(f"the sandbox child exited ({child.wait()}) before it listened")
    hello = json.loads(line)

    def stop() -> None:
        assert child.stdin is not None
        child.stdin.close()  # the child serves until its stdin closes
        child.wait(timeout=30)

    return SandboxHandle(hello["url"], hello["credentials"], mode, stop, child.pid)


def serve_sandbox(latency_ms: float, per_record_ms: float) -> None:
    """Child side of ``--sandbox subprocess``: announce url and credentials, serve until EOF."""
    sandbox = _new_sandbox(latency_ms, per_record_ms)
    print(json.dumps({"url": sandbox.url, "credentials": _credentials(sandbox)}), flush=True)
    sys.stdin.read()
    sandbox.stop()


# -- the hub side ---------------------------------------------------------------------------------


# -- the Syncline run -----------------------------------------------------------------------------


# -- the naive baseline ---------------------------------------------------------------------------


def run_baseline(count: int, latency_ms: float, per_record_ms: float) -> Phase:
    """simple-salesforce, one ``Lead.upsert`` per record: what a hand-written script does."""
    from simple_salesforce import Salesforce

    sandbox = _new_sandbox(latency_ms, per_record_ms)
    log = CallLog(endpoint_of)
    phase = Phase("baseline")
    try:
        with counting_requests(log):
            sf = Salesforce(instance_url=sandbox.url, session_id=sandbox.issue_token(),
                            session=sandbox.session(), version=sandbox.api_version)
            now = clock.utcnow()
            started = time.perf_counter()
            for index in range(count):
                row = person_row(index, index + 1, now)
                data = {"Email": row["email"], "FirstName": row["first_name"],
                        "LastName": row["last_name"], "Company": row["company"],
                        "Title": row["title"], "Phone": row["phone"], "City": row["city"],
                        "State": row["state"], "Country": row["country"], "LeadSource": "Web",
                        "Status": "Working - Contacted", "Score__c": row["score"]}
                sf.Lead.upsert(f"Syncline_Id__c/{row['id']}", data)
                phase.records += 1
            phase.seconds = time.perf_counter() - started
        phase.count(Counter(), log.snapshot())
    finally:
        sandbox.stop()
    phase.cycles = 1
    phase.peak_rss_mb = peak_rss_mb()
    return phase


class BaselineChild:
    """The baseline in a child process: its own GIL and its own peak RSS."""

    def __init__(self, count: int, latency_ms: float, per_record_ms: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.salesforce_push", "--baseline-only",
             "--baseline", str(count), "--latency-ms", str(latency_ms),
             "--per-record-ms", str(per_record_ms)],
            cwd=REPO, stdout=subprocess.PIPE, text=True)

    def result(self) -> Phase:
        out, _ = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"the baseline child failed ({self.process.returncode})")
        data = json.loads(out.strip().splitlines()[-1])
        for derived in ("calls", "calls_per_1000", "records_per_hour"):
            data.pop(derived)
        return Phase(**data)


# -- the report -----------------------------------------------------------------------------------


def render(result: dict[str, Any], phases: list[Phase], baseline: Phase | None,
           checks: list[Target]) -> str:
    """The human-readable report: settings, the table, ratios, targets, endpoints."""
    lines = [f"Salesforce push benchmark — {result['people']:,} people, "
             f"{result['latency_ms']:g} ms per call + {result['per_record_ms']:g} ms per record",
             f"sandbox: {result['sandbox_mode']}"
             + (f" (its own peak RSS {result['sandbox_peak_rss_mb']:,.0f} MB)"
                if result.get("sandbox_peak_rss_mb") else ""),
             f"mapping: shipped salesforce-lead, direction {result['direction']}, page_size "
             f"{result['page_size']:,}; connector bulk_threshold {result['bulk_threshold']:,}",
             f"baseline: {result['baseline_note']}",
             f"hub: {result['database']} (seeded in {result['seed_seconds']:.1f} s, "
             f"retitled in {result['retitle_seconds']:.1f} s)", ""]
    return "\n".join(lines + render_body(phases, baseline, checks))


# -- the command ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.salesforce_push", description=__doc__)
    parser.add_argument("--people", type=int, default=100_000, help="hub people to push")
    parser.add_argument("--latency-ms", type=float, default=300.0, help="sandbox latency per call")
    parser.add_argument("--per-record-ms", type=float, default=2.0,
                        help="sandbox latency per record sent or returned")
    parser.add_argument("--baseline", type=int, default=2_000,
                        help="records for the naive baseline (0: skip it)")
    parser.add_argument("--baseline-sequential", action="store_true",
                        help="run the baseline after the main run instead of alongside it")
    parser.add_argument("--database", help="hub database URL (default: a temporary SQLite file)")
    parser.add_argument("--page-size", type=int, default=10_000,
                        help="mapping page_size: hub records per push page (Bulk from 2,000)")
    parser.add_argument("--direction", default="to_remote", choices=("to_remote", "both"),
                        help="mapping direction (both: the pull phase reads every echo back)")
    parser.add_argument("--sandbox", default="subprocess", choices=("subprocess", "inprocess"),
                        help="where the sandbox runs (a child keeps its CPU off our GIL)")
    parser.add_argument("--bulk-poll-seconds", type=float,
                        help="connector bulk_poll_seconds (default: the connector's)")
    parser.add_argument("--quiet", action="store_true", help="no per-cycle progress on stderr")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_sandbox:
        serve_sandbox(args.latency_ms, args.per_record_ms)
        return 0
    if args.baseline_only:
        print(json.dumps(run_baseline(args.baseline, args.latency_ms,
                                      args.per_record_ms).as_json()))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-sf-"))
    url = args.database or f"sqlite:///{workdir / 'hub.db'}"
    progress = not args.quiet

    def say(message: str) -> None:
        if progress:
            print(message, file=sys.stderr, flush=True)

    baseline_child = None
    if args.baseline and not args.baseline_sequential:
        baseline_child = BaselineChild(args.baseline, args.latency_ms, args.per_record_ms)
    engine = db.make_engine(url)
    db.init_db(engine)
    say(f"seeding {args.people:,} people in {url}")
    seed_seconds = seed_people(engine, args.people)
    write_mapping(workdir, SHIPPED_MAPPING, args.direction, args.page_size)
    extra: dict[str, Any] = {}
    if args.bulk_poll_seconds is not None:
        extra["bulk_poll_seconds"] = args.bulk_poll_seconds
    sandbox = start_sandbox(args.sandbox, args.latency_ms, args.per_record_ms)
    log = CallLog(endpoint_of)
    try:
        with counting_requests(log):
            settings = sandbox.settings(**extra)
            run = SynclineRun(engine, workdir, MAPPING_NAME,
                              lambda name: SalesforceConnector(name, settings), log)
            say("creating")
            create = run.cycles("create", until_drained=True, progress=progress)
            retitle_started = time.perf_counter()
            retitle_people(engine)
            retitle_seconds = time.perf_counter() - retitle_started
            say("updating")
            updates = run.cycles("update", until_drained=True, progress=progress)
            idle = run.cycles("idle", until_drained=False, progress=progress)
        sandbox_rss = sandbox.peak_rss_mb()
    finally:
        sandbox.stop()
    baseline = None
    if args.baseline:
        say(f"baseline ({args.baseline:,} records)")
        baseline = (baseline_child.result() if baseline_child is not None else
                    BaselineChild(args.baseline, args.latency_ms, args.per_record_ms).result())
    total = Phase("create+update", records=create.records + updates.records,
                  failed=create.failed + updates.failed, cycles=create.cycles + updates.cycles,
                  write_calls=create.write_calls + updates.write_calls,
                  other_calls=create.other_calls + updates.other_calls,
                  auth_calls=create.auth_calls + updates.auth_calls,
                  connector_calls=create.connector_calls + updates.connector_calls,
                  seconds=create.seconds + updates.seconds, peak_rss_mb=updates.peak_rss_mb,
                  endpoints=dict(Counter(create.endpoints) + Counter(updates.endpoints)))
    phases = [create, updates, total, idle]
    checks = push_targets(args.people, create, updates, idle, per_call=COLLECTION_SIZE)
    result = {
        "people": args.people, "latency_ms": args.latency_ms, "per_record_ms": args.per_record_ms,
        "sandbox_mode": SANDBOX_MODES[args.sandbox],
        "sandbox_peak_rss_mb": sandbox_rss, "direction": args.direction,
        "page_size": args.page_size, "bulk_threshold": 2000,
        "baseline_note": (f"{args.baseline:,} records, simple-salesforce Lead.upsert one call each,"
                          f" own sandbox in a child process, "
                          f"{'after' if args.baseline_sequential else 'alongside'} the main run"
                          if args.baseline else "skipped"),
        "database": url.split("///")[0] + "///…" if args.database else "temporary SQLite file",
        "seed_seconds": seed_seconds, "retitle_seconds": retitle_seconds,
        "phases": [p.as_json() for p in phases],
        "baseline": baseline.as_json() if baseline else None,
        "targets": [asdict(c) for c in checks],
    }
    print(json.dumps(result, indent=2) if args.json else render(result, phases, baseline, checks))
    engine.dispose()
    if not args.database:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
