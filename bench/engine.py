"""What the sync engine costs: planning per 10,000 records, an idle cycle as the hub grows.

    .venv/bin/python -m bench.engine [--quick] [--only planners,cycles,idle,history,backfill]
        [--records 10000] [--idle 10000,1000000] [--repeats 15]

Sections (each prints its figures; nothing is asserted but that the setup did what it says):

- **planners**: the pure planners (``PullPlanner.plan_page``, ``PushPlanner.triage`` +
  ``plan_page``) over pages built in memory: new records, linked records unchanged, linked
  records changed. Milliseconds per 10,000 records, best of three.
- **cycles**: full cycles of ``--records`` records through ``jobs.engine.run_mapping`` against
  the memory CRM on a fresh database: new in the CRM (pulled), changed in the CRM, changed in
  the hub (pushed), new in the hub (matched, then created). Each phase runs cycles until one
  moves nothing, so the read-back of our own writes is counted too. This section uses only
  APIs the engine had before the fetch → plan → apply rewrite, to measure both sides of it.
- **idle**: a mapping with N linked people and nothing changed on either side, made with bulk
  INSERTs; the median of ``--repeats`` idle cycles at each N, the ratio (goal: within 1.5×), the
  slowest statements, and a check that the links are real (one edit per side syncs).
- **history**, **backfill**: ``bench.history.main`` and ``bench.backfill.main`` (the journal's
  write overhead, a field's backfill), when those modules exist; skipped with a note if not.

``--quick`` (a smoke test, seconds): 1,000 records, idle at 10,000 and 100,000, no history or
backfill.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from bench.engine_hub import BenchHub, Cycles, lead_fields, load_lead_mapping, person_values
from core import logs

PER = 10_000  # figures are per this many records
IDLE_GOAL = 1.5
SECTIONS = ("planners", "cycles", "idle", "history", "backfill")
QUICK_SKIPS = ("history", "backfill")


def say(line: str = "") -> None:
    print(line, flush=True)


def per_10k(seconds: float, records: int) -> str:
    return f"{ms_per_10k(seconds, records)} ms per {PER:,}"


def ms_per_10k(seconds: float, records: int) -> str:
    return f"{seconds * 1000 * PER / records:,.0f}"


# -- (a) the pure planners ------------------------------------------------------------------------


def planners(records: int, folder: Path) -> None:
    """Time the pull and push planners on in-memory pages of each kind of record."""
    try:
        from jobs.plan.pull import PullPage, PullPlanner, PullRules
        from jobs.plan.push import PushPage, PushPlanner
    except ImportError:
        say("  (this version has no pure planners: jobs.plan.pull / jobs.plan.push)")
        return
    from connectors.base import Change, Op
    from core.models import Link, Person
    from jobs.matching import match_key

    mappings, schema = load_lead_mapping(folder)
    mapping = mappings["crm-person"]
    # Whole-second versions (Salesforce's): an unchanged record still goes through the merge.
    pull = PullPlanner(PullRules(mapping, schema, Person, mappings, row_versions=False))
    push = PushPlanner(mapping, schema, mappings)
    then = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def hub(i: int, title: str = "Engineer") -> Person:
        return Person(**{**person_values(i), "title": title}, id=f"{i:032x}", change_seq=i + 1,
                      created_at=then, updated_at=then)

    def link(i: int) -> Link:
        return Link(hub_object="person", hub_id=f"{i:032x}", connection="crm",
                    remote_object="Lead", remote_id=f"00Q{i:012d}", mapping=mapping.name,
                    snapshot=lead_fields(i), remote_version="v1", synced_at=then)

    def change(i: int, title: str = "Engineer") -> Change:
        return Change(f"00Q{i:012d}", Op.UPSERT,
                      {"Id": f"00Q{i:012d}", **lead_fields(i), "Title": title},
                      modified_at=then + timedelta(minutes=1), version="v2")

    ids = range(records)
    pulls: dict[str, Callable[[], Any]] = {
        "new": lambda: PullPage([change(i) for i in ids], {}, {}, match_keys={
            f"00Q{i:012d}": [("email", str(match_key("email", lead_fields(i)["Email"])))]
            for i in ids}),
        "linked, unchanged": lambda: PullPage(
            [change(i) for i in ids], {f"00Q{i:012d}": link(i) for i in ids},
            {f"{i:032x}": hub(i) for i in ids}),
        "linked, changed": lambda: PullPage(
            [change(i, "Director") for i in ids], {f"00Q{i:012d}": link(i) for i in ids},
            {f"{i:032x}": hub(i) for i in ids}),
    }
    pushes: dict[str, Callable[[], Any]] = {
        "new": lambda: ([hub(i) for i in ids], {}),
        "linked, unchanged": lambda: ([hub(i) for i in ids], {f"{i:032x}": link(i) for i in ids}),
        "linked, changed": lambda: ([hub(i, "Director") for i in ids],
                                    {f"{i:032x}": link(i) for i in ids}),
    }

    def plan_push(hubs: list[Any], links: dict[str, Any]) -> list[Any]:
        decided = push.triage(hubs, links)
        unlinked = [h for h in hubs if decided[h.id] is None and h.id not in links]
        page = PushPage(hubs, links)
        if unlinked:
            _, page.match_keys = push.lookups(unlinked)  # nothing found over there: creates
        return push.plan_page(page, decided)

    say(f"  {'page of ' + format(records, ',') + ' records':<28} {'pull':>22} {'push':>22}")
    for kind in pulls:
        pull_s, pull_actions = best_of(3, pulls[kind], pull.plan_page)
        push_s, push_actions = best_of(3, pushes[kind], lambda made: plan_push(*made))
        say(f"  {kind:<28} {per_10k(pull_s, records):>22} {per_10k(push_s, records):>22}"
            f"   ({kinds(pull_actions)} / {kinds(push_actions)})")


def best_of(times: int, make: Callable[[], Any], run: Callable[[Any], list[Any]]
            ) -> tuple[float, list[Any]]:
    """The fastest of ``times`` runs on one input (made outside the clock), and its output.

    The planners are pure: planning a page leaves it as it was, so every run sees the same.
    """
    best, out, made = float("inf"), [], make()
    for _ in range(times):
        started = time.perf_counter()
        out = run(made)
        best = min(best, time.perf_counter() - started)
    return best, out


def kinds(actions: list[Any]) -> str:
    """What the planner decided, e.g. ``10,000 Update`` (shows the page took the intended path)."""
    found = Counter(type(a).__name__ for a in actions)
    return ", ".join(f"{n:,} {name}" for name, n in found.most_common())


# -- (a) full cycles ------------------------------------------------------------------------------


def cycles(records: int) -> float:
    """Four phases of ``records`` records through real cycles; total CPU seconds."""
    phases: list[Cycles] = []
    say(f"  {'ms per ' + format(PER, ',') + ' records':<27} {'CPU':>8} {'wall':>8}")
    with BenchHub() as hub:
        steps: list[tuple[str, Callable[[], object]]] = [
            ("new in the CRM (pull)", lambda: hub.crm_creates(records, "")),
            ("changed in the CRM (pull)", lambda: hub.crm_retitles("Director")),
            ("changed in the hub (push)", lambda: hub.hub_retitles("Vice President")),
            ("new in the hub (push)", lambda: hub.hub_creates(records, "new")),
        ]
        for name, prepare in steps:
            prepare()
            gc.collect()
            phase = hub.until_quiet(name, records)
            phases.append(phase)
            say(f"  {name:<27} {ms_per_10k(phase.total_cpu, records):>8} "
                f"{ms_per_10k(phase.total, records):>8}  ({len(phase.reports)} cycles, CPU "
                f"{' + '.join(f'{s:.2f}' for s in phase.cpu)} s; {phase.describe()})")
        if any(p.moved() < records for p in phases):
            raise RuntimeError("a phase moved fewer records than it was given: see above")
    cpu, wall = sum(p.total_cpu for p in phases), sum(p.total for p in phases)
    say(f"  {'all four':<27} {ms_per_10k(cpu, records):>8} {ms_per_10k(wall, records):>8}"
        f"  ({4 * records:,} record changes)")
    return cpu


# -- (b) the idle cycle ---------------------------------------------------------------------------


@contextmanager
def statement_times(engine: Engine) -> Iterator[Counter[str]]:
    """Seconds spent per SQL statement (first 120 characters) inside the ``with``."""
    spent: Counter[str] = Counter()

    def before(conn: Any, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        spent[" ".join(statement.split())[:120]] += time.perf_counter() - conn.info.pop(
            "bench_started")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def idle(linked: int, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of an idle cycle with ``linked`` people linked (printed)."""
    with BenchHub() as hub:
        seeded = hub.seed_linked(linked)
        report, _, _ = hub.cycle()  # the first cycle warms caches and opens the pool
        if report.read > 1 or report.backlog or hub.until_quiet("idle", 0).moved():
            raise RuntimeError(f"the seeded hub is not idle: {report}")
        # The memory CRM keeps a million records in this process: keep them (and the seed's
        # garbage) out of the collector's full passes, which a real CRM would never cost us.
        gc.collect()
        gc.freeze()
        try:
            seconds, cpu = [], []
            with statement_times(hub.engine) as spent:
                for _ in range(repeats):
                    report, taken, used = hub.cycle()
                    seconds.append(taken)
                    cpu.append(used)
        finally:
            gc.unfreeze()
        median = statistics.median(seconds)
        say(f"  {linked:>9,} linked: median {median * 1000:6.1f} ms wall "
            f"({statistics.median(cpu) * 1000:.1f} ms CPU), fastest {min(seconds) * 1000:.1f} ms "
            f"over {repeats} cycles; {report.read} read, {report.api_calls} API call; "
            f"seeded in {seeded:.0f} s")
        slowest = spent.most_common(3)
        say(f"{'':13}{len(spent)} distinct statements; the slowest, ms per cycle:")
        for statement, spent_seconds in slowest:
            say(f"{'':15}{spent_seconds * 1000 / repeats:6.2f}  {statement[:90]}")
        check_links_are_real(hub, linked)
    return median, statistics.median(cpu)


