"""``syncline score run|explain``: score the hub's people and accounts, and say why a score is.

``run`` scores the people and accounts whose fields, touches or account changed since the last
run (``--full``: all, which also brings decay up to date); ``explain`` lists every rule that
gave a person points, when, and what decay took. Rules come from ``<mappings>/scoring.yaml``.
"""

from __future__ import annotations

import json

import click
from sqlmodel import Session

from cli.context import App, pass_app
from cli.explain import find_records
from core.clock import utcnow
from core.errors import InputError
from core.models import Person
from scoring.loader import load_scoring, scoring_path
from scoring.run import person_scores, run_scoring
from scoring.spec import Scoring


@click.group("score")
def score_group() -> None:
    """Lead scoring: fit, behaviour and account scores from mappings/scoring.yaml."""


def _rules(app: App) -> Scoring:
    path = scoring_path(app.mappings_dir)
    if not path.is_file():
        raise InputError(str(path), "no scoring file: copy the shipped mappings/scoring.yaml "
                         "and edit its rules")
    return load_scoring(path, hub_schema=app.schema)


@score_group.command("run")
@click.option("--full", is_flag=True, help="Score everyone (and bring decay up to date).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the counts.")
@pass_app
def run_command(app: App, full: bool, as_json: bool) -> None:
    """Score the people and accounts that changed since the last run; write only what moved."""
    report = run_scoring(app.engine, _rules(app), app.schema, full=full)
    counts = report.as_json()
    click.echo(json.dumps(counts) if as_json
               else " ".join(f"{key}={value}" for key, value in counts.items()))


@score_group.command("explain")
@click.argument("record", metavar="EMAIL|HUB_ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_app
def explain_command(app: App, record: str, as_json: bool) -> None:
    """Every rule that gave this person points, when, and the decay applied."""
    rules, schema, now = _rules(app), app.schema, utcnow()
    with Session(app.engine) as session:
        people = [r for kind, r in find_records(session, record, "score explain")
                  if kind == "person"]
        if not people:
            raise InputError("score explain", f"{record!r} is not a person")
        person = people[0]
        assert isinstance(person, Person)
        scores = person_scores(session, rules, schema, person, now)
        stored = {name: schema.get(person, name) for name in scores.values}
    lines = [
        {"rule": c.rule, "kind": c.kind, "score": c.score, "points": c.points,
         "now": round(c.after, 2), "decayed": round(c.decayed, 2),
         "at": c.at.isoformat() if c.at else None, "touch": c.touch_id,
         "capped_by": c.capped_by, "reset": c.reset, "reset_by": c.reset_by}
        for c in scores.contributions
    ]
    if as_json:
        click.echo(json.dumps({"person": person.id, "email": person.email,
                               "scores": dict(scores.values), "stored": stored,
                               "contributions": lines, "problems": list(scores.problems)},
                              default=str))
        return
    click.echo(f"person {person.id} {person.email or ''}")
    for name, value in scores.values.items():
        note = "" if stored.get(name) == value else f" (stored {stored.get(name)}: run "
        note += "`syncline score run`)" if note else ""
        click.echo(f"  {name} = {value}{note}")
    for line in lines:
        when = f" at {str(line['at'])[:19].replace('T', ' ')}" if line["at"] else ""
        extra = []
        if line["decayed"]:
            extra.append(f"decay -{line['decayed']:g}")
        if line["capped_by"]:
            extra.append(f"capped ({line['capped_by']})")
        if line["reset_by"]:
            extra.append(f"cancelled by {line['reset_by']}")
        tail = f" [{', '.join(extra)}]" if extra else ""
        sign = "=" if line["reset"] else ("+" if float(line["points"]) >= 0 else "")
        click.echo(f"  {line['score']:<16} {sign}{line['points']:g} → {line['now']:g}  "
                   f"{line['rule']} ({line['kind']}){when}{tail}")
    for problem in scores.problems:
        click.echo(f"note: {problem}", err=True)


def register(group: click.Group) -> None:
    """Add this command group to the main group."""
    group.add_command(score_group)
