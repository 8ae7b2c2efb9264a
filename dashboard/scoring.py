"""The Scoring page: the scoring and lifecycle files as read, score distributions, the funnel.

The files are shown as loaded (rules, tokens, stages, transitions, the AQL rule) with their
validation state: a file that does not load shows the loader's ``file:line`` problems and its
text, and the rest of the page still works. Numbers come from :mod:`dashboard.score_stats`
(SQL aggregation only). A person's page gets its panels from :func:`person_explanation`, the
same :mod:`scoring.explain` that ``syncline score explain`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import render_template
from markupsafe import Markup

from attribution.report import DateRange
from core.clock import utcnow
from core.errors import InputError
from core.hubschema import HubSchema
from core.models import HubRecord, Person
from dashboard import workspace
from dashboard.blueprint import bp, day_arg, db
from dashboard.charts import Bar, BarChart, format_number, render_bar_chart, render_meter
from dashboard.score_stats import Histogram, aql_weeks, funnel, histograms
from lifecycle.loader import lifecycle_path, load_lifecycle
from lifecycle.spec import Lifecycle, Transition
from scoring.explain import Explanation, explain_person
from scoring.loader import load_scoring, scoring_path
from scoring.spec import AccountRule, BehavioralRule, Scoring, TouchMatch

#: The funnel's range when the form names none: the last 90 days.
DEFAULT_DAYS = 90
#: Week bars carry a date label every this many weeks (every bar's date is in its tooltip).
WEEK_LABEL_EVERY = 4


@dataclass
class RuleFile:
    """One settings file as the page shows it: loaded, missing, or its problems."""

    path: Path
    exists: bool
    text: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def numbered(self) -> list[tuple[int, str]]:
        """The file's lines with their numbers, as the problems cite them."""
        return list(enumerate(self.text.splitlines(), start=1))


