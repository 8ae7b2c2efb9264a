"""Runs of mappings: one mapping (pull, then push), or several (every pull, then every push).

Pulling first means the push phase compares hub values against snapshots that already include
the remote's latest changes, so a conflict is resolved once, and the push only sends what the
hub really has to say. A run of several pulls them all before any pushes, so a change made in
one CRM reaches the others in the same run (jobs.mapping_run holds each mapping's run).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from core.db import UNREACHABLE
from core.errors import InputError
from core.logs import event, get_logger
from jobs.backfill.scope import Resync
from jobs.cycle import Progress
from jobs.hub_steps import run_hub_steps
from jobs.mapping_run import ActiveCycle, MappingRun, SyncContext
from jobs.report import RunReport
from mappings.spec import Mapping

log = get_logger("engine")

__all__ = ["ActiveCycle", "SyncContext", "active_cycles", "ordered", "run_all", "run_mapping"]

def run_mapping(
    ctx: SyncContext,
    name: str,
    *,
    trigger: str = "manual",
    dry_run: bool = False,
    allow_mass_change: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
    resync: Resync | None = None,
) -> RunReport:
    """Run one cycle of one mapping and report it; remote failures never escape as exceptions.

    ``wait``: seconds to keep trying when another process holds the mapping (default: none).
    ``resync``: a backfill to do in this run besides the stored requests (a dry run's).
    """
    run = _mapping_run(ctx, name, trigger, dry_run, allow_mass_change, progress, wait, resync)
    try:
        if run.open():
            run.pull()
            run.push()
    finally:
        report = run.close()
    return report


def _mapping_run(
    ctx: SyncContext,
    name: str,
    trigger: str,
    dry_run: bool,
    allow_mass_change: bool,
    progress: Progress | None,
    wait: float,
    resync: Resync | None = None,
) -> MappingRun:
    return MappingRun(
        ctx, name, trigger=trigger, dry_run=dry_run, allow_mass_change=allow_mass_change,
        progress=progress, wait=wait, register=_active_add, unregister=_active_remove,
        resync=resync,
    )


_active: list[ActiveCycle] = []
_active_lock = threading.Lock()


def _active_add(mapping: str, holder: str | None) -> ActiveCycle | None:
    if holder is None:
        return None  # a dry run holds nothing and writes nothing
    cycle = ActiveCycle(mapping, holder)
    with _active_lock:
        _active.append(cycle)
    return cycle


def _active_remove(cycle: ActiveCycle | None) -> None:
    if cycle is not None:
        with _active_lock:
            _active.remove(cycle)


def active_cycles() -> list[ActiveCycle]:
    """The cycles running in this process right now."""
    with _active_lock:
        return list(_active)


def ordered(mappings: dict[str, Mapping], names: Iterable[str] | None = None) -> list[str]:
    """Mapping names with every ``ref`` target before the mappings that point at it."""
    wanted = list(names) if names is not None else sorted(mappings)
    done: list[str] = []

    # A mapping whose records join campaigns by name (a form naming its webinar) runs after
    # the mappings bringing campaigns in, so a campaign new in this run is known to it.
    campaigns = [n for n in wanted if mappings[n].hub_object == "campaign"
                 and mappings[n].direction.pulls]

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path:
            return
        for row in mappings[name].fields:
            for ref in row.refs:
                if ref in mappings and ref in wanted:
                    visit(ref, (*path, name))
        if _joins_campaigns(mappings[name]):
            for other in campaigns:
                visit(other, (*path, name))
        done.append(name)

    for name in wanted:
        visit(name, ())
    return done


def _joins_campaigns(mapping: Mapping) -> bool:
    """Does the mapping's activity name campaigns by a value of its records?"""
    activity = mapping.activity
    if activity is None:
        return False
    return activity.membership is not None or any(t.campaign for t in activity.touches)


def run_all(
    ctx: SyncContext,
    names: Sequence[str] | None = None,
    *,
    trigger: str = "manual",
    dry_run: bool = False,
    allow_mass_change: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
    resync: dict[str, Resync] | None = None,
) -> list[RunReport]:
    """Run each named (default: every enabled) mapping once: every pull, then every push.

    Pulling all of them first puts a change read from one CRM into the hub before any mapping
    pushes, so it reaches the other CRMs in this run: a second run finds nothing to write.
    Each mapping keeps its lease for the whole run. Dependencies (``ref`` targets) go first in
    both rounds. Between the rounds the hub steps run (jobs.hub_steps: campaign members
    become touches), except in a dry run. ``resync``: per mapping name, a backfill to do
    besides the stored requests.
    """
    for name in names or ():
        if name not in ctx.mappings:
            known = ", ".join(sorted(ctx.mappings)) or "none"
            raise InputError("sync", f"no mapping named {name!r} (known: {known})")
    chosen = list(names) if names else [n for n, m in ctx.mappings.items() if m.enabled]
    runs = [
        _mapping_run(ctx, name, trigger, dry_run, allow_mass_change, progress, wait,
                     (resync or {}).get(name))
        for name in ordered(ctx.mappings, chosen)
    ]
    opened: list[MappingRun] = []
    try:
        opened = [run for run in runs if run.open()]
        for run in opened:
            run.pull()
        if opened and not dry_run:
            run_hub_steps(ctx)
        for run in opened:
            run.push()
    finally:
        reports = [_close(run) for run in runs]
    return reports


def _close(run: MappingRun) -> RunReport:
    """Close one run even when closing another failed (every lease must be given back)."""
    try:
        return run.close()
    except UNREACHABLE:
        raise
    except Exception:  # closing is bookkeeping: the other runs' leases matter more
        event(log, "run.close_failed", mapping=run.name)
        return run.report
