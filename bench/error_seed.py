"""A million realistic sync errors in seconds, for ``bench/dashboard_pages.py``.

The rows are made by the database itself in one ``INSERT … SELECT`` over a series
(``generate_series`` on PostgreSQL, a recursive CTE on SQLite): per-row "random" numbers are
integer hashes of the row number, so both backends get the same rows on every run, and the
skew (which mappings and causes dominate) comes from small weighted slot tables built here
from the shipped mappings and the cause list below.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, insert, text
from sqlmodel import Session

from connectors.errors import ErrorKind
from core import clock
from core.models import SyncError, SyncRun
from jobs import causes
from jobs.failures import Failure, fingerprint

REPO = Path(__file__).resolve().parent.parent
DAYS = 90
SLOTS = 1000  # a weight of w out of W gets about w / W * SLOTS slots

# -- what the errors look like --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cause:
    """One way records fail: the remote's code and words, and how often (relative weight)."""

    family: str  # the connection it comes from, or "hub" (our own checks, any mapping)
    kind: ErrorKind
    code: str
    field: str | None
    weight: float
    message: str  # the remote's text; {record} and {value} are filled per row
    hint: str | None = None


SF, DV, WEB, HUB = "salesforce", "dynamics", "webinar", "hub"
V, D, T = ErrorKind.VALIDATION, ErrorKind.DUPLICATE, ErrorKind.TRANSIENT
CAUSES = (
    Cause(SF, V, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone", 40,
          "Phone must be entered in international format (+ and country code) before a record "
          "can be saved. Value for {value} rejected by rule Phone_Format on {record}.",
          "Fix the phone in the hub or relax the Phone_Format rule, then retry."),
    Cause(SF, V, "REQUIRED_FIELD_MISSING", "LastName", 25,
          "Required fields are missing: [LastName]. The record {record} ({value}) was not "
          "saved; every other record in the batch was processed."),
    Cause(SF, V, "INVALID_EMAIL_ADDRESS", "Email", 14,
          "Email: invalid email address: {value}. Salesforce accepts RFC 5322 addresses only "
          "({record})."),
    Cause(SF, D, "DUPLICATES_DETECTED", None, 12,
          "Use one of these records? Duplicate rule Standard_Lead_Duplicate_Rule matched "
          "{record} against an existing record with the same email address ({value}).",
          "Merge the duplicates in Salesforce or link the existing record."),
    Cause(SF, V, "STRING_TOO_LONG", "Company", 6,
          "Company: data value too large: Company of {value} (max length=255) on {record}"),
    Cause(SF, V, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "LeadSource", 5,
          "Lead Source: bad value for restricted picklist field: Webinar 2026 ({record})"),
    Cause(SF, T, "UNABLE_TO_LOCK_ROW", None, 4,
          "unable to obtain exclusive access to this record or 1 records: {record}"),
    Cause(SF, ErrorKind.RATE_LIMITED, "REQUEST_LIMIT_EXCEEDED", None, 3,
          "TotalRequests Limit exceeded. The org has used its daily API allowance; requests "
          "resume when the rolling 24-hour window frees calls."),
    Cause(SF, ErrorKind.NOT_FOUND, "ENTITY_IS_DELETED", None, 3,
          "entity is deleted: {record} was deleted in Salesforce after it was linked."),
    Cause(SF, ErrorKind.PERMISSION, "INSUFFICIENT_ACCESS_OR_READONLY", None, 2,
          "insufficient access rights on object id {record}; the integration user's profile "
          "lacks Edit on this object."),
    Cause(SF, V, "INVALID_TYPE_ON_FIELD_IN_RECORD", "AnnualRevenue", 1.5,
          "Annual Revenue: value not of required type: 12k for {value} on {record}"),
    Cause(SF, V, "MALFORMED_ID", "AccountId", 1,
          "Account ID: id value of incorrect type: 001XX for {record}"),
    Cause(SF, ErrorKind.SYSTEM, "UNKNOWN_EXCEPTION", None, 0.5,
          "An unexpected error occurred. Please include this ErrorId if you contact support: "
          "1938475-{record}"),
    Cause(DV, V, "0x80044331", "telephone1", 10,
          "A validation error occurred. The value of 'telephone1' for {value} on record "
          "{record} is outside the valid range or does not match the required format."),
    Cause(DV, D, "0x80040333", None, 8,
          "A record was not created or updated because a duplicate of the current record "
          "already exists ({record}, {value})."),
    Cause(DV, V, "0x80048408", "leadsourcecode", 4,
          "Invalid value 100000007 for option set attribute leadsourcecode on {record}."),
    Cause(DV, ErrorKind.CONFLICT, "0x80060882", None, 2,
          "The version of the existing record doesn't match the RowVersion property provided "
          "for {record}."),
    Cause(DV, ErrorKind.PERMISSION, "0x80040220", None, 1.5,
          "Principal user (type=8) is missing prvWriteLead privilege on {record}."),
    Cause(DV, T, "0x80072322", None, 1.5,
          "Number of requests exceeded the limit of 6000 over time window of 300 seconds."),
    Cause(DV, ErrorKind.NOT_FOUND, "0x80040217", None, 1,
          "Entity with Id = {record} Does Not Exist"),
    Cause(WEB, V, "INVALID_REGISTRANT", "email", 3,
          "Registrant {record} has no valid email address ({value}); the webinar platform "
          "accepted the registration without one."),
    Cause(WEB, T, "HTTP_503", None, 1,
          "Service Unavailable: the webinar API is in maintenance, retry later ({record})."),
    Cause(HUB, V, "TRANSFORM_FAILED", "score", 6,
          "score: cannot convert 'n/a' to integer (transform to_int) for {value}, {record}"),
    Cause(HUB, V, "HUB_REJECTED_VALUE", "country", 5,
          "country: 'Untied States' is not a known country name or ISO code for {record}"),
    Cause(HUB, V, "RULE_FAILED", None, 4,
          "sync_rule: lifecycle_stage in ['MQL', 'SQL'] and not unsubscribed was false for "
          "{record}; it stays in the hub until the rule passes."),
    Cause(HUB, V, "UNRESOLVED_REFERENCE", "account_id", 4,
          "account_id: no account is linked for the remote account of {record}; it waits for "
          "its account to sync first."),
    Cause(HUB, ErrorKind.CONFLICT, "FIELD_CONFLICT", "title", 3,
          "title changed on both sides since the last sync ({record}, {value}); the mapping "
          "holds conflicts for review."),
    Cause(HUB, V, "HUB_REJECTED_VALUE", "email", 2,
          "email: {value} is not a valid email address for {record}"),
)
#: Whole-job failures (no record): a handful per mapping and direction.
JOB_CAUSES = (
    Cause("job", ErrorKind.AUTH, "INVALID_SESSION_ID", None, 1,
          "Session expired or invalid; the refresh token was rejected (invalid_grant)."),
    Cause("job", ErrorKind.CONFIG, "INVALID_FIELD", "Region__c", 1,
          "No such column 'Region__c' on entity; the mapping names a field the CRM lacks."),
    Cause("job", ErrorKind.RATE_LIMITED, "REQUEST_LIMIT_EXCEEDED", None, 1,
          "API allowance below the mapping's budget floor; the cycle stopped before writing."),
    Cause("job", ErrorKind.TRANSIENT, "HTTP_503", None, 1,
          "Service Unavailable (503) on every retry; the cycle ends and runs again later."),
    Cause("job", ErrorKind.CONFIG, "BRAKE_TRIPPED", None, 1,
          "Deletion brake: 1,204 deletes in one cycle is over the limit of 500; nothing sent."),
)
#: How often each shipped mapping fails relative to the others (leads fail most); others 2.
MAPPING_WEIGHTS = {"salesforce-lead": 30, "salesforce-contact": 14, "dynamics-lead": 12,
                   "salesforce-campaign-member": 10, "dynamics-contact": 8,
                   "webinar-registrant": 6, "salesforce-account": 4, "dynamics-account": 3}
