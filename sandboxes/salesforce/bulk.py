"""Bulk API 2.0 jobs: CSV ingest (insert/update/upsert/delete/hardDelete) and query jobs."""

from __future__ import annotations

import base64
import csv
import io
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sandboxes.salesforce.deserialize import csv_problem
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.ids import IdMinter, object_of
from sandboxes.salesforce.recycle import hard_delete
from sandboxes.salesforce.schema import find_field

if TYPE_CHECKING:
    from sandboxes.salesforce.faults import Faults
    from sandboxes.salesforce.org import Org
    from sandboxes.salesforce.soql.query import Query

INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
DELIMITERS = {
    "COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`",
}  # fmt: skip
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL_STATES = ("JobComplete", "Failed", "Aborted")
#: The literal that sets a field to null in Bulk API CSV (an empty value leaves it unchanged).
NULL_MARKER = "#N/A"
#: Rows are applied in chunks so other requests (and an abort) can get in between.
CHUNK_SIZE = 200
NUMBER_TYPES = ("double", "currency", "percent")


def _now() -> str:
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def job_error(message: str, status: int = 400, code: str = "INVALIDJOB") -> SalesforceError:
    return SalesforceError(code, message, status=status)


@dataclass
class Job:
    """One Bulk API 2.0 job (ingest or query) and its results."""

    id: str
    kind: str  # "ingest" or "query"
    operation: str
    object: str
    api_version: str
    created_by: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    query: Query | None = None
    state: str = "Open"
    created_date: str = field(default_factory=_now)
    modstamp: str = field(default_factory=_now)
    uploaded: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    query_rows: list[list[str]] = field(default_factory=list)
    # Lower-cased CSV column -> (API field name, describe type), filled when the upload is read.
    field_names: dict[str, str] = field(default_factory=dict)
    field_types: dict[str, str] = field(default_factory=dict)
    processed: int = 0
    error_message: str = ""
    processing_ms: int = 0

    def info(self) -> dict:
        """The job info JSON (``GET jobs/ingest/{id}`` or ``jobs/query/{id}``)."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp,
            "state": self.state,
        }
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        body |= {
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.kind == "ingest":
            body |= {
                "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
                "jobType": "V2Ingest",
                "numberRecordsProcessed": self.processed,
                "numberRecordsFailed": len(self.failures),
                "retries": 0,
                "totalProcessingTime": self.processing_ms,
                "apiActiveProcessingTime": self.processing_ms,
                "apexProcessingTime": 0,
            }
        else:
            body |= {
                "jobType": "V2Query",
                "numberRecordsProcessed": self.processed,
                "retries": 0,
                "totalProcessingTime": self.processing_ms,
            }
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body

    def set_state(self, new_state: str) -> None:
        self.state = new_state
        self.modstamp = _now()


class BulkHost(Protocol):
    """What the jobs use of the running sandbox (its org is replaced on reset: read it late)."""

    org: Org
    faults: Faults
    org_lock: threading.RLock


class BulkJobs:
    """Every Bulk API 2.0 job of the sandbox; processing runs in a worker thread per job."""

    def __init__(self, sandbox: BulkHost) -> None:
        self._sandbox = sandbox
        self._jobs: dict[str, Job] = {}
        self._minter = IdMinter()
        self._lock = threading.Lock()

    def count(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str, kind: str) -> Job:
        """The job, or 404 NOT_FOUND (a query job is not found under ingest and vice versa)."""
        job = self._jobs.get(job_id)
        if job is None or job.kind != kind:
            raise job_error("The requested resource does not exist", 404, "NOT_FOUND")
        return job

    def list(self, kind: str) -> list[Job]:
        return [job for job in self._jobs.values() if job.kind == kind]

    def delete(self, job_id: str, kind: str) -> None:
        job = self.get(job_id, kind)
        if job.state not in TERMINAL_STATES and not (kind == "ingest" and job.state == "Open"):
            raise job_error(
                f"Job {job_id} cannot be deleted while it is {job.state}", code="INVALIDJOBSTATE"
            )
        with self._lock:
            self._jobs.pop(job_id, None)

    # -- creating jobs --------------------------------------------------------------------

    def _format(self, body: dict) -> tuple[str, str]:
        if body.get("contentType", "CSV") != "CSV":
            raise job_error(f"Unsupported content type: {body.get('contentType')}")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS:
            raise job_error(f"Invalid column delimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise job_error(f"Invalid line ending: {line_ending}")
        return delimiter, line_ending

    def create_ingest(self, body: dict, version: str, user_id: str) -> dict:
        """The info of a new Open ingest job, or 400 INVALIDJOB naming the bad property."""
        operation = body.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise job_error(f"InvalidJob : Invalid operation: {operation}")
        sobject = body.get("object")
        if not sobject:
            raise job_error("InvalidJob : object is required")
        try:
            sobject = self._sandbox.org.describe(sobject)["name"]
        except SalesforceError as error:
            raise job_error(f"InvalidJob : Invalid object: {sobject}") from error
        external_id = body.get("externalIdFieldName")
        if operation == "upsert":
            if not external_id:
                raise job_error("InvalidJob : externalIdFieldName is required for upsert")
            entry = find_field(self._sandbox.org.describe(sobject), external_id)
            if entry is None or not (entry["name"] == "Id" or entry.get("externalId")):
                raise job_error(
                    f"InvalidJob : Field name provided, {external_id} does not match an External "
                    f"ID, Salesforce Id, or indexed field for {sobject}"
                )
            external_id = entry["name"]
        delimiter, line_ending = self._format(body)
        job = Job(
            id=self._minter.mint("750"),
            kind="ingest",
            operation=operation,
            object=sobject,
            api_version=version,
            created_by=user_id,
            column_delimiter=delimiter,
            line_ending=line_ending,
            external_id_field=external_id if operation == "upsert" else None,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job.info()

    def create_query(self, body: dict, version: str, user_id: str) -> dict:
        """The info of a new query job (UploadComplete); a worker thread gathers its rows."""
        from sandboxes.salesforce.soql import parse

        operation = body.get("operation", "query")
        if operation not in QUERY_OPERATIONS:
            raise job_error(f"InvalidJob : Invalid operation: {operation}")
        text = body.get("query")
        if not text:
            raise job_error("InvalidJob : query is required")
        query = parse(text)
        if query.count_only:
            raise job_error(
                "InvalidJob : COUNT() is not supported by Bulk API 2.0 query jobs",
                code="API_ERROR",
            )
        delimiter, line_ending = self._format(body)
        job = Job(
            id=self._minter.mint("750"),
            kind="query",
            operation=operation,
            object=self._sandbox.org.describe(query.sobject)["name"],
            api_version=version,
            created_by=user_id,
            column_delimiter=delimiter,
            line_ending=line_ending,
            query=query,
            state="UploadComplete",
        )
        with self._lock:
            self._jobs[job.id] = job
        info = job.info()  # as created: the worker may finish before the response is sent
        self._start(self._run_query, job)
        return info

    # -- ingest ---------------------------------------------------------------------------

    def upload(self, job_id: str, data: bytes) -> None:
        """Add CSV data to an Open ingest job."""
        job = self.get(job_id, "ingest")
        if job.state != "Open":
            raise job_error(
                f"Job {job_id} is {job.state}; data can only be uploaded while it is Open",
                409,
                "INVALIDJOBSTATE",
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise job_error("InvalidBatch : the CSV data must be UTF-8") from error
        if not text.strip():
            raise job_error("InvalidBatch : the CSV data is empty")
        job.uploaded.append(text)

    def change_state(self, job_id: str, kind: str, new_state: str) -> dict:
        """``UploadComplete`` (ingest, from Open) starts processing; ``Aborted`` stops a job."""
        job = self.get(job_id, kind)
        if new_state == "Aborted":
            if job.state in TERMINAL_STATES:
                raise job_error(f"Job {job_id} is already {job.state}", 409, "INVALIDJOBSTATE")
            if job.state in ("Open", "UploadComplete"):
                # Nothing was processed yet: every uploaded row stays unprocessed.
                job.unprocessed = self._uploaded_rows(job)
            job.set_state("Aborted")
            return job.info()
        if new_state == "UploadComplete" and kind == "ingest":
            if job.state != "Open":
                raise job_error(
                    f"Job {job_id} is {job.state}; only an Open job can be closed",
                    409,
                    "INVALIDJOBSTATE",
                )
            job.set_state("UploadComplete")
            info = job.info()
            self._start(self._run_ingest, job)
            return info
        raise job_error(f"Invalid state transition to {new_state}", 400, "INVALIDJOBSTATE")

    def _uploaded_rows(self, job: Job) -> list[list[str]]:
        delimiter = DELIMITERS[job.column_delimiter]
        rows: list[list[str]] = []
        for part in job.uploaded:
            header, *data = [
                row for row in csv.reader(io.StringIO(part), delimiter=delimiter) if row
            ]
            job.columns = job.columns or header
            rows.extend(data)
        return rows

    def _start(self, target: Any, job: Job) -> None:
        thread = threading.Thread(target=target, args=(job,), name=f"bulk-{job.id}", daemon=True)
        thread.start()

    def _run_ingest(self, job: Job) -> None:
        started = time.monotonic()
        try:
            rows = self._parse_upload(job)
        except SalesforceError as error:
            job.error_message = error.message
            job.set_state("Failed")
            return
        if job.state == "Aborted":
            return
        job.set_state("InProgress")
        for start in range(0, len(rows), CHUNK_SIZE):
            chunk = rows[start : start + CHUNK_SIZE]
            if job.state == "Aborted":
                job.unprocessed.extend(chunk)
                continue
            self._sandbox.faults.sleep_for_records(len(chunk))
            with self._sandbox.org_lock:
                for row in chunk:
                    self._apply(job, row)
            job.processed += len(chunk)
        job.processing_ms = int((time.monotonic() - started) * 1000)
        if job.state != "Aborted":
            job.set_state("JobComplete")

    def _parse_upload(self, job: Job) -> list[list[str]]:
        delimiter = DELIMITERS[job.column_delimiter]
        rows: list[list[str]] = []
        for part in job.uploaded:
            reader = csv.reader(io.StringIO(part, newline=""), delimiter=delimiter)
            parsed = [row for row in reader if row]
            if not parsed:
                continue
            header, *data = parsed
            if not job.columns:
                job.columns = header
            elif header != job.columns:
                raise job_error("InvalidBatch : every upload of a job needs the same header")
            rows.extend(data)
        if not job.columns:
            raise job_error("InvalidBatch : no CSV header found")
        describe = {
            entry["name"].lower(): entry
            for entry in self._sandbox.org.describe(job.object)["fields"]
        }
        for column in job.columns:
            if column.lower() not in describe:
                raise job_error(f"InvalidBatch : Field name not found : {column}")
        if job.operation in ("update", "delete", "hardDelete") and "id" not in {
            column.lower() for column in job.columns
        }:
            raise job_error(f"InvalidBatch : {job.operation} needs an Id column")
        if job.operation in ("delete", "hardDelete") and len(job.columns) != 1:
            raise job_error("InvalidBatch : The 'delete/hardDelete' batch must contain only 'Id'")
        if (
            job.operation == "upsert"
            and job.external_id_field
            and job.external_id_field.lower() not in {column.lower() for column in job.columns}
        ):
            raise job_error(f"InvalidBatch : the upsert needs a {job.external_id_field} column")
        job.field_types = {name: entry["type"] for name, entry in describe.items()}
        job.field_names = {name: entry["name"] for name, entry in describe.items()}
        return rows

    def _typed_fields(self, job: Job, row: list[str]) -> dict:
        """CSV strings to API JSON values; empty leaves a field alone, ``#N/A`` sets null.

        A cell its field's type cannot hold fails the row (INVALID_FIELD, "Failed to
        deserialize field"), before any other check.
        """
        fields: dict[str, Any] = {}
        meta = self._sandbox.org.schema.get(job.object)
        for number, (column, raw) in enumerate(zip(job.columns, row, strict=False), start=1):
            key = column.lower()
            name = job.field_names[key]
            if raw == "":
                continue
            if raw == NULL_MARKER:
                fields[name] = None
                continue
            problem = csv_problem(meta.field(name), raw, number)
            if problem is not None:
                raise problem
            fields[name] = _typed_value(job.field_types[key], raw)
        return fields

    def _apply(self, job: Job, row: list[str]) -> None:
        try:
            fields = self._typed_fields(job, row)
        except SalesforceError as error:
            id_column = next((i for i, c in enumerate(job.columns) if c.lower() == "id"), None)
            record_id = row[id_column] if id_column is not None and id_column < len(row) else ""
            job.failures.append([record_id, _error_text(error), *row])
            return
        record_id = fields.pop("Id", None)
        org = self._sandbox.org
        try:
            if self._sandbox.faults.record_locked():
                from sandboxes.salesforce.faults import lock_error

                raise lock_error(record_id or org.default_owner_id)
            created = False
            if job.operation == "insert":
                record_id = org.insert(job.object, fields)
                created = True
            elif job.operation == "upsert":
                assert job.external_id_field is not None
                value = fields.pop(job.external_id_field, None)
                if value is None:
                    raise SalesforceError(
                        "MISSING_ARGUMENT",
                        f"{job.external_id_field} not specified",
                        [job.external_id_field],
                    )
                record_id, created = org.upsert(job.object, job.external_id_field, value, fields)
            elif not record_id:
                raise SalesforceError(
                    "MISSING_ARGUMENT", f"Id not specified in an {job.operation} call"
                )
            elif job.operation == "update":
                org.update(job.object, record_id, fields)
            elif job.operation == "hardDelete":
                hard_delete(org, object_of(record_id) or job.object, [record_id])
            else:
                sobject = object_of(record_id) or job.object
                org.delete(sobject, record_id)
        except SalesforceError as error:
            job.failures.append([record_id or "", _error_text(error), *row])
            return
        job.successes.append([record_id, "true" if created else "false", *row])

    def results_csv(self, job_id: str, which: str) -> str:
        """``successfulResults``, ``failedResults`` or ``unprocessedrecords`` as CSV."""
        job = self.get(job_id, "ingest")
        if which == "unprocessedrecords":
            rows = self._uploaded_rows(job) if job.state == "Open" else job.unprocessed
            return _write_csv(job, job.columns, rows)
        if job.state not in TERMINAL_STATES:
            raise job_error(
                f"Job {job_id} is {job.state}; results are available once it completes",
                409,
                "INVALIDJOBSTATE",
            )
        if which == "successfulResults":
            return _write_csv(job, ["sf__Id", "sf__Created", *job.columns], job.successes)
        return _write_csv(job, ["sf__Id", "sf__Error", *job.columns], job.failures)

    # -- query ----------------------------------------------------------------------------

    def _run_query(self, job: Job) -> None:
        from sandboxes.salesforce.soql import execute

        started = time.monotonic()
        assert job.query is not None
        job.set_state("InProgress")
        try:
            with self._sandbox.org_lock:
                result = execute(
                    job.query,
                    self._sandbox.org,
                    include_deleted=job.operation == "queryAll",
                    version=job.api_version,
                )
        except SalesforceError as error:
            job.error_message = error.message
            job.set_state("Failed")
            return
        records = list(result.records)
        job.columns = list(result.columns)
        job.query_rows = [
            [_csv_value(_lookup(record, column)) for column in job.columns] for record in records
        ]
        self._sandbox.faults.sleep_for_records(len(records))
        job.processed = len(records)
        job.processing_ms = int((time.monotonic() - started) * 1000)
        if job.state != "Aborted":
            job.set_state("JobComplete")

    def query_results(
        self, job_id: str, locator: str | None, max_records: int | None
    ) -> tuple[str, str, int]:
        """One page of a query job's CSV: (csv, next locator or "null", rows in the page)."""
        job = self.get(job_id, "query")
        if job.state != "JobComplete":
            raise job_error(
                f"Job {job_id} is {job.state}; results are available once it completes",
                409,
                "INVALIDJOBSTATE",
            )
        offset = _decode_locator(locator) if locator else 0
        end = len(job.query_rows) if not max_records else offset + max_records
        page = job.query_rows[offset:end]
        next_locator = _encode_locator(end) if end < len(job.query_rows) else "null"
        return _write_csv(job, job.columns, page), next_locator, len(page)