def check_links_are_real(hub: BenchHub, linked: int) -> None:
    """One hub edit goes out as one update, one CRM edit comes in as one: the seed is a sync."""
    index = linked // 2
    hub.hub_edit(index, "Pushed title")
    pushed, _, _ = hub.cycle()
    lead = hub.lead_of(index)
    hub.store.update("Lead", lead["Id"], {"Title": "Pulled title"}, validate=False)
    pulled, _, _ = hub.cycle()
    if (pushed.updated_remote, pushed.created_remote, lead["Title"]) != (1, 0, "Pushed title") or (
        pulled.updated_hub, pulled.created_hub, hub.person_title(index)
    ) != (1, 0, "Pulled title"):
        raise RuntimeError(f"the seeded links do not sync as links: {pushed} / {pulled}")


# -- (c), (d): the journal and the backfill, from their own benches ------------------------------


def delegated(module_name: str, argv: list[str]) -> None:
    """Call ``module_name.main(argv)`` if the module exists; a note otherwise."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        say(f"  skipped: {module_name} is not in this checkout")
        return
    code = module.main(argv)
    if code:
        raise RuntimeError(f"{module_name}.main({argv}) returned {code}")


# -- the run --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1,000 records, idle at 10,000 and 100,000")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"sections to run, comma-separated ({', '.join(SECTIONS)})")
    parser.add_argument("--records", type=int, help="records per planner page and cycle phase")
    parser.add_argument("--idle", help="linked people for the idle cycle, small,large")
    parser.add_argument("--repeats", type=int, help="idle cycles measured at each size")
    parser.add_argument("--history-args", default="", help="arguments for bench.history.main")
    parser.add_argument("--backfill-args", default="", help="arguments for bench.backfill.main")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    if args.quick:
        args.sections = [s for s in args.sections if s not in QUICK_SKIPS]
    args.records = args.records or (1_000 if args.quick else PER)
    args.repeats = args.repeats or (7 if args.quick else 15)
    sizes = args.idle or ("10000,100000" if args.quick else "10000,1000000")
    try:
        args.small, args.large = (int(n) for n in sizes.split(","))
    except ValueError:
        parser.error(f"--idle wants two sizes, small,large, not {sizes!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print their figures."""
    args = parse_args(argv)
    logs.configure("ERROR")  # the engine's per-run events are not the point here
    say(f"bench.engine on {platform.node()} ({platform.python_version()}, "
        f"{os.cpu_count()} cores), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    started = time.perf_counter()
    if "planners" in args.sections:
        say(f"\n(a) planning, pure planners, best of 3 ({args.records:,} records a page):")
        with tempfile.TemporaryDirectory() as folder:
            planners(args.records, Path(folder))
    if "cycles" in args.sections:
        say(f"\n(a) planning, full cycles through jobs.engine.run_mapping "
            f"(memory CRM, {args.records:,} records a phase):")
        cycles(args.records)
    if "idle" in args.sections:
        say(f"\n(b) idle cycle (pull + push, nothing changed), median of {args.repeats}:")
        small, small_cpu = idle(args.small, args.repeats)
        large, large_cpu = idle(args.large, args.repeats)
        # Both: the wall clock is what a user waits, but on a shared box it mostly measures
        # the other work (and the disk's fsyncs); the CPU time is what the cycle itself costs.
        for clock, ratio in (("wall", large / small), ("CPU", large_cpu / small_cpu)):
            verdict = "met" if ratio <= IDLE_GOAL else "MISSED"
            say(f"  {args.large:,} vs {args.small:,} linked: {ratio:.2f}x {clock} "
                f"(goal <= {IDLE_GOAL}x: {verdict})")
    for name in ("history", "backfill"):
        if name in args.sections:
            label = "(c) journal write overhead" if name == "history" else "(d) backfill"
            say(f"\n{label} (bench.{name}):")
            delegated(f"bench.{name}", getattr(args, f"{name}_args").split())
    say(f"\ndone in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