#: Shares in percent, independent of age: the harder case for "open errors, newest first".
STATUS_SHARES = (("open", 20), ("retrying", 5), ("resolved", 65), ("ignored", 10))
SF_PREFIX = {"Lead": "00Q", "Contact": "003", "Account": "001", "Campaign": "701",
             "CampaignMember": "00v", "Opportunity": "006"}
PERSON_OBJECTS = ("person", "campaign_member")
FIRST = ("ann", "bob", "chen", "dana", "emil", "fatima", "gus", "hana", "ivan", "jo", "kofi",
         "lena", "mia", "noor", "otto", "priya", "quinn", "rosa", "sami", "tara")
LAST = ("smith", "garcia", "kim", "novak", "okafor", "rossi", "silva", "tanaka", "weber", "ali")
DOMAINS = ("acme.example.com", "globex.example.org", "initech.example.net", "umbrella.example",
           "example.co.uk", "mail.example.de")


@dataclass(frozen=True, slots=True)
class Mapping:
    """What the seed needs of a shipped mapping."""

    name: str
    connection: str
    hub_object: str
    remote_object: str
    directions: tuple[str, ...]


def shipped_mappings() -> list[Mapping]:
    found = []
    for path in sorted((REPO / "mappings").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if "name" not in data:  # hub.yaml
            continue
        direction = data.get("direction", "both")
        directions = ("to_hub", "to_remote") if direction == "both" else (direction,)
        found.append(Mapping(data["name"], data["connection"], data["hub_object"],
                             data["remote_object"], directions))
    return found


def slots(weights: list[float]) -> list[int]:
    """SLOTS entries, each the index of the weight whose share of the total covers it."""
    total, bounds, running = sum(weights), [], 0.0
    for weight in weights:
        running += weight
        bounds.append(running / total)
    picked, index = [], 0
    for slot in range(SLOTS):
        while bounds[index] < (slot + 0.5) / SLOTS:
            index += 1
        picked.append(index)
    return picked


# -- the SQL --------------------------------------------------------------------------------------

#: Odd multipliers, one stream each: mapping, status, cause, remote, attempts, gap, name.
_MULTIPLIERS = (1103515245, 69069, 1664525, 22695477, 134775813, 1140671485, 48271)


def _hashed(stream: int) -> str:
    """SQL for a pseudo-random 31-bit number of row ``n``: the middle bits of a square.

    Integer arithmetic only (below 2**62), so PostgreSQL and SQLite compute the same values.
    """
    x = f"((n * {_MULTIPLIERS[stream]} + {7919 * (stream + 1)}) % 2147483648)"
    return f"({x} * {x} / 65536 % 2147483648)"


#: What differs between the two backends; everything else in the statement is shared. The
#: fence (an OFFSET) keeps each step a subquery of its own: flattened, the planner would copy
#: a step's expressions into every later use (the remote id into each use of the message...),
#: which made the statement twice as slow.
DIALECTS: dict[str, dict[str, str]] = {
    "postgresql": {
        "series": "series(n) AS (SELECT generate_series(1::bigint, :rows))",
        "ts_open": "(CAST(:start AS timestamptz) + make_interval(secs => ", "ts_close": "))",
        "md5": "md5", "least": "least",
        "sha_open": "encode(sha256(convert_to(", "sha_close": ", 'UTF8')), 'hex')",
        "json_open": "CAST(", "json_close": " AS JSON)", "fence": "OFFSET 0",
    },
    "sqlite": {
        "series": "RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series "
                  "WHERE n < :rows)",
        # SQLAlchemy keeps SQLite datetimes as text with six fractional digits.
        "ts_open": "(strftime('%Y-%m-%d %H:%M:%f', :start, '+' || (",
        "ts_close": ") || ' seconds') || '000')",
        "md5": "bench_md5", "least": "min",
        "sha_open": "bench_sha256(", "sha_close": ")",
        "json_open": "(", "json_close": ")", "fence": "LIMIT -1 OFFSET 0",
    },
}

_HISTORY_ENTRY = """'{"at": "' || CAST($ts_open$at$ts_close AS TEXT) || '", "run_id": ' ||
           run_id || ', "message": "' || substr(message, 1, 120) || '"}'"""

_INSERT = Template("""
WITH $series,
pick AS (
    SELECT n, n / 2 AS person, $h0 % $slots AS m_slot, $h1 % 100 AS s_roll,
           $h2 % $slots AS c_slot, $h3 % 10 AS r_roll, $h4 % 100 AS a_roll,
           $h5 % 7200 AS gap, $h6 % 20 AS name_i, n * :period / :rows AS first_off
    FROM series $fence
),
base AS (
    SELECT p.*, m.m_index, m.mapping, m.direction, m.family, m.hub_object, m.remote_object,
           m.prefix, m.person_like, $md5('hub' || p.person) AS hub_id,
           CASE WHEN s_roll < $open THEN 'open' WHEN s_roll < $retrying THEN 'retrying'
                WHEN s_roll < $resolved THEN 'resolved' ELSE 'ignored' END AS status,
           CASE WHEN a_roll < 50 THEN 1 WHEN a_roll < 75 THEN 2 WHEN a_roll < 87 THEN 3
                ELSE 4 + a_roll % 7 END AS attempts
    FROM pick p JOIN bench_mapping m ON m.slot = p.m_slot $fence
),
record AS (
    -- The remote id reuses the hub id hash in another order: one md5 per row, not two.
    SELECT b.*, c.kind, c.code, c.field, c.message AS template, c.hint,
           CASE WHEN b.direction = 'to_hub' OR b.r_roll < 6 THEN CASE b.family
               WHEN 'dynamics' THEN substr(hub_id, 17, 8) || '-' || substr(hub_id, 25, 4)
                   || '-' || substr(hub_id, 29, 4) || '-' || substr(hub_id, 1, 4)
                   || '-' || substr(hub_id, 5, 12)
               WHEN 'salesforce' THEN b.prefix || '000' || upper(substr(hub_id, 20, 12))
               ELSE 'reg_' || b.person END END AS remote_id,
           CASE WHEN b.person_like = 1 THEN
               nm.first || '.' || nm.last || '.' || b.person || '@' || nm.domain END AS email,
           $least(b.first_off + (b.attempts - 1) * b.gap, :period - 1 - b.n % 3600) AS last_off
    FROM base b
    JOIN bench_cause c ON c.family = b.family AND c.slot = b.c_slot
        AND c.retrying = CASE WHEN b.status = 'retrying' THEN 1 ELSE 0 END
    JOIN bench_name nm ON nm.i = b.name_i $fence
),
worded AS (
    SELECT r.*, m_index * :hours + last_off / 3600 + 1 AS run_id,
           replace(replace(template, '{record}',
                           remote_object || ' ' || coalesce(remote_id, hub_id)),
                   '{value}', coalesce(email, 'Contact ' || person)) AS message
    FROM record r $fence
)
INSERT INTO sync_error (fingerprint, mapping, direction, level, hub_object, hub_id,
    remote_object, remote_id, email, kind, code, field, message, hint, payload, attempts,
    history, status, first_seen, last_seen, next_retry_at, resolved_at, run_id)
SELECT $sha_open mapping || '|' || direction || '|' || hub_id || '|' || kind || '|' ||
           coalesce(code, '') || '|' || coalesce(field, '') || '|' || n $sha_close,
       mapping, direction, 'record', hub_object, hub_id, remote_object, remote_id, email,
       kind, code, field, message, hint,
       $json_open '{"Email": ' || coalesce('"' || email || '"', 'null') ||
           ', "Company": "Company ' || (person % 997) || '", "Title": "Engineer"}' $json_close,
       attempts,
       $json_open '[' || $first_entry ||
           CASE WHEN attempts > 1 THEN ', ' || $last_entry ELSE '' END || ']' $json_close,
       status, $ts_open first_off $ts_close, $ts_open last_off $ts_close,
       CASE WHEN status = 'retrying' THEN $ts_open last_off + attempts * attempts * 60
           $ts_close END,
       CASE WHEN status = 'resolved' THEN $ts_open last_off + 1800 $ts_close END,
       run_id
FROM worded
""")


def insert_statement(dialect: str) -> str:
    """The one statement that makes every record-level row, for ``dialect``."""
    parts = DIALECTS[dialect]
    shares, running = {}, 0
    for status, share in STATUS_SHARES[:-1]:
        running += share
        shares[status] = running
    entry = Template(_HISTORY_ENTRY)
    return _INSERT.substitute(
        parts, slots=SLOTS, **{f"h{i}": _hashed(i) for i in range(len(_MULTIPLIERS))},
        **shares,
        first_entry=entry.substitute(parts, at="first_off"),
        last_entry=entry.substitute(parts, at="last_off"),
    )


# -- seeding --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """How a database got its rows: seeded now (seconds per step) or reused as it was."""

    rows: int
    reused: bool = False
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())

    def describe(self) -> str:
        if self.reused:
            return f"reused ({self.rows:,} error rows already there)"
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.steps.items())
        return f"seeded in {self.seconds:.1f} s ({parts})"


