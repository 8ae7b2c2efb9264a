from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from core.clock import utcnow
from core.db import init_db, make_engine, session
from core.errors import InputError, InputErrors
from core.hubschema import HubSchema
from core.models import Account, Person
from core.people import Duplicate, ImportReport, export_people, import_people
from core.sequence import current_seq

HUB_YAML = """\
person:
  segment: {type: string, choices: [SMB, Enterprise]}
  nps: {type: integer}
"""


@pytest.fixture
def schema(tmp_path: Path) -> HubSchema:
    path = tmp_path / "hub.yaml"
    path.write_text(HUB_YAML, encoding="utf-8")
    return HubSchema.load(path)


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def people(engine: Engine) -> dict[str, Person]:
    with session(engine) as s:
        return {p.email or "": p for p in s.exec(select(Person))}


def errors_of(caught: pytest.ExceptionInfo[InputErrors]) -> list[tuple[str, str]]:
    return [(e.where, e.message) for e in caught.value.errors]


def test_csv_import_creates_people_from_friendly_columns(
    engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "leads.csv",
        "E-mail,First Name,LAST NAME,Company Name,Job Title,Phone Number,Country,score,"
        "Unsubscribed,nps,Segment\n"
        " Ada@Example.COM ,Ada,Lovelace,Analytical,CTO,+44 20 1234,GB,42,yes,9,Enterprise\n"
        "alan@example.com,Alan,Turing,,,,,,,,\n",
    )
    report = import_people(engine, path, schema=schema)
    assert report == ImportReport(created=2, updated=0, unchanged=0, rows=2)
    stored = people(engine)
    ada = stored["ada@example.com"]
    assert (ada.first_name, ada.last_name, ada.company, ada.title) == (
        "Ada",
        "Lovelace",
        "Analytical",
        "CTO",
    )
    assert (ada.phone, ada.country, ada.score, ada.unsubscribed) == ("+44 20 1234", "GB", 42, True)
    assert ada.attributes == {"nps": 9, "segment": "Enterprise"}
    assert stored["alan@example.com"].company is None
    assert ada.change_seq > 0 and ada.created_at is not None


