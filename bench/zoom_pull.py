"""Benchmark: pull 100,000 Zoom registrants (and the people behind them) through the connector.

``python -m bench.zoom_pull`` seeds the in-process Zoom sandbox's store directly (200 webinars:
half upcoming, half ended within ``recent_days`` with their reports, a few of those still
waiting for Zoom's report; 100,000 registrants, 50,000 participant rows, some people joining
twice), gives every API call 100 ms of latency, then drives the connector's ``read_changes``:
a full read of ``registrant`` then ``person`` (one sync cycle), and an idle incremental cycle
of both. It prints API calls (against the goal of ⌈registrants/300⌉ per webinar, summed),
records/hour, wall time, peak RSS and the idle cycle's calls against their formula.
``--small`` is a quick smoke (seconds).
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.base import Page
from connectors.zoom import ZoomConnector
from connectors.zoom.cache import LISTINGS
from sandboxes.zoom.sandbox import ZoomSandbox

PAGE = 300


@dataclass(frozen=True)
class Sizes:
    """What to seed, and how slow each call is."""

    webinars: int
    registrants: int
    participants: int
    waiting: int
    latency_ms: float


FULL = Sizes(webinars=200, registrants=100_000, participants=50_000, waiting=5, latency_ms=100)
SMALL = Sizes(webinars=10, registrants=1_000, participants=500, waiting=1, latency_ms=5)


@dataclass(frozen=True)
class Seeded:
    """What the seed made: registrants per webinar, and which webinars are which."""

    per_webinar: list[int]
    upcoming: list[int]
    waiting: list[int]
    ready: list[int]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(sandbox: ZoomSandbox, sizes: Sizes) -> Seeded:
    """Fill the sandbox's store directly (the control API would take minutes for 100,000)."""
    account = sandbox.account
    now = datetime.now(UTC).replace(microsecond=0)
    ended_count = sizes.webinars // 2
    ids: list[int] = []
    for n in range(sizes.webinars):
        ended = n < ended_count
        start = now - timedelta(days=2, hours=n) if ended else now + timedelta(days=1 + n)
        made = account.create_webinar({"topic": f"Webinar {n}", "start_time": _iso(start),
                                       "duration": 60})
        ids.append(int(made["id"]))
    per = [sizes.registrants // sizes.webinars + (1 if n < sizes.registrants % sizes.webinars
                                                  else 0) for n in range(sizes.webinars)]
    person = 0
    for webinar_id, count in zip(ids, per, strict=True):
        for _ in range(count):
            # People come back: every third registration is someone who registered for an
            # earlier webinar (``per[0]`` is the largest count, so never this webinar's).
            who = person - per[0] if person % 3 == 0 and person >= per[0] else person
            account.register(webinar_id, {
                "email": f"person{who}@example.com", "first_name": f"First{who}",
                "last_name": f"Last{who}", "org": f"Org {who % 997}", "job_title": "Analyst",
                "country": "DE", "industry": "Software"})
            person += 1
    ended_ids = ids[:ended_count]
    waiting = ended_ids[:sizes.waiting]
    ready = ended_ids[sizes.waiting:]
    rows_each = sizes.participants // max(len(ready), 1)
    for webinar_id in ended_ids:
        emails = [r["email"] for r in account.registrants[webinar_id].values()]
        start = datetime.fromisoformat(
            account.webinars[webinar_id]["start_time"].replace("Z", "+00:00"))
        joins = []
        # A fifth of the attendees join twice (a dropped connection), the rest once.
        attendees = emails[:max(1, round(rows_each / 1.2))]
        for k, email in enumerate(attendees):
            joins.append({"email": email, "join_time": _iso(start + timedelta(minutes=k % 10)),
                          "leave_time": _iso(start + timedelta(minutes=20 + k % 10))})
            if len(joins) < rows_each and k % 5 == 0:
                joins.append({"email": email, "join_time": _iso(start + timedelta(minutes=30)),
                              "leave_time": _iso(start + timedelta(minutes=55))})
        account.end_webinar(webinar_id, joins[:rows_each],
                            report_ready=webinar_id not in waiting)
    return Seeded(per, ids[ended_count:], waiting, ready)


