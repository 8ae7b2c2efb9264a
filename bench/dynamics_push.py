"""Benchmark: push N hub people to the Dataverse sandbox (create, update, idle) vs a naive client.

``python -m bench.dynamics_push --people 100000`` seeds N people in a hub database, runs real
``run_mapping`` cycles of the shipped ``dynamics-lead`` mapping against a DynamicsSandbox with
realistic latency until the backlog is empty, updates every person and drains again, then runs
one idle cycle. A naive baseline (plain requests, one ``PATCH leads(syncline_hubid='…')`` upsert
per record) runs on a smaller N in a child process. It prints calls per 1,000 records,
records/hour and peak RSS per phase, the ratios against the baseline, and the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench.common import (
    REPO,
    SANDBOX_MODES,
    BaselineChild,
    CallLog,
    ChildSandbox,
    Phase,
    SynclineRun,
    Target,
    counting_requests,
    peak_rss_mb,
    person_row,
    push_targets,
    render_body,
    retitle_people,
    seed_people,
    serve_until_stdin_closes,
    write_mapping,
)
from connectors.dynamics import DynamicsConnector
from connectors.dynamics.settings import MAX_BATCH_SIZE
from core import clock, db

MODULE = "bench.dynamics_push"
SHIPPED_MAPPING = REPO / "mappings" / "dynamics-lead.yaml"
MAPPING_NAME = "dynamics-lead"
CONNECTION = "dynamics"

#: The issue's targets: write calls per phase ≤ ⌈N/1000⌉ (one $batch per 1,000 records);
#: throughput and the idle cycle as in the Salesforce bench.
#: Service protection is 6,000 requests per user per 5 minutes; the bench measures the
#: connector, not the throttle, unless --requests-per-window says otherwise.
UNTHROTTLED = 1_000_000_000


# -- naming requests ------------------------------------------------------------------------------

_WEB_API = re.compile(r"^/api/data/v\d+\.\d+")
_KEY = re.compile(r"\([^)]*\)")
_TENANT = re.compile(r"^/[0-9a-f-]{36}/")


def endpoint_of(method: str, url: str) -> str:
    """``PATCH /leads(…)``, ``GET /leads?$filter``: method and path with keys and tenant folded.

    Reads are told apart by what they ask: a ``$filter`` query (lookups), a ``$deltatoken``
    (change tracking since a link) or neither (a full read, metadata).
    """
    parts = urlsplit(url)
    path = _TENANT.sub("/{tenant}/", _KEY.sub("(…)", _WEB_API.sub("", parts.path)))
    query = parse_qs(parts.query)
    marker = next((f"?{name}" for name in ("$filter", "$deltatoken") if name in query), "")
    return f"{method} {path}{marker}"


# -- the sandbox ----------------------------------------------------------------------------------


@dataclass
class SandboxHandle:
    """Where the sandbox listens and with which app registration, and how it was run."""

    hello: dict[str, str]
    mode: str
    stop: Any
    child: ChildSandbox | None = None

    def settings(self) -> dict[str, Any]:
        """A ``type: dynamics`` connection pointing at this sandbox."""
        return {"type": "dynamics", **self.hello}

    def peak_rss_mb(self) -> float | None:
        """The sandbox's own peak RSS when it runs in a child (else it is part of ours)."""
        return self.child.peak_rss_mb() if self.child is not None else None


def _new_sandbox(latency_ms: float, per_record_ms: float, requests_per_window: int) -> Any:
    from sandboxes.dynamics.faults import Faults
    from sandboxes.dynamics.sandbox import DynamicsSandbox, SandboxConfig

    faults = Faults(latency_ms=latency_ms, latency_per_record_ms=per_record_ms)
    config = SandboxConfig(requests_per_window=requests_per_window)
    return DynamicsSandbox(config, faults=faults).start()