class Seeder:
    """Fills an empty, migrated database: hourly runs per mapping, job errors, record errors."""

    def __init__(self, engine: Engine, rows: int) -> None:
        self.engine = engine
        self.rows = rows
        self.dialect = engine.dialect.name
        self.now = clock.utcnow().replace(minute=0, second=0, microsecond=0)
        self.start = self.now - timedelta(days=DAYS)
        self.hours = DAYS * 24
        self.mappings = shipped_mappings()
        self.steps: dict[str, float] = {}
        self._mark = time.perf_counter()

    def _step(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = now - self._mark
        self._mark = now

    def seed(self) -> Seeded:
        """Everything, timed by step.

        The secondary indexes of sync_error are dropped for the load and built after (and on
        PostgreSQL its unique and foreign key constraints too): building an index once, or
        checking a key in one join, is several times cheaper than doing it row by row.
        """
        indexes = list(SyncError.__table__.indexes)  # type: ignore[attr-defined]
        with self.engine.begin() as connection:
            self._runs(connection)
            self._step("runs")
            constraints = self._constraints(connection)
            for name, _ in constraints:
                connection.execute(text(f"ALTER TABLE sync_error DROP CONSTRAINT {name}"))
            for index in indexes:
                index.drop(connection)
            self._job_errors(connection)
            self._record_errors(connection)
            self._step("errors")
            for index in indexes:
                index.create(connection)
            for name, definition in constraints:
                connection.execute(text(f"ALTER TABLE sync_error ADD CONSTRAINT {name} "
                                        f"{definition}"))
            self._step("indexes")
        # A bulk load bypasses FailureLog, so the kept counts per cause are rebuilt once.
        with Session(self.engine) as session:
            causes.rebuild(session)
            session.commit()
        self._step("cause counts")
        if self.dialect == "postgresql":
            # Autovacuum would get to the new rows within minutes (statistics, and the
            # visibility map that index-only scans need); the bench cannot wait for it.
            with self.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(text("VACUUM ANALYZE sync_error"))
                connection.execute(text("VACUUM ANALYZE sync_run"))
            self._step("vacuum")
        return Seeded(self.rows, steps=self.steps)

    def _constraints(self, connection: Connection) -> list[tuple[str, str]]:
        """PostgreSQL: sync_error's unique and foreign keys, as (name, definition).

        SQLite keeps them: it cannot drop a constraint short of rebuilding the table.
        """
        if self.dialect != "postgresql":
            return []
        return [(row[0], row[1]) for row in connection.execute(text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'sync_error'::regclass AND contype IN ('u', 'f')"))]

    def _run_id(self, m_index: int, offset_seconds: int) -> int:
        return m_index * self.hours + offset_seconds // 3600 + 1

    def _runs(self, connection: Connection) -> None:
        """One run per mapping per hour; id = mapping index * hours + hour + 1."""
        runs = []
        for m_index, mapping in enumerate(self.mappings):
            for hour in range(self.hours):
                started = self.start + timedelta(hours=hour)
                runs.append({"id": self._run_id(m_index, hour * 3600), "mapping": mapping.name,
                             "trigger": "schedule", "status": "partial", "started_at": started,
                             "finished_at": started + timedelta(seconds=40),
                             "duration_ms": 40_000, "read": 500, "updated_remote": 480,
                             "failed": 20, "api_calls": 12})
        connection.execute(insert(SyncRun.__table__), runs)  # type: ignore[attr-defined]
        if self.dialect == "postgresql":  # explicit ids leave the sequence behind
            connection.execute(text("SELECT setval(pg_get_serial_sequence('sync_run', 'id'), "
                                    "(SELECT max(id) FROM sync_run))"))

    def _job_errors(self, connection: Connection) -> None:
        """Two to four job-level causes per mapping and direction, mostly resolved."""
        rows: list[dict[str, Any]] = []
        for m_index, mapping in enumerate(self.mappings):
            for direction in mapping.directions:
                for cause in JOB_CAUSES[: 2 + m_index % 3]:
                    seen = self.start + timedelta(hours=len(rows) * 7 % self.hours)
                    failure = Failure(cause.kind, cause.message, cause.code, cause.field)
                    rows.append({
                        "fingerprint": fingerprint(mapping.name, direction, "job", None, failure),
                        "mapping": mapping.name, "direction": direction, "level": "job",
                        "kind": str(cause.kind), "code": cause.code, "field": cause.field,
                        "message": cause.message, "attempts": 1, "history": [],
                        "status": "open" if len(rows) % 4 == 0 else "resolved",
                        "first_seen": seen, "last_seen": seen,
                        "run_id": self._run_id(m_index, int((seen - self.start).total_seconds())),
                    })
        connection.execute(insert(SyncError.__table__), rows)  # type: ignore[attr-defined]

    def _record_errors(self, connection: Connection) -> None:
        self._slot_tables(connection)
        start = self.start.astimezone(UTC)
        if self.dialect == "sqlite":
            raw = connection.connection.driver_connection
            assert raw is not None
            for name, digest in (("bench_md5", hashlib.md5), ("bench_sha256", hashlib.sha256)):
                raw.create_function(name, 1, _hexdigest(digest), deterministic=True)
            raw.execute("PRAGMA cache_size=-400000")  # 400 MB: the fingerprint index is random
            start_text = start.strftime("%Y-%m-%d %H:%M:%S")
        else:
            start_text = start.strftime("%Y-%m-%d %H:%M:%S+00")
        connection.execute(text(insert_statement(self.dialect)), {
            "rows": self.rows - self._job_count(), "start": start_text,
            "period": DAYS * 86400, "hours": self.hours})
        for table in ("bench_mapping", "bench_cause", "bench_name"):
            connection.execute(text(f"DROP TABLE {table}"))

    def _job_count(self) -> int:
        return sum(len(m.directions) * len(JOB_CAUSES[: 2 + i % 3])
                   for i, m in enumerate(self.mappings))

    def _slot_tables(self, connection: Connection) -> None:
        """Weighted slot tables: a row picks slot hash % SLOTS, so weights become frequencies."""
        connection.execute(text(
            "CREATE TEMP TABLE bench_mapping (slot INTEGER PRIMARY KEY, m_index INTEGER, "
            "mapping TEXT, direction TEXT, family TEXT, hub_object TEXT, remote_object TEXT, "
            "prefix TEXT, person_like INTEGER)"))
        connection.execute(text(
            "CREATE TEMP TABLE bench_cause (family TEXT, retrying INTEGER, slot INTEGER, "
            "kind TEXT, code TEXT, field TEXT, message TEXT, hint TEXT, "
            "PRIMARY KEY (family, retrying, slot))"))
        connection.execute(text("CREATE TEMP TABLE bench_name (i INTEGER PRIMARY KEY, "
                                "first TEXT, last TEXT, domain TEXT)"))
        pairs = [(i, m, d) for i, m in enumerate(self.mappings) for d in m.directions]
        weights = [MAPPING_WEIGHTS.get(m.name, 2) / len(m.directions) for _, m, _ in pairs]
        connection.execute(text(
            "INSERT INTO bench_mapping VALUES (:slot, :m_index, :mapping, :direction, :family, "
            ":hub_object, :remote_object, :prefix, :person_like)"), [
            {"slot": slot, "m_index": pairs[p][0], "mapping": pairs[p][1].name,
             "direction": pairs[p][2], "family": pairs[p][1].connection,
             "hub_object": pairs[p][1].hub_object, "remote_object": pairs[p][1].remote_object,
             "prefix": SF_PREFIX.get(pairs[p][1].remote_object, "a0B"),
             "person_like": int(pairs[p][1].hub_object in PERSON_OBJECTS)}
            for slot, p in enumerate(slots(weights))])
        causes = []
        for family in {m.connection for m in self.mappings}:
            pool = [c for c in CAUSES if c.family in (family, HUB)]
            for retrying, choices in ((0, pool), (1, [c for c in pool if c.kind.retryable])):
                for slot, c in enumerate(slots([c.weight for c in choices])):
                    cause = choices[c]
                    causes.append({"family": family, "retrying": retrying, "slot": slot,
                                   "kind": str(cause.kind), "code": cause.code,
                                   "field": cause.field, "message": cause.message,
                                   "hint": cause.hint})
        connection.execute(text(
            "INSERT INTO bench_cause VALUES (:family, :retrying, :slot, :kind, :code, :field, "
            ":message, :hint)"), causes)
        connection.execute(text("INSERT INTO bench_name VALUES (:i, :first, :last, :domain)"), [
            {"i": i, "first": first, "last": LAST[i % len(LAST)],
             "domain": DOMAINS[i % len(DOMAINS)]} for i, first in enumerate(FIRST)])


def _hexdigest(digest: Any) -> Any:
    return lambda value: None if value is None else digest(str(value).encode()).hexdigest()


def newest(value: datetime | str) -> datetime:
    """A timestamp read back by a raw query (SQLite hands text back) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