def drain(connector: ZoomConnector, object_name: str, since: str | None) -> tuple[int, str]:
    """Read every page; the records read and the last cursor."""
    records, cursor = 0, since
    page: Page
    for page in connector.read_changes(object_name, since):
        records += len(page.changes)
        cursor = page.cursor or cursor
    return records, cursor or ""


def peak_rss_mb() -> float:
    """Peak resident set of this process (the sandbox store included: it runs in-process)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.zoom_pull", description=__doc__)
    parser.add_argument("--small", action="store_true", help="a quick smoke run")
    parser.add_argument("--latency-ms", type=float, default=None)
    args = parser.parse_args(argv)
    sizes = SMALL if args.small else FULL
    if args.latency_ms is not None:
        sizes = Sizes(sizes.webinars, sizes.registrants, sizes.participants, sizes.waiting,
                      args.latency_ms)
    LISTINGS.clear()
    with ZoomSandbox() as sandbox:
        sandbox.limits.configure(light=10_000, medium=10_000, heavy=10_000)
        started = time.perf_counter()
        seeded = seed(sandbox, sizes)
        print(f"seeded {sizes.webinars} webinars ({len(seeded.upcoming)} upcoming, "
              f"{len(seeded.ready)} ended with a report, {len(seeded.waiting)} waiting for one), "
              f"{sizes.registrants:,} registrants, {sizes.participants:,} participant rows "
              f"in {time.perf_counter() - started:.1f} s; {sizes.latency_ms:g} ms per API call")
        sandbox.faults.configure(latency_ms=sizes.latency_ms)
        connector = ZoomConnector("zoom", {
            "type": "zoom", "account_id": sandbox.account_id, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "api_url": sandbox.api_url,
            "token_url": sandbox.token_url})
        goal = sum(math.ceil(n / PAGE) for n in seeded.per_webinar)

        started = time.perf_counter()
        registrants, registrant_cursor = drain(connector, "registrant", None)
        registrant_calls = connector.api_calls
        people, person_cursor = drain(connector, "person", None)
        full_wall = time.perf_counter() - started
        full_calls = connector.api_calls
        report_calls = registrant_calls - 1 - goal
        print("\nfull read (one cycle: registrant, then person)")
        print(f"  registrants read      {registrants:,}")
        print(f"  people read           {people:,}")
        print(f"  API calls             {full_calls:,} (registrant {registrant_calls:,}, "
              f"person {full_calls - registrant_calls:,})")
        print(f"  goal                  {goal:,} registrant listing calls "
              f"(⌈registrants/300⌉ per webinar, summed); read: 1 webinars listing + "
              f"{goal:,} + {report_calls:,} report/absentee calls "
              f"(goal met: {'yes' if registrant_calls - report_calls - 1 <= goal else 'NO'})")
        print(f"  wall time             {full_wall:.1f} s")
        print(f"  records/hour          {(registrants + people) / full_wall * 3600:,.0f}")

        before = connector.api_calls
        started = time.perf_counter()
        idle_registrants, _ = drain(connector, "registrant", registrant_cursor)
        idle_registrant_calls = connector.api_calls - before
        idle_people, _ = drain(connector, "person", person_cursor)
        idle_wall = time.perf_counter() - started
        idle_calls = connector.api_calls - before
        formula = 1 + sum(math.ceil(seeded.per_webinar[n] / PAGE)
                          for n in range(sizes.webinars // 2, sizes.webinars)) \
            + len(seeded.waiting)
        print("\nidle cycle (incremental: registrant, then person)")
        print(f"  records read          {idle_registrants + idle_people:,}")
        print(f"  API calls             {idle_calls:,} (registrant {idle_registrant_calls:,}, "
              f"person {idle_calls - idle_registrant_calls:,}; formula: 1 listing + "
              f"⌈registrants/300⌉ per upcoming webinar + 1 per report awaited = {formula:,}; "
              f"{'met' if idle_calls <= formula else 'MISSED'})")
        print(f"  wall time             {idle_wall:.1f} s")
        print(f"\npeak RSS                {peak_rss_mb():,.0f} MB (this process, sandbox "
              "store included)")
        connector.close()
    LISTINGS.clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