def _hello(sandbox: Any) -> dict[str, str]:
    return {"url": sandbox.url, "token_url": sandbox.token_url,
            "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}


def _sandbox_args(latency_ms: float, per_record_ms: float, requests_per_window: int) -> list[str]:
    return ["--latency-ms", str(latency_ms), "--per-record-ms", str(per_record_ms),
            "--requests-per-window", str(requests_per_window)]


def start_sandbox(mode: str, latency_ms: float, per_record_ms: float,
                  requests_per_window: int) -> SandboxHandle:
    """The sandbox in this process, or in a child so its CPU work never holds our GIL."""
    if mode == "inprocess":
        sandbox = _new_sandbox(latency_ms, per_record_ms, requests_per_window)
        return SandboxHandle(_hello(sandbox), mode, sandbox.stop)
    child = ChildSandbox.start(MODULE, _sandbox_args(latency_ms, per_record_ms,
                                                     requests_per_window))
    return SandboxHandle(child.hello, mode, child.stop, child)


def serve_sandbox(latency_ms: float, per_record_ms: float, requests_per_window: int) -> None:
    """Child side of ``--sandbox subprocess``."""
    sandbox = _new_sandbox(latency_ms, per_record_ms, requests_per_window)
    serve_until_stdin_closes(_hello(sandbox), sandbox.stop)


# -- the naive baseline ---------------------------------------------------------------------------

#: Lead Source "Seminar" in the sandbox's option set: the shipped value_map's Webinar.
LEAD_SOURCE_SEMINAR = 6


def lead_body(row: dict[str, Any]) -> dict[str, Any]:
    """The columns the shipped mapping sends for a person, as a hand-written script would."""
    return {"emailaddress1": row["email"], "firstname": row["first_name"],
            "lastname": row["last_name"], "companyname": row["company"],
            "jobtitle": row["title"], "telephone1": row["phone"],
            "address1_city": row["city"], "address1_country": row["country"],
            "donotbulkemail": False, "subject": "Marketing lead: Webinar",
            "leadsourcecode": LEAD_SOURCE_SEMINAR}


def run_baseline(count: int, latency_ms: float, per_record_ms: float,
                 requests_per_window: int) -> Phase:
    """Plain requests, one ``PATCH leads(syncline_hubid='…')`` upsert per record."""
    sandbox = _new_sandbox(latency_ms, per_record_ms, requests_per_window)
    log = CallLog(endpoint_of)
    phase = Phase("baseline")
    try:
        with counting_requests(log), requests.Session() as session:
            token = session.post(sandbox.token_url, data=sandbox.token_form(), timeout=60)
            token.raise_for_status()
            session.headers.update({
                "Authorization": f"Bearer {token.json()['access_token']}",
                "OData-MaxVersion": "4.0", "OData-Version": "4.0",
                "Accept": "application/json"})
            now = clock.utcnow()
            started = time.perf_counter()
            for index in range(count):
                row = person_row(index, index + 1, now)
                response = session.patch(
                    f"{sandbox.api_url}/leads(syncline_hubid='{row['id']}')",
                    json=lead_body(row), timeout=60)
                if response.ok:
                    phase.records += 1
                else:
                    phase.failed += 1
                    if len(phase.errors) < 3:
                        phase.errors.append(f"{response.status_code} {response.text[:200]}")
            phase.seconds = time.perf_counter() - started
        phase.count(Counter(), log.snapshot())
    finally:
        sandbox.stop()
    phase.cycles = 1
    phase.peak_rss_mb = peak_rss_mb()
    return phase


# -- the report -----------------------------------------------------------------------------------


def render(result: dict[str, Any], phases: list[Phase], baseline: Phase | None,
           checks: list[Target]) -> str:
    """The human-readable report: settings, then the shared table, ratios, targets, endpoints."""
    throttle = result["requests_per_window"]
    lines = [f"Dynamics 365 push benchmark — {result['people']:,} people, "
             f"{result['latency_ms']:g} ms per call + {result['per_record_ms']:g} ms per record",
             f"sandbox: {result['sandbox_mode']}"
             + (f" (its own peak RSS {result['sandbox_peak_rss_mb']:,.0f} MB)"
                if result.get("sandbox_peak_rss_mb") else ""),
             "service protection: " + ("off (limit raised out of reach)" if throttle >= UNTHROTTLED
                                       else f"{throttle:,} requests per 5 minutes"),
             f"mapping: shipped dynamics-lead, direction {result['direction']}, page_size "
             f"{result['page_size']:,}; connector max_batch_size {MAX_BATCH_SIZE:,} "
             "($batch, continue-on-error)",
             f"baseline: {result['baseline_note']}",
             f"hub: {result['database']} (seeded in {result['seed_seconds']:.1f} s, "
             f"retitled in {result['retitle_seconds']:.1f} s)", ""]
    return "\n".join(lines + render_body(phases, baseline, checks))


# -- the command ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
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
                        help="mapping page_size: hub records per push page")
    parser.add_argument("--direction", default="to_remote", choices=("to_remote", "both"),
                        help="mapping direction (both: the pull phase reads every echo back)")
    parser.add_argument("--sandbox", default="subprocess", choices=("subprocess", "inprocess"),
                        help="where the sandbox runs (a child keeps its CPU off our GIL)")
    parser.add_argument("--requests-per-window", type=int, default=UNTHROTTLED,
                        help="service protection: requests per user per 5 minutes "
                             "(Dataverse: 6000; default: out of reach)")
    parser.add_argument("--quiet", action="store_true", help="no per-cycle progress on stderr")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sandbox_args = _sandbox_args(args.latency_ms, args.per_record_ms, args.requests_per_window)
    if args.serve_sandbox:
        serve_sandbox(args.latency_ms, args.per_record_ms, args.requests_per_window)
        return 0
    if args.baseline_only:
        print(json.dumps(run_baseline(args.baseline, args.latency_ms, args.per_record_ms,
                                      args.requests_per_window).as_json()))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-dyn-"))
    url = args.database or f"sqlite:///{workdir / 'hub.db'}"
    progress = not args.quiet

    def say(message: str) -> None:
        if progress:
            print(message, file=sys.stderr, flush=True)

    baseline_args = ["--baseline", str(args.baseline), *sandbox_args]
    baseline_child = None
    if args.baseline and not args.baseline_sequential:
        baseline_child = BaselineChild(MODULE, baseline_args)
    engine = db.make_engine(url)
    db.init_db(engine)
    say(f"seeding {args.people:,} people in {url}")
    seed_seconds = seed_people(engine, args.people)
    write_mapping(workdir, SHIPPED_MAPPING, args.direction, args.page_size)
    sandbox = start_sandbox(args.sandbox, args.latency_ms, args.per_record_ms,
                            args.requests_per_window)
    log = CallLog(endpoint_of)
    settings = sandbox.settings()
    try:
        with counting_requests(log):
            run = SynclineRun(engine, workdir, MAPPING_NAME,
                              lambda name: DynamicsConnector(name, settings), log)
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
        baseline = (baseline_child or BaselineChild(MODULE, baseline_args)).result()
    total = Phase.combined("create+update", [create, updates])
    phases = [create, updates, total, idle]
    checks = push_targets(
        args.people, create, updates, idle, per_call=MAX_BATCH_SIZE,
        write_note=" (⌈N/1000⌉)", idle_label="1 table",
    )
    result = {
        "people": args.people, "latency_ms": args.latency_ms, "per_record_ms": args.per_record_ms,
        "sandbox_mode": SANDBOX_MODES[args.sandbox], "sandbox_peak_rss_mb": sandbox_rss,
        "requests_per_window": args.requests_per_window, "direction": args.direction,
        "page_size": args.page_size, "max_batch_size": MAX_BATCH_SIZE,
        "baseline_note": (f"{args.baseline:,} records, plain requests, one PATCH "
                          "leads(syncline_hubid='…') upsert each (one keep-alive Session), own "
                          "sandbox in a child process, "
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
