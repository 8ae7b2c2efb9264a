"""Work in the hub alone that follows what the pulls brought: campaign members → touches.

It runs after the pulls of ``syncline sync`` (and the demo's cycles), before the pushes, so a
response read from Salesforce is a touch before anything is sent on; the scheduler runs it on
its own job. It never runs inside a mapping's cycle: it plans no remote write and holds no
mapping's lease. Each step keeps its own cursor over the change sequence.
"""

from __future__ import annotations

import logging

from core.db import UNREACHABLE
from core.logs import event, get_logger
from jobs.mapping_run import SyncContext
from touches.members import MemberTouchReport, member_touches

log = get_logger("engine")

#: How often the scheduler runs the hub steps (the shipped mappings' schedule).
HUB_STEPS_SECONDS = 30


def run_hub_steps(ctx: SyncContext) -> MemberTouchReport | None:
    """Run every hub step once; None when there is nothing to run them with (no programs).

    A failing step is logged and leaves its cursor where it was (its next run redoes the
    work): the pushes after it must still happen. An unreachable database is raised.
    """
    if ctx.programs is None:
        return None
    try:
        report = member_touches(ctx.engine, ctx.programs)
    except UNREACHABLE:
        raise
    except Exception as exc:  # a bug in a step must not keep the mappings from pushing
        event(log, "hub_step.failed", level=logging.ERROR, step="member-touches",
              error=f"{type(exc).__name__}: {exc}")
        return None
    if report.created or report.updated or report.removed:
        event(log, "touches.from_members", members=report.members, created=report.created,
              updated=report.updated, removed=report.removed)
    return report
