"""Helpers for the CLI tests: the project files they write and ways to look at the results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result
from sqlalchemy import Engine, inspect, text

from connectors.memory.store import MemoryStore

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MAPPINGS = REPO / "mappings"

CONNECTIONS = """\
crm:
  type: memory
  path: crm.json
"""

LEAD_MAPPING = """\
name: lead
connection: crm
hub_object: person
remote_object: Lead
direction: both
identity: {external_id: Syncline_Id__c, match: [email]}
fields:
  - {hub: email, remote: Email, transform: [strip, lower]}
  - {hub: first_name, remote: FirstName}
  - {hub: last_name, remote: LastName, default: "[unknown]"}
  - {hub: company, remote: Company, default: "[not provided]"}
  - {hub: lead_source, remote: LeadSource}
"""

CONTACT_MAPPING = """\
name: contact
connection: crm
hub_object: person
remote_object: Contact
direction: to_remote
identity: {external_id: Syncline_Id__c, match: [email]}
fields:
  - {hub: email, remote: Email, transform: [strip, lower]}
  - {hub: last_name, remote: LastName, default: "[unknown]"}
"""


def crm(tmp_path: Path | None = None) -> MemoryStore:
    """The CRM store of the project (crm.json in the working directory)."""
    return MemoryStore.at((tmp_path or Path.cwd()) / "crm.json")


def rows(engine: Engine, table: str, order: str = "id") -> list[dict[str, Any]]:
    with engine.connect() as connection:
        result = connection.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))
        return [dict(row._mapping) for row in result]


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()


def database_dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted), to prove that a command wrote nothing."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            dump[table] = sorted((tuple(row) for row in result), key=repr)
    return dump


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` except the database and lock files, by relative path."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith("hub.db") and path.suffix != ".lock"
    }


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]