def _read(path: Path) -> RuleFile:
    try:
        return RuleFile(path, True, path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RuleFile(path, False)
    except (OSError, UnicodeDecodeError) as exc:
        return RuleFile(path, True, problems=[f"{path}: cannot be read: {exc}"])


def _problems(exc: Exception) -> list[str]:
    return [line for line in str(exc).splitlines() if line.strip()]


def scoring_rules(schema: HubSchema, directory: Path) -> tuple[Scoring | None, RuleFile]:
    """The scoring file of the dashboard's mappings folder, loaded or with its problems."""
    found = _read(scoring_path(directory))
    if not found.exists or found.problems:
        return None, found
    try:
        return load_scoring(found.path, hub_schema=schema), found
    except (InputError, ValueError) as exc:
        found.problems = _problems(exc)
        return None, found


def lifecycle_rules(directory: Path) -> tuple[Lifecycle | None, RuleFile]:
    """The lifecycle file of the dashboard's mappings folder, loaded or with its problems."""
    found = _read(lifecycle_path(directory))
    if not found.exists or found.problems:
        return None, found
    try:
        return load_lifecycle(found.path), found
    except (InputError, ValueError) as exc:
        found.problems = _problems(exc)
        return None, found


def person_explanation(hub_object: str, record: HubRecord) -> Explanation | None:
    """The scoring, stage and AQL panels of a person's page (None for other records)."""
    if hub_object != "person" or not isinstance(record, Person):
        return None
    space = workspace.current()
    rules, scoring_file = scoring_rules(space.hub_schema, workspace.mappings_dir())
    lifecycle, lifecycle_file = lifecycle_rules(workspace.mappings_dir())
    found = explain_person(db(), record, space.hub_schema, rules, lifecycle, utcnow())
    found.problems.extend(scoring_file.problems + lifecycle_file.problems)
    return found


# -- the rules as the page words them ------------------------------------------------------------


def _match(match: TouchMatch | None) -> str:
    if match is None:
        return ""
    # The engine's name for a touch's type is touch_type; the file says type.
    return "; ".join(f"{'type' if name == 'touch_type' else name}: {' or '.join(map(str, values))}"
                     for name, values in match.fields.items())


def _cap(rule: BehavioralRule) -> str:
    if rule.cap is None:
        return ""
    parts = [f"{rule.cap.per_day:g} a day" if rule.cap.per_day else "",
             f"{rule.cap.total:g} in all" if rule.cap.total else ""]
    return ", ".join(p for p in parts if p)


def _breadth(rule: AccountRule) -> str:
    if rule.min_people is None:
        return ""
    within = (f" touched within {rule.touched_within_days:g} days"
              if rule.touched_within_days else " touched")
    what = f" ({_match(rule.touch)})" if rule.touch else ""
    return f"at least {rule.min_people} people{within}{what}"


def _decay(rules: Scoring, score: str) -> str:
    decay = rules.decay.get(score)
    if decay is None:
        return ""
    if decay.half_life_days is not None:
        return f"half-life {decay.half_life_days:g} days"
    text = f"minus {decay.minus:g} every {decay.every_days:g} days"
    return text + (" without a touch" if decay.without_touch else " of each touch's age")


def _trigger(rule: Transition) -> str:
    if rule.when is not None:
        return f"when {rule.when.source}"
    if rule.crm is not None:
        return "CRM: " + "; ".join(f"{name} is {' or '.join(sorted(values))}"
                                   for name, values in rule.crm.items())
    if rule.opportunity is not None:
        return f"opportunity {rule.opportunity}"
    if rule.idle_days is not None:
        return f"no touch for {rule.idle_days} days"
    return ""


def _sources(rule: Transition) -> str:
    if rule.sources == "any":
        return "any stage"
    if rule.sources is None:
        return "any main-path stage, or none yet"
    return ", ".join(sorted(rule.sources))


#: How the rules tables word a rule's parts.
_WORDS: dict[str, Any] = {"match": _match, "cap": _cap, "breadth": _breadth,
                          "trigger": _trigger, "sources": _sources, "decay": _decay}


def score_fields(rules: Scoring | None, schema: HubSchema) -> tuple[list[str], list[str]]:
    """The person and account score fields to chart: the file's, else ``score`` and the usual."""
    if rules is not None:
        people = list(rules.fed) + [f for f in rules.formulas if f not in rules.fed]
        accounts = list(rules.account_fields)
    else:
        people, accounts = ["score"], []
    if "account_score" in schema.fields("account") and "account_score" not in accounts:
        accounts.append("account_score")
    return people, accounts


def histogram_chart(histogram: Histogram) -> Markup:
    """A histogram as the page draws it: one bar per bin, every bin's count in its tooltip."""
    unit = "people" if histogram.hub_object == "person" else "accounts"
    every = 1 if len(histogram.bins) <= 10 else 2
    bars = [Bar(value=b.count, label=format_number(b.start) if i % every == 0 else "",
                title=f"{histogram.field} {b.label}: {b.count:,} {unit}")
            for i, b in enumerate(histogram.bins)]
    return render_bar_chart(BarChart(
        id=f"histogram-{histogram.hub_object}-{histogram.field}",
        title=f"{histogram.field}: {unit} per score",
        description=(f"{histogram.scored:,} of {histogram.records:,} {unit} have a value, "
                     f"from {format_number(histogram.low or 0)} to "
                     f"{format_number(histogram.high or 0)}; one bar per range of scores."),
        unit=unit, bars=bars))


def _weeks_chart(weeks: list[tuple[date, int]]) -> Markup:
    bars = [Bar(value=n, label=f"{day:%m-%d}" if i % WEEK_LABEL_EVERY == 0 else "",
                title=f"week of {day.isoformat()}: {n:,} qualified")
            for i, (day, n) in enumerate(weeks)]
    return render_bar_chart(BarChart(
        id="aql-weeks", title="People qualified automatically (AQL) per week",
        description="One bar per week (from Monday) of aql_at: people qualified that week "
                    "who still qualify.", unit="people", bars=bars))


@dataclass(frozen=True)
class RangeForm:
    """The page's date range, as the shared date form reads it."""

    dates: DateRange
    problems: list[str]
    available: tuple[str, ...] = ()


def _range() -> RangeForm:
    problems: list[str] = []
    start, end = day_arg("from", problems), day_arg("to", problems)
    today = utcnow().date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        problems.append(f"from {start} is after to {end}: showing the range from {end} to {start}")
        start, end = end, start
    return RangeForm(DateRange(start, end), problems)


@bp.route("/scoring")
def scoring() -> str:
    """The rules of scoring.yaml and lifecycle.yaml, score distributions, funnel and AQL."""
    space = workspace.current()
    directory = workspace.mappings_dir()
    rules, scoring_file = scoring_rules(space.hub_schema, directory)
    lifecycle, lifecycle_file = lifecycle_rules(directory)
    form = _range()
    people, accounts = score_fields(rules, space.hub_schema)
    charts = [(h, histogram_chart(h)) for h in
              histograms(db(), space.hub_schema, "person", people)
              + histograms(db(), space.hub_schema, "account", accounts)]
    main_path = [s.name for s in lifecycle.stages if s.rank is not None] if lifecycle else []
    steps = funnel(db(), main_path, form.dates)
    widest = max((s.entered for s in steps), default=0)
    weeks = aql_weeks(db(), form.dates)
    return render_template(
        "dashboard/scoring.html",
        rules=rules, scoring_file=scoring_file, lifecycle=lifecycle,
        lifecycle_file=lifecycle_file, form=form, charts=charts, steps=steps,
        meters={s.stage: render_meter(s.entered / widest if widest else 0,
                                      f"{s.entered:,} entered {s.stage}") for s in steps},
        weeks=weeks, weeks_chart=_weeks_chart(weeks) if weeks else None,
        aql_total=sum(n for _, n in weeks),
        words=_WORDS,
    )
