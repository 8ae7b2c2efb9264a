"""Hub work that follows what the pulls brought: member touches, scores, then attribution.

Campaign members become touches, people whose fields or touches changed are scored again
(scoring.yaml) and moved through their lifecycle stages (lifecycle.yaml), then attribution
recomputes the opportunities whose touches,
people or amounts changed. It runs after the pulls of ``syncline sync`` (and the demo's
cycles), before the pushes, so a response read from Salesforce is a touch, and its credit a
Campaign Influence row, before anything is sent on; the scheduler runs it on its own job. It
never runs inside a mapping's cycle: it plans no remote write and holds no mapping's lease.
Each step keeps its own cursor over the change sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from attribution import engine as attribution
from core.db import UNREACHABLE
from core.logs import event, get_logger
from jobs.mapping_run import SyncContext
from lifecycle.run import LifecycleReport, run_lifecycle
from scoring.run import ScoreReport, run_scoring
from touches.members import MemberTouchReport, member_touches

log = get_logger("engine")

#: How often the scheduler runs the hub steps (the shipped mappings' schedule).
HUB_STEPS_SECONDS = 30


@dataclass(slots=True)
class HubStepsReport:
    """What each step did this time (None: it did not run, or failed and was logged)."""

    touches: MemberTouchReport | None = None
    scoring: ScoreReport | None = None
    lifecycle: LifecycleReport | None = None
    attribution: attribution.RunReport | None = None


def run_hub_steps(ctx: SyncContext) -> HubStepsReport:
    """Run every hub step once: those whose file is missing or broken (None) wait.

    A failing step is logged and leaves its cursor where it was (its next run redoes the
    work): the pushes after it must still happen. An unreachable database is raised.
    """
    report = HubStepsReport()
    programs, settings = ctx.programs, ctx.attribution
    if programs is not None:
        report.touches = _step("member-touches", lambda: member_touches(ctx.engine, programs))
        touches = report.touches
        if touches is not None and (touches.created or touches.updated or touches.removed):
            event(log, "touches.from_members", members=touches.members,
                  created=touches.created, updated=touches.updated, removed=touches.removed)
    rules = ctx.scoring
    if rules is not None:
        report.scoring = _step("scoring", lambda: run_scoring(ctx.engine, rules, ctx.schema))
        scored = report.scoring
        if scored is not None and (scored.people_changed or scored.accounts_changed):
            event(log, "scoring.changed", **scored.as_json())
    stages = ctx.lifecycle
    if stages is not None:
        report.lifecycle = _step("lifecycle",
                                 lambda: run_lifecycle(ctx.engine, stages, ctx.schema))
        done = report.lifecycle
        if done is not None and (done.moved or done.aql_changed):
            event(log, "lifecycle.changed", **done.as_json())
    if settings is not None:
        report.attribution = _step("attribution", lambda: attribution.run(ctx.engine, settings))
        done = report.attribution
        if done is not None and done.opportunities:
            event(log, "attribution.recomputed", **done.as_json())
    return report


def _step(name: str, work: Callable[[], Any]) -> Any:
    try:
        return work()
    except UNREACHABLE:
        raise
    except Exception as exc:  # a bug in a step must not keep the mappings from pushing
        event(log, "hub_step.failed", level=logging.ERROR, step=name,
              error=f"{type(exc).__name__}: {exc}")
        return None
