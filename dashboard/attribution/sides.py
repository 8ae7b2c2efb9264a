"""Models side by side: the report's rows of several models merged into one row per group.

Every number comes from :func:`attribution.report.build_report`, one call per model; this
module only lines them up by group label, totals the columns and words the CSV and the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session

from attribution.report import NO_TOUCHES_GROUP, PENDING_GROUP, DateRange, ReportRow, build_report
from dashboard.charts import GroupedBars

#: What a page may chart, with the unit under the axis.
METRICS: dict[str, str] = {"credit": "opportunities", "pipeline": "pipeline",
                           "revenue": "revenue"}
#: The chart keeps this many groups (the largest); the table has them all.
CHART_GROUPS = 25


@dataclass
class SideBySide:
    """One group's report row under each model (a model without credit there is missing)."""

    group: str
    rows: dict[str, ReportRow] = field(default_factory=dict)
    #: The report gave this label more than one row (two campaigns sharing a name).
    merged: bool = False

    @property
    def special(self) -> bool:
        """``(pending)`` or ``(no touches)``: what no campaign or channel earned."""
        return self.group in (PENDING_GROUP, NO_TOUCHES_GROUP)

    def value(self, model: str, metric: str) -> Decimal:
        """``metric`` of ``model`` in this group; zero when the model credited nothing here."""
        row = self.rows.get(model)
        return Decimal(0) if row is None else Decimal(getattr(row, metric))


@dataclass(frozen=True)
class Comparison:
    """The report of each model for one grouping and date range, as the page shows it."""

    by: str
    models: list[str]
    dates: DateRange
    report: dict[str, list[ReportRow]]
    groups: list[SideBySide]

    def total(self, model: str, metric: str) -> Decimal:
        """A column's sum: the credit adds up to the opportunities in range."""
        return sum((g.value(model, metric) for g in self.groups), Decimal(0))

    def csv_rows(self) -> list[list[str]]:
        """The report's rows of every model shown, in the table's order (``--csv`` cells)."""
        return [row.cells() for g in self.groups for model in self.models
                if (row := g.rows.get(model)) is not None]

    def chart(self, metric: str) -> GroupedBars:
        """The largest groups by ``metric`` under any model, one bar per model."""
        largest = sorted(self.groups, key=lambda g: max(
            (g.value(m, metric) for m in self.models), default=Decimal(0)), reverse=True)
        kept = {id(g) for g in largest[:CHART_GROUPS]}
        shown = [g for g in self.groups if id(g) in kept]
        more = len(self.groups) - len(shown)
        note = f" The {more} smallest groups are in the table only." if more > 0 else ""
        return GroupedBars(
            id=f"attribution-{self.by}-{metric}",
            title=f"{metric.title()} per {self.by.replace('_', ' ')} under each model",
            description=(f"Horizontal bars: for each {self.by.replace('_', ' ')}, one bar per "
                         f"model ({', '.join(self.models)}) giving its {metric}.{note}"),
            unit=METRICS[metric],
            series=self.models,
            groups=[(g.group, [float(g.value(m, metric)) for m in self.models]) for g in shown],
        )


def compare(session: Session, models: Sequence[str], by: str, dates: DateRange) -> Comparison:
    """Run the report for each model and line the rows up by group, the report's order kept."""
    report = {model: build_report(session, model, by, dates) for model in models}
    groups: dict[str, SideBySide] = {}
    for model, rows in report.items():
        for row in rows:
            side = groups.setdefault(row.group, SideBySide(row.group))
            if model in side.rows:
                # Two campaigns share the label: one row for both, as a reader could not tell
                # them apart here anyway; the drill-down links name each campaign.
                side.merged = True
                row = _added(side.rows[model], row)
            side.rows[model] = row
    last = {PENDING_GROUP: 1, NO_TOUCHES_GROUP: 2}
    order = sorted(groups.values(), key=lambda g: (last.get(g.group, 0), g.group))
    return Comparison(by, list(models), dates, report, order)


def _added(a: ReportRow, b: ReportRow) -> ReportRow:
    return ReportRow(a.group, a.model, a.touches + b.touches, a.opportunities + b.opportunities,
                     a.credit + b.credit, a.pipeline + b.pipeline, a.revenue + b.revenue)
