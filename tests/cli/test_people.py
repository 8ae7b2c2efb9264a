"""``syncline import people FILE`` and ``syncline export people``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.conftest import Invoke
from tests.cli.helpers import count, database_dump, error_lines, json_lines, rows, write

FRIENDLY_CSV = (
    "Email Address,First Name,Last Name,Company Name,Lead Score,Industry Segment,Unsubscribed\n"
    "ann@x.com,Ann,Lee,X Corp,42,Enterprise,no\n"
    "Bob@Y.com ,Bob,Ray,,7,SMB,yes\n"
)


def attributes(row: dict) -> dict:
    value = row["attributes"]
    return json.loads(value) if isinstance(value, str) else value


def people(engine: Engine) -> dict[str, dict]:
    return {row["email"]: row for row in rows(engine, "person")}


def test_import_csv_with_friendly_headers_then_upsert_by_email(
    syncline: Invoke, ready: Engine, project: Path, db_url: str
) -> None:
    result = syncline("import", "people", str(write(project / "people.csv", FRIENDLY_CSV)))
    assert result.exit_code == 0, result.output
    assert result.stdout == "rows=2 created=2 updated=0 unchanged=0\n"
    found = people(ready)
    assert set(found) == {"ann@x.com", "bob@y.com"}
    assert found["ann@x.com"]["company"] == "X Corp"
    assert found["ann@x.com"]["score"] == 42
    assert bool(found["bob@y.com"]["unsubscribed"]) is True
    assert attributes(found["ann@x.com"]) == {"industry_segment": "Enterprise"}

    jsonl = write(
        project / "more.jsonl",
        '{"email": " ANN@X.COM ", "title": "CTO", "last_webinar_attended": true}\n'
        "\n"
        '{"email": "cat@z.com", "last_name": "Zed"}\n',
    )
    result = syncline("import", "people", str(jsonl))
    assert result.exit_code == 0, result.output
    assert result.stdout == "rows=2 created=1 updated=1 unchanged=0\n"
    found = people(ready)
    assert count(ready, "person") == 3
    assert found["ann@x.com"]["title"] == "CTO"
    assert found["ann@x.com"]["first_name"] == "Ann"  # absent keys keep their values
    assert attributes(found["ann@x.com"]) == {
        "industry_segment": "Enterprise",
        "last_webinar_attended": True,
    }

    again = syncline("import", "people", str(jsonl))
    assert again.stdout == "rows=2 created=0 updated=0 unchanged=2\n"
    assert count(ready, "person") == 3


def test_a_file_with_problems_lists_every_one_and_writes_nothing(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    good = write(project / "good.csv", "email,first_name\nann@x.com,Ann\n")
    assert syncline("import", "people", str(good)).exit_code == 0
    before = database_dump(ready)
    write(
        project / "bad.csv",
        "Email Address,First Name,Shoe Size,Lead Score,Industry Segment\n"
        "ann@x.com,Annie,9,12,SMB\n"
        "bob@y.com,Bob,,lots,SMB\n"
        "not-an-email,Cy,,,\n"
        "dee@z.com,Dee,,,Huge\n",
    )
    result = syncline("import", "people", "bad.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = error_lines(result)
    assert lines[0].startswith("error: bad.csv:1: unknown column 'Shoe Size' (hub person fields: ")
    assert "industry_segment" in lines[0]  # custom fields from hub.yaml are known
    assert lines[1:] == [
        "error: bad.csv:3 Lead Score: score: 'lots' is not a whole number",
        "error: bad.csv:4 email: 'not-an-email' is not an email address",
        "error: bad.csv:5 Industry Segment: industry_segment: 'Huge' is not one of "
        "['SMB', 'Mid-Market', 'Enterprise']",
    ]
    assert database_dump(ready) == before
    assert people(ready)["ann@x.com"]["first_name"] == "Ann"


def test_bad_jsonl_lines_are_named(syncline: Invoke, ready: Engine, project: Path) -> None:
    write(
        project / "bad.jsonl",
        '{"email": "ann@x.com"}\n'
        '{"email": "bob@y.com",\n'
        '["not", "an", "object"]\n'
        '{"first_name": "Cy"}\n',
    )
    result = syncline("import", "people", "bad.jsonl")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert [line.split(" ")[1] for line in lines] == ["bad.jsonl:2:", "bad.jsonl:3:", "bad.jsonl:4"]
    assert "not valid JSON" in lines[0]
    assert lines[2] == "error: bad.jsonl:4 email: missing: every row needs an email"
    assert count(ready, "person") == 0


def test_import_of_a_missing_file(syncline: Invoke, ready: Engine) -> None:
    result = syncline("import", "people", "nope.csv")
    assert result.exit_code == 2
    assert error_lines(result) == ["error: nope.csv: file not found"]


@pytest.mark.parametrize("as_json", [False, True], ids=["csv", "jsonl"])
def test_export_round_trips_custom_fields(
    syncline: Invoke,
    ready: Engine,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    as_json: bool,
) -> None:
    assert syncline("import", "people", str(write(project / "p.csv", FRIENDLY_CSV))).exit_code == 0
    extra = json.dumps(
        {"email": "ann@x.com", "last_webinar": "Pipeline Math 101", "last_webinar_attended": False}
    )
    assert syncline("import", "people", str(write(project / "p.jsonl", extra))).exit_code == 0
    args = ["export", "people", *(["--json"] if as_json else [])]

    exported = syncline(*args)
    assert exported.exit_code == 0, exported.output
    if as_json:
        records = json_lines(exported.stdout)
        assert list(records[0])[-3:] == [
            "industry_segment",
            "last_webinar",
            "last_webinar_attended",
        ]
        ann = records[0]
        assert ann["last_webinar_attended"] is False and ann["score"] == 42
    else:
        records = list(csv.DictReader(exported.stdout.splitlines()))
        assert exported.stdout.splitlines()[0].endswith(
            ",industry_segment,last_webinar,last_webinar_attended"
        )
        ann = records[0]
        assert ann["last_webinar_attended"] == "false" and ann["score"] == "42"
    assert [r["email"] for r in records] == ["ann@x.com", "bob@y.com"]
    assert ann["industry_segment"] == "Enterprise"
    assert ann["last_webinar"] == "Pipeline Math 101"

    # Into a second, empty hub and out again: the same file.
    suffix = "jsonl" if as_json else "csv"
    dump = write(project / f"export.{suffix}", exported.stdout)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{project / 'second.db'}")
    assert syncline("init").exit_code == 0
    imported = syncline("import", "people", str(dump))
    assert imported.stdout == "rows=2 created=2 updated=0 unchanged=0\n", imported.output
    assert syncline(*args).stdout == exported.stdout

    if as_json:
        array = syncline("export", "people", "--format", "json")
        assert json.loads(array.stdout) == json_lines(exported.stdout)

    written = syncline(*args, "-o", f"again.{suffix}")
    assert written.stderr == f"2 people written to again.{suffix}\n"
    assert (project / f"again.{suffix}").read_text(encoding="utf-8") == exported.stdout


DUPLICATED = (
    "email,first_name\n"
    "ann@x.com,Ann\n"
    "bob@y.com,Bob\n"
    "ANN@x.com,Annie\n"
)


def test_duplicate_emails_refuse_the_file_by_default_naming_their_lines(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    write(project / "dupes.csv", DUPLICATED)
    result = syncline("import", "people", "dupes.csv")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert error_lines(result) == [
        "error: dupes.csv:2 email: ann@x.com is also on line 4: keep one row per email, or "
        "choose --on-duplicate first or last"
    ]
    assert count(ready, "person") == 0


@pytest.mark.parametrize(("choice", "line", "name"), [("first", 2, "Ann"), ("last", 4, "Annie")])
def test_on_duplicate_first_or_last_imports_that_row_and_says_so(
    syncline: Invoke, ready: Engine, project: Path, choice: str, line: int, name: str
) -> None:
    write(project / "dupes.csv", DUPLICATED)
    result = syncline("import", "people", "dupes.csv", "--on-duplicate", choice)
    assert result.exit_code == 0, result.output
    assert result.stdout == "rows=3 created=2 updated=0 unchanged=0\n"
    assert result.stderr == (
        f"note: dupes.csv:{line} email: ann@x.com is on lines 2, 4; imported line {line}\n")
    assert people(ready)["ann@x.com"]["first_name"] == name


def test_export_shows_formulas_as_text_and_imports_them_back(
    syncline: Invoke, ready: Engine, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = {
        "first_name": "@SUM(1)",
        "last_name": "+cmd|' /C calc'!A0",
        "company": '=HYPERLINK("http://evil.example","click")',
    }
    lines = [{"email": "ann@x.com", "score": -5, **hostile}]
    source = write(project / "p.jsonl", "\n".join(json.dumps(line) for line in lines))
    assert syncline("import", "people", str(source)).exit_code == 0

    exported = syncline("export", "people")
    assert exported.exit_code == 0, exported.output
    [row] = csv.DictReader(exported.stdout.splitlines())
    assert {name: row[name] for name in hostile} == {k: "'" + v for k, v in hostile.items()}
    assert row["score"] == "-5", "a negative number is not a formula"
    # JSON is not opened by spreadsheets: it keeps the values as they are.
    [record] = json_lines(syncline("export", "people", "--json").stdout)
    assert {name: record[name] for name in hostile} == hostile

    dump = write(project / "export.csv", exported.stdout)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{project / 'second.db'}")
    assert syncline("init").exit_code == 0
    assert syncline("import", "people", str(dump)).exit_code == 0
    [again] = json_lines(syncline("export", "people", "--json").stdout)
    assert {name: again[name] for name in hostile} == hostile


def test_export_starts_with_the_hub_id(syncline: Invoke, ready: Engine, project: Path) -> None:
    assert syncline("import", "people", str(write(project / "p.csv", FRIENDLY_CSV))).exit_code == 0
    ids = {row["email"]: row["id"] for row in rows(ready, "person")}
    exported = list(csv.DictReader(syncline("export", "people").stdout.splitlines()))
    assert list(exported[0])[:2] == ["id", "email"]
    assert {row["email"]: row["id"] for row in exported} == ids
    as_json = json_lines(syncline("export", "people", "--json").stdout)
    assert {row["email"]: row["id"] for row in as_json} == ids