def _typed_value(field_type: str, raw: str) -> Any:
    """A CSV value as the JSON value the REST API would carry (left as text when it isn't one)."""
    if field_type == "boolean" and raw.lower() in ("true", "false", "1", "0"):
        return raw.lower() in ("true", "1")
    try:
        if field_type == "int":
            return int(raw)
        if field_type in NUMBER_TYPES:
            return float(raw)
    except ValueError:
        return raw
    return raw


def _error_text(error: SalesforceError) -> str:
    """``CODE:message:Field1,Field2 --`` per error (``CODE:message:--`` naming no field)."""
    return ";".join(
        f"{item['code']}:{item['message']}:"
        f"{(','.join(item['fields']) + ' ') if item['fields'] else ''}--"
        for item in error.errors
    )


def _write_csv(job: Job, header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=DELIMITERS[job.column_delimiter],
        lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _lookup(record: dict, column: str) -> Any:
    value: Any = record
    for part in column.split("."):
        if not isinstance(value, dict):
            return None
        value = next((item for key, item in value.items() if key.lower() == part.lower()), None)
    return value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str) -> int:
    try:
        padded = locator + "=" * (-len(locator) % 4)
        return int(base64.b64decode(padded).decode())
    except (ValueError, UnicodeDecodeError) as error:
        raise job_error(f"Invalid locator: {locator}", code="INVALID_LOCATOR") from error