def test_existing_people_are_updated_by_non_blank_values_only(
    engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    with session(engine) as s:
        s.add(Person(email="ada@example.com", first_name="Ada", title="CTO", attributes={"nps": 3}))
        s.add(Person(email="alan@example.com", first_name="Alan"))
    seq_before = people(engine)["alan@example.com"].change_seq
    path = write(
        tmp_path,
        "update.csv",
        "email,first_name,title,nps\n"
        "ADA@example.com,,CEO,\n"  # blanks keep the stored first name and nps
        "alan@example.com,Alan,,\n"  # nothing new
        "grace@example.com,Grace,,\n",
    )
    report = import_people(engine, path, schema=schema)
    assert report == ImportReport(created=1, updated=1, unchanged=1, rows=3)
    stored = people(engine)
    assert (stored["ada@example.com"].first_name, stored["ada@example.com"].title) == ("Ada", "CEO")
    assert stored["ada@example.com"].attributes == {"nps": 3}
    assert stored["alan@example.com"].change_seq == seq_before  # unchanged: no new seq


def test_reimporting_the_same_file_changes_nothing(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.csv", "email,first_name,nps\na@example.com,A,1\nb@example.com,B,\n")
    import_people(sqlite_engine, path, schema=schema)
    with session(sqlite_engine) as s:
        seq = current_seq(s)
    again = import_people(sqlite_engine, path, schema=schema)
    assert again == ImportReport(created=0, updated=0, unchanged=2, rows=2)
    with session(sqlite_engine) as s:
        assert current_seq(s) == seq


def test_a_soft_deleted_person_is_not_revived(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    with session(sqlite_engine) as s:
        s.add(Person(email="a@example.com", first_name="Old", deleted_at=utcnow()))
    path = write(tmp_path, "a.csv", "email,first_name\na@example.com,New\n")
    assert import_people(sqlite_engine, path, schema=schema).created == 1
    with session(sqlite_engine) as s:
        rows = s.exec(select(Person).order_by(Person.first_name)).all()
    assert [(p.first_name, p.deleted_at is None) for p in rows] == [("New", True), ("Old", False)]


DUPES = (
    "email,first_name,title\n"
    "a@example.com,Ann,Dev\n"
    "b@example.com,Bob,\n"
    "A@EXAMPLE.com,,Lead\n"
    "c@example.com,Cy,\n"
    "a@example.com,Anne,\n"
    "B@example.com,Bobby,CTO\n"
)


def test_duplicate_emails_in_one_file_are_each_reported_with_their_lines(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = write(tmp_path, "dupes.csv", DUPES)
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    assert errors_of(caught) == [
        (f"{path}:2 email", "a@example.com is also on lines 4, 6: keep one row per email, or "
                            "choose --on-duplicate first or last"),
        (f"{path}:3 email", "b@example.com is also on line 7: keep one row per email, or "
                            "choose --on-duplicate first or last"),
    ]
    assert people(sqlite_engine) == {}, "nothing imported, not even c@example.com"


@pytest.mark.parametrize(
    ("choice", "kept", "a_values", "b_values"),
    [
        ("first", (2, 3), ("Ann", "Dev"), ("Bob", None)),
        ("last", (6, 7), ("Anne", None), ("Bobby", "CTO")),
    ],
)
def test_on_duplicate_keeps_the_whole_first_or_last_row(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path, choice: str,
    kept: tuple[int, int], a_values: tuple[str, str | None], b_values: tuple[str, str | None],
) -> None:
    path = write(tmp_path, "dupes.csv", DUPES)
    report = import_people(sqlite_engine, path, schema=schema, on_duplicate=choice)  # type: ignore[arg-type]
    assert (report.created, report.rows) == (3, 6)
    assert report.duplicates == (
        Duplicate("a@example.com", (2, 4, 6), kept[0]),
        Duplicate("b@example.com", (3, 7), kept[1]),
    )
    found = people(sqlite_engine)
    assert (found["a@example.com"].first_name, found["a@example.com"].title) == a_values
    assert (found["b@example.com"].first_name, found["b@example.com"].title) == b_values
    assert found["c@example.com"].first_name == "Cy"


def test_unknown_column_names_the_file_and_the_known_fields(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = write(tmp_path, "bad.csv", "email,Foo\na@example.com,x\n")
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    [(where, message)] = errors_of(caught)
    assert where == f"{path}:1"
    assert message.startswith("unknown column 'Foo' (hub person fields: email, first_name,")
    assert message.endswith("segment, nps)")
    assert people(sqlite_engine) == {}


def test_every_problem_is_reported_and_nothing_is_written(
    engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        "email,First Name,score,Segment\n"
        "good@example.com,Good,1,SMB\n"
        ",NoEmail,2,\n"
        "not-an-email,X,3,\n"
        "c@example.com,C,three,Mid-market\n"
        f"d@example.com,{'x' * 81},,\n",
    )
    with pytest.raises(InputErrors) as caught:
        import_people(engine, path, schema=schema)
    found = errors_of(caught)
    assert [where for where, _ in found] == [
        f"{path}:3 email",
        f"{path}:4 email",
        f"{path}:5 score",
        f"{path}:5 Segment",
        f"{path}:6 First Name",
    ]
    assert found[0][1] == "missing: every row needs an email"
    assert found[1][1] == "'not-an-email' is not an email address"
    assert found[2][1].startswith("score: 'three' is not a ")
    assert found[3][1] == "segment: 'Mid-market' is not one of ['SMB', 'Enterprise']"
    assert found[4][1] == "first_name: 81 characters, the hub allows 80"
    assert str(caught.value).count("\n") == 4  # one line per problem
    assert people(engine) == {}


def test_csv_layout_problems(sqlite_engine: Engine, schema: HubSchema, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "layout.csv",
        "Email,E-mail Address\na@example.com,a@example.com\n",
    )
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    assert errors_of(caught) == [
        (f"{path}:1", "columns 'Email' and 'E-mail Address' both mean email")
    ]
    path = write(tmp_path, "extra.csv", "email,title\na@example.com,CTO,surprise\n")
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    assert errors_of(caught) == [(f"{path}:2", "3 values but the header has 2 columns")]


def test_excel_csv_with_bom_blank_columns_and_multiline_cells(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffEmail Address,Job Title,\r\n"
        'a@example.com,"Head of\r\nGrowth",\r\n'
        ",,\r\n"
        "b@example.com,,\r\n".encode()
    )
    report = import_people(sqlite_engine, path, schema=schema)
    assert report == ImportReport(created=2, updated=0, unchanged=0, rows=2)
    assert people(sqlite_engine)["a@example.com"].title == "Head of\r\nGrowth"


def test_jsonl_import_by_extension_or_content(
    engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    lines = [
        {"email": "a@example.com", "Job Title": "CTO", "score": 7, "unsubscribed": False},
        {"email": "b@example.com", "nps": "10", "segment": None},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    for name in ("people.ndjson", "people.txt"):
        report = import_people(engine, write(tmp_path, name, text), schema=schema)
        assert report.rows == 2
    stored = people(engine)
    assert (stored["a@example.com"].title, stored["a@example.com"].score) == ("CTO", 7)
    assert stored["b@example.com"].attributes == {"nps": 10}


def test_jsonl_problems_name_their_line(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "bad.jsonl",
        '{"email": "a@example.com"}\n'
        '{"email": \n'
        '["not", "an object"]\n'
        '{"email": "b@example.com", "Foo": 1}\n',
    )
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    wheres = [where for where, _ in errors_of(caught)]
    assert wheres == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert errors_of(caught)[0][1].startswith("not valid JSON")
    assert "unknown column 'Foo'" in errors_of(caught)[2][1]


def test_account_ids_must_exist(sqlite_engine: Engine, schema: HubSchema, tmp_path: Path) -> None:
    with session(sqlite_engine) as s:
        account = Account(name="Acme")
        s.add(account)
    path = write(
        tmp_path,
        "accounts.csv",
        f"email,account_id\na@example.com,{account.id}\nb@example.com,nope\n",
    )
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    assert errors_of(caught) == [(f"{path}:3 account_id", "no account with id 'nope'")]
    write(tmp_path, "accounts.csv", f"email,account_id\na@example.com,{account.id}\n")
    import_people(sqlite_engine, path, schema=schema)
    assert people(sqlite_engine)["a@example.com"].account_id == account.id


def test_a_missing_file_is_an_input_error(sqlite_engine: Engine, schema: HubSchema) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_people(sqlite_engine, "nowhere.csv", schema=schema)


def test_large_imports_write_in_batches_within_one_transaction(
    engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    rows = "".join(f"p{i:04}@example.com,P{i}\n" for i in range(1200))
    path = write(tmp_path, "big.csv", "email,first_name\n" + rows)
    seen: list[int] = []

    def crash_after_first_batch(done: int) -> None:
        seen.append(done)
        if done > 500:
            raise RuntimeError("killed mid-import")

    with pytest.raises(RuntimeError):
        import_people(engine, path, schema=schema, progress=crash_after_first_batch)
    assert seen == [500, 1000]
    assert people(engine) == {}  # the first two batches were rolled back with the rest

    seen.clear()
    report = import_people(engine, path, schema=schema, progress=seen.append)
    assert report == ImportReport(created=1200, updated=0, unchanged=0, rows=1200)
    assert seen == [500, 1000, 1200]
    with session(engine) as s:
        assert current_seq(s) == 1200


def _populate(engine: Engine) -> None:
    with session(engine) as s:
        s.add(Person(email="b@example.com", first_name="Bea", score=3, attributes={"nps": 8}))
        s.add(Person(email="a@example.com", first_name="Al, Jr.", unsubscribed=True))
        s.add(Person(email="gone@example.com", deleted_at=utcnow()))


def test_export_csv_orders_by_email_with_custom_columns_last(
    engine: Engine, schema: HubSchema
) -> None:
    _populate(engine)
    out = io.StringIO()
    assert export_people(engine, out, schema=schema, fmt="csv") == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    # The hub id first, as a CRM export starts with the record id.
    assert list(rows[0])[:4] == ["id", "email", "first_name", "last_name"]
    assert all(len(r["id"]) == 32 for r in rows)
    assert list(rows[0])[-2:] == ["segment", "nps"]
    assert [(r["email"], r["first_name"], r["unsubscribed"], r["nps"]) for r in rows] == [
        ("a@example.com", "Al, Jr.", "true", ""),
        ("b@example.com", "Bea", "false", "8"),
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_export_json_formats(sqlite_engine: Engine, schema: HubSchema, fmt: str) -> None:
    _populate(sqlite_engine)
    out = io.StringIO()
    export_people(sqlite_engine, out, schema=schema, fmt=fmt)  # type: ignore[arg-type]
    text = out.getvalue()
    records = (
        json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    )
    assert [(r["email"], r["score"], r["nps"], r["unsubscribed"]) for r in records] == [
        ("a@example.com", None, None, True),
        ("b@example.com", 3, 8, False),
    ]


def test_export_of_nobody_is_valid(sqlite_engine: Engine, schema: HubSchema) -> None:
    out = io.StringIO()
    assert export_people(sqlite_engine, out, schema=schema, fmt="json") == 0
    assert json.loads(out.getvalue()) == []


def test_export_streams_rows(sqlite_engine: Engine, schema: HubSchema) -> None:
    _populate(sqlite_engine)
    options: list[dict[str, object]] = []

    def record(state: object) -> None:
        options.append(dict(state.execution_options))  # type: ignore[attr-defined]

    event.listen(Session, "do_orm_execute", record)
    try:
        export_people(sqlite_engine, io.StringIO(), schema=schema, fmt="jsonl")
    finally:
        event.remove(Session, "do_orm_execute", record)
    assert any(o.get("yield_per") for o in options)


def test_unknown_export_format(sqlite_engine: Engine, schema: HubSchema) -> None:
    with pytest.raises(InputError, match="unknown export format 'xml'"):
        export_people(sqlite_engine, io.StringIO(), schema=schema, fmt="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_import_is_a_no_op(
    engine: Engine, schema: HubSchema, tmp_path: Path, fmt: str
) -> None:
    _populate(engine)
    path = tmp_path / f"people.{fmt}"
    with path.open("w", encoding="utf-8", newline="") as out:
        export_people(engine, out, schema=schema, fmt=fmt)  # type: ignore[arg-type]
    report = import_people(engine, path, schema=schema)
    assert report == ImportReport(created=0, updated=0, unchanged=2, rows=2)


def test_a_file_that_is_not_utf8_is_one_clear_error(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,first_name\nzoe@example.com,Zoë\n".encode("latin-1"))
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    [(where, message)] = errors_of(caught)
    assert where == str(path)
    assert message.startswith("not UTF-8 text")
    assert people(sqlite_engine) == {}


def test_an_export_restored_into_a_new_hub_keeps_the_hub_ids(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    _populate(sqlite_engine)
    path = tmp_path / "people.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        export_people(sqlite_engine, out, schema=schema)
    restored = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    try:
        init_db(restored)
        report = import_people(restored, path, schema=schema)
        assert (report.created, report.rows) == (2, 2)
        # The CRM records hold the hub id as their external id: the restored hub matches them.
        assert {p.email: p.id for p in people(restored).values()} == {
            p.email: p.id for p in people(sqlite_engine).values() if p.deleted_at is None}
    finally:
        restored.dispose()


def test_hub_ids_in_a_file_must_fit_the_hub(
    sqlite_engine: Engine, schema: HubSchema, tmp_path: Path
) -> None:
    with session(sqlite_engine) as s:
        s.add(Person(id="a" * 32, email="ann@example.com"))
        s.add(Person(id="d" * 32, email="gone@example.com", deleted_at=utcnow()))
    path = write(
        tmp_path,
        "ids.csv",
        "Hub ID,email\n"
        f"{'b' * 32},ann@example.com\n"  # Ann is aaaa...
        f"{'a' * 32},new@example.com\n"  # aaaa... is Ann's
        f"{'d' * 32},other@example.com\n"  # dddd... was a deleted person's
        "not-an-id,cy@example.com\n"
        f"{'e' * 32},eve@example.com\n"
        f"{'E' * 32},fay@example.com\n",  # the same id as Eve's
    )
    with pytest.raises(InputErrors) as caught:
        import_people(sqlite_engine, path, schema=schema)
    assert errors_of(caught) == [
        (f"{path}:5 Hub ID", "'not-an-id' is not a hub id (32 hexadecimal characters, as "
                             "`syncline export people` writes)"),
        (f"{path}:7 Hub ID", f"id {'e' * 32} is also given to eve@example.com on line 6"),
        (f"{path}:2 Hub ID", f"the hub's person ann@example.com has id {'a' * 32}, not {'b' * 32}"),
        (f"{path}:3 Hub ID", f"id {'a' * 32} belongs to person ann@example.com, "
                             "not new@example.com"),
        (f"{path}:4 Hub ID", f"id {'d' * 32} belongs to a deleted person, not other@example.com"),
    ]
    assert set(people(sqlite_engine)) == {"ann@example.com", "gone@example.com"}
