"""The Attribution page, its CSV, a campaign's credited opportunities and the opportunity page.

Numbers per campaign, channel or touch type are ``syncline attribution report``'s (one report
per model, lined up by :mod:`dashboard.attribution.sides`); the date range means what it means
there: pipeline over opportunities created in it, revenue over those won with a close date in
it. Nothing here computes attribution: the pages read what ``syncline attribution run`` stored,
and the opportunity page rebuilds its journey only to show each touch's positions.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response, abort, render_template, request, url_for
from sqlmodel import col, select

from attribution.config import AttributionSettings
from attribution.engine import SETTINGS_CURSOR, fingerprint, settings_in
from attribution.positions import Journey
from attribution.report import GROUPINGS, KEYS, DateRange
from attribution.views import (
    StoredCredit,
    campaign_deals,
    campaigns_by_label,
    computed_models,
    journey_of,
    opportunity_credits,
)
from core import csvfile
from core.clock import utcnow
from core.errors import InputError
from core.models import (
    AttributionCursor,
    Campaign,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
)
from dashboard import workspace
from dashboard.attribution.sides import METRICS, compare
from dashboard.blueprint import bp, day_arg, db
from dashboard.charts import render_grouped_bars
from dashboard.records import HUB_ID_LENGTH, find_record, page_title

#: Models shown when the URL names none: these when computed, else the first computed ones.
#: Three models' credit, pipeline and revenue fit a 1366 px window beside long campaign names.
DEFAULT_MODELS = ("first_touch", "w_shaped", "full_path")
MOST_MODELS_BY_DEFAULT = 3
#: What the page tells an admin to run when nothing is stored (cli/attribution.py).
RUN_HINT = "syncline attribution run"


@bp.app_template_filter("percent")
def percent(value: Decimal | float | None) -> str:
    """A credit (0–1) as a percentage with at most two decimals: 0.225 → 22.5 %."""
    if value is None:
        return "—"
    text = f"{Decimal(str(value)) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"


@bp.app_template_filter("opportunities")
def opportunities(value: Decimal | float | None) -> str:
    """A summed credit, in opportunities, to three decimals: 0.525 stays 0.525."""
    if value is None:
        return "—"
    return str(Decimal(str(value)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


@bp.app_template_filter("money")
def money(value: Decimal | float | None) -> str:
    """An amount with thousands grouped and two decimals (currency as the CRM holds it)."""
    return "—" if value is None else f"{Decimal(str(value)):,.2f}"


@dataclass(frozen=True)
class Filters:
    """What the page's form asks for, checked: grouping, dates, models and the charted metric."""

    by: str
    dates: DateRange
    models: list[str]
    available: list[str]
    metric: str
    problems: list[str]

    def args(self, **overrides: Any) -> dict[str, Any]:
        """Query arguments that reproduce these filters (for links and the CSV)."""
        args: dict[str, Any] = {
            "by": self.by, "metric": self.metric, "model": self.models,
            "from": self.dates.start.isoformat() if self.dates.start else None,
            "to": self.dates.end.isoformat() if self.dates.end else None,
        }
        args.update(overrides)
        return {key: value for key, value in args.items() if value}


def _settings() -> tuple[AttributionSettings | None, str | None]:
    """The attribution file of the dashboard's mappings folder, or why it does not load."""
    try:
        return settings_in(workspace.mappings_dir()), None
    except InputError as exc:
        return None, str(exc)


def _filters(settings: AttributionSettings | None) -> Filters:
    problems: list[str] = []
    by = request.args.get("by", "campaign")
    by = by if by in GROUPINGS else "campaign"
    start, end = day_arg("from", problems), day_arg("to", problems)
    if start and end and start > end:
        problems.append(f"from {start} is after to {end}: showing the range from {end} to {start}")
        start, end = end, start
    preferred = [m.name for m in settings.models] if settings else []
    available = computed_models(db(), preferred)
    asked = [m for m in request.args.getlist("model") if m in available]
    if not asked:
        asked = [m for m in DEFAULT_MODELS if m in available] or available
        asked = asked[:MOST_MODELS_BY_DEFAULT]
    models = [m for m in available if m in asked]  # the file's order, whatever the URL's
    metric = request.args.get("metric", "pipeline")
    metric = metric if metric in METRICS else "pipeline"
    return Filters(by, DateRange(start, end), models, available, metric, problems)


def _opportunity_count() -> int:
    return len(db().exec(select(Opportunity.id).where(col(Opportunity.deleted_at).is_(None))
                         .limit(1)).all())


@bp.route("/attribution")
def attribution() -> str:
    """Models side by side per campaign, channel or touch type: table, chart and CSV link."""
    settings, settings_problem = _settings()
    filters = _filters(settings)
    comparison = compare(db(), filters.models, filters.by, filters.dates)
    campaigns = (campaigns_by_label(db(), [g.group for g in comparison.groups])
                 if filters.by == "campaign" else {})
    return render_template(
        "dashboard/attribution.html",
        filters=filters,
        comparison=comparison,
        chart=render_grouped_bars(comparison.chart(filters.metric)) if comparison.groups
        else None,
        campaigns=campaigns,
        groupings=GROUPINGS,
        metrics=METRICS,
        settings_problem=settings_problem,
        has_opportunities=_opportunity_count() > 0,
        last_run=db().get(AttributionCursor, SETTINGS_CURSOR),
        run_hint=RUN_HINT,
        csv_url=url_for("dashboard.attribution_csv", **filters.args()),
    )


@bp.route("/attribution.csv")
def attribution_csv() -> Response:
    """What the page shows, one report row per group and model (the ``--csv`` columns)."""
    settings, _ = _settings()
    filters = _filters(settings)
    comparison = compare(db(), filters.models, filters.by, filters.dates)
    buffer = io.StringIO()
    out = csvfile.writer(buffer, lineterminator="\n")
    out.writerow(KEYS)
    out.writerows(comparison.csv_rows())
    span = "-".join(d.isoformat() for d in (filters.dates.start, filters.dates.end) if d)
    name = f"attribution-by-{filters.by}{'-' + span if span else ''}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/attribution/campaigns/<campaign_id>")
def attribution_campaign(campaign_id: str) -> str:
    """One campaign: the opportunities its touches were credited on, per model."""
    found = find_record("campaign", campaign_id)
    assert isinstance(found, Campaign)
    settings, settings_problem = _settings()
    filters = _filters(settings)
    deals = campaign_deals(db(), found.id, filters.models, filters.dates)
    return render_template(
        "dashboard/attribution_campaign.html",
        campaign=found,
        title=page_title(found),
        filters=filters,
        deals=deals,
        totals={m: sum((d.credit.get(m, Decimal(0)) for d in deals), Decimal(0))
                for m in filters.models},
        revenue_totals={m: sum((d.revenue.get(m) or Decimal(0) for d in deals), Decimal(0))
                        for m in filters.models},
        settings_problem=settings_problem,
        run_hint=RUN_HINT,
    )


@dataclass(frozen=True)
class JourneyTouch:
    """One touch of the opportunity's journey (or credited at the last run), with its credits."""

    touch: Touch
    campaign: Campaign | None
    positions: tuple[str, ...]
    in_journey: bool
    credits: dict[str, StoredCredit]


@bp.route("/opportunities/<opportunity_id>")
def attribution_opportunity(opportunity_id: str) -> str:
    """An opportunity: its fields, people, journey and each touch's credit under each model."""
    if len(opportunity_id) > HUB_ID_LENGTH:
        abort(404)
    found = db().get(Opportunity, opportunity_id)
    if found is None:
        abort(404)
    settings, settings_problem = _settings()
    people = _deal_people(found)
    results, credits = opportunity_credits(db(), found.id)
    journey: Journey | str | None = (
        journey_of(db(), settings, found.id, utcnow()) if settings else None)
    touches = _journey_touches(journey, credits)
    preferred = [m.name for m in settings.models] if settings else []
    models = [m for m in preferred if m in results] + sorted(set(results) - set(preferred))
    pending = {c.model: c for c in credits if c.touch_id is None}
    stale = bool(results) and (
        settings is None
        or any(r.fingerprint != fingerprint(settings) for r in results.values())
        or (isinstance(journey, Journey)
            and (any(not t.in_journey for t in touches)
                 or any(r.touches != len(journey.touches) for r in results.values())))
    )
    return render_template(
        "dashboard/opportunity.html",
        opportunity=found,
        title=found.name or found.id,
        people=people,
        touches=touches,
        models=models,
        results=results,
        pending=pending,
        totals={m: sum((c.credit for c in credits if c.model == m), Decimal(0)) for m in models},
        skipped=journey if isinstance(journey, str) else None,
        stale=stale,
        settings=settings,
        settings_problem=settings_problem,
        run_hint=RUN_HINT,
    )


@dataclass(frozen=True)
class DealPerson:
    """One person on a deal as the page lists them: a contact role, or the deal's contact."""

    person: Person
    role: str | None
    is_primary: bool


def _deal_people(found: Opportunity) -> list[DealPerson]:
    """The deal's contact roles, and its own main contact (Dynamics) where it has no role."""
    rows = db().exec(
        select(OpportunityContactRole, Person)
        .join(Person, col(Person.id) == col(OpportunityContactRole.person_id))
        .where(OpportunityContactRole.opportunity_id == found.id,
               col(OpportunityContactRole.deleted_at).is_(None))
    ).all()
    people = [DealPerson(person, role.role, role.is_primary) for role, person in rows]
    contact = db().get(Person, found.primary_contact_id) if found.primary_contact_id else None
    if contact is not None and contact.deleted_at is None:
        # Attribution counts the deal's contact as a primary role: so does the page.
        people = [DealPerson(p.person, p.role, True) if p.person.id == contact.id else p
                  for p in people]
        if all(p.person.id != contact.id for p in people):
            people.append(DealPerson(contact, "Contact on the deal", True))
    return sorted(people, key=lambda p: (not p.is_primary, p.person.email or "", p.person.id))


def _journey_touches(
    journey: Journey | str | None, credits: list[StoredCredit]
) -> list[JourneyTouch]:
    """The journey's touches in order, then touches credited at the last run but not now."""
    order: list[str] = []
    labels: dict[str, tuple[str, ...]] = {}
    if isinstance(journey, Journey):
        for point, held in zip(journey.touches, journey.labels, strict=True):
            order.append(point.id)
            labels[point.id] = held
    in_journey = set(order)
    for credit in credits:
        if credit.touch_id is not None and credit.touch_id not in labels:
            order.append(credit.touch_id)
            labels[credit.touch_id] = credit.positions
    rows = {t.id: t for t in db().exec(select(Touch).where(col(Touch.id).in_(order))).all()}
    campaign_ids = {t.campaign_id for t in rows.values() if t.campaign_id}
    campaigns = {c.id: c for c in db().exec(
        select(Campaign).where(col(Campaign.id).in_(campaign_ids))).all()}
    by_touch: dict[str, dict[str, StoredCredit]] = {}
    for credit in credits:
        if credit.touch_id is not None:
            by_touch.setdefault(credit.touch_id, {})[credit.model] = credit
    return [
        JourneyTouch(rows[touch_id], campaigns.get(rows[touch_id].campaign_id or ""),
                     labels[touch_id], touch_id in in_journey, by_touch.get(touch_id, {}))
        for touch_id in order if touch_id in rows
    ]
