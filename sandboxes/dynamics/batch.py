"""``$batch``: multipart/mixed parsing, change sets (all-or-nothing, ``$n``), multipart responses.

Every inner request runs through the same Flask app (a nested WSGI call with the batch's
Authorization), so it behaves exactly as it would on its own; only service protection and
call-level faults are charged once, to the batch.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from flask import Response, current_app, request
from werkzeug.test import EnvironBuilder, run_wsgi_app

from sandboxes.dynamics.context import state
from sandboxes.dynamics.errors import INVALID_ARGUMENT, QUERY_ERROR, DataverseError
from sandboxes.dynamics.wire import API_ROOT

#: Set in the WSGI environ of requests a ``$batch`` dispatches: the batch itself was already
#: authenticated, counted and exposed to faults once.
BATCH_INNER = "sandbox.dynamics.batch_inner"
MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_REFERENCE = re.compile(r"^\$(\d+)(?=/|$|\?)")


@dataclass
class InnerRequest:
    """One ``application/http`` part: a request line, headers and a body."""

    method: str
    url: str
    headers: dict[str, str]
    body: str
    content_id: str | None = None


@dataclass
class ChangeSet:
    """A nested multipart part whose requests succeed or fail together."""

    requests: list[InnerRequest] = field(default_factory=list)


@dataclass
class InnerResponse:
    """What one inner request answered."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status < 400


# ---------------------------------------------------------------------------- parsing


def boundary_of(content_type: str) -> str:
    """The boundary of a ``multipart/mixed`` content type, or 400."""
    if not content_type.lower().startswith("multipart/mixed"):
        raise DataverseError(
            INVALID_ARGUMENT,
            "The batch request must have a \"Content-Type\" of multipart/mixed with a boundary.",
        )
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise DataverseError(INVALID_ARGUMENT, "The multipart/mixed batch has no boundary.")
    return match[1].strip()


def split_multipart(text: str, boundary: str) -> list[tuple[dict[str, str], str]]:
    """The parts of a multipart body as (MIME headers, content), accepting CRLF or LF."""
    delimiter, closing = f"--{boundary}", f"--{boundary}--"
    parts: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n").rstrip()
        if stripped == closing:
            if current is not None:
                parts.append(current)
            current = None
            break
        if stripped == delimiter:
            if current is not None:
                parts.append(current)
            current = []
        elif current is not None:
            current.append(line)
    if current is not None:
        parts.append(current)
    return [_headers_and_content(lines) for lines in parts]


def _headers_and_content(lines: list[str]) -> tuple[dict[str, str], str]:
    headers: dict[str, str] = {}
    index = 0
    while index < len(lines) and lines[index].strip():
        name, _, value = lines[index].partition(":")
        headers[name.strip().lower()] = value.strip()
        index += 1
    content = "".join(lines[index + 1 :])
    # The CRLF before the next delimiter belongs to the delimiter, not the content.
    if content.endswith("\r\n"):
        content = content[:-2]
    elif content.endswith("\n"):
        content = content[:-1]
    return headers, content


def parse_http_request(content: str, content_id: str | None) -> InnerRequest:
    """An embedded ``METHOD URL HTTP/1.1`` request."""
    lines = content.splitlines(keepends=True)
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise DataverseError(INVALID_ARGUMENT, "A batch part holds no request line.")
    request_line = lines[0].strip().split(" ")
    if len(request_line) < 2:
        raise DataverseError(INVALID_ARGUMENT, f"Bad request line in batch: {lines[0].strip()}")
    method, url = request_line[0].upper(), request_line[1]
    headers, body = _headers_and_content(lines[1:])
    inner_id = headers.pop("content-id", None)
    return InnerRequest(method, url, headers, body.strip(), content_id or inner_id)


def parse_batch(body: str, boundary: str) -> list[InnerRequest | ChangeSet]:
    """The batch's requests and change sets, in order; more than 1000 requests → 400."""
    items: list[InnerRequest | ChangeSet] = []
    total = 0
    for headers, content in split_multipart(body, boundary):
        content_type = headers.get("content-type", "")
        if content_type.lower().startswith("multipart/mixed"):
            change_set = ChangeSet()
            for part_headers, part_content in split_multipart(content, boundary_of(content_type)):
                change_set.requests.append(
                    parse_http_request(part_content, part_headers.get("content-id"))
                )
            total += len(change_set.requests)
            items.append(change_set)
        else:
            items.append(parse_http_request(content, headers.get("content-id")))
            total += 1
        if total > MAX_REQUESTS:
            raise DataverseError(
                QUERY_ERROR,
                f"Number of requests in the batch exceeds the limit of {MAX_REQUESTS}.",
            )
    return items


# ---------------------------------------------------------------------------- running


class _ChangeSetFailedError(Exception):
    """Raised inside the savepoint so a failed change set leaves no trace."""

    def __init__(self, failure: InnerResponse) -> None:
        super().__init__(failure.status)
        self.failure = failure


def _reference_failure(message: str, content_id: str | None) -> InnerResponse:
    error = DataverseError(INVALID_ARGUMENT, message)
    return InnerResponse(
        400,
        [("Content-Type", "application/json; odata.metadata=minimal"), ("OData-Version", "4.0")],
        json.dumps(error.body()).encode(),
        content_id,
    )


def _resolve_references(inner: InnerRequest, entity_ids: dict[str, str]) -> InnerRequest:
    """Replace ``$n`` at the start of the URL and in ``@odata.bind`` values."""
    url = inner.url
    match = _REFERENCE.match(url)
    if match:
        if match[1] not in entity_ids:
            raise KeyError(match[1])
        url = entity_ids[match[1]] + url[match.end() :]
    body = inner.body
    if body and "$" in body:
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            payload = None
        if isinstance(payload, dict):
            for name, value in payload.items():
                is_reference = isinstance(value, str) and value.startswith("$")
                if name.endswith("@odata.bind") and is_reference:
                    if value[1:] not in entity_ids:
                        raise KeyError(value[1:])
                    # Binds take the relative form, `contacts(<guid>)`.
                    payload[name] = entity_ids[value[1:]].rsplit("/", 1)[-1]
            body = json.dumps(payload)
    return InnerRequest(inner.method, url, inner.headers, body, inner.content_id)


def _path_and_query(url: str) -> tuple[str, str]:
    """Absolute, root-relative or service-relative URL → (path, query)."""
    parts = urlsplit(url)
    path = parts.path
    if not path.startswith("/"):
        path = f"{API_ROOT}/{path}"
    return path, parts.query


def dispatch(inner: InnerRequest) -> InnerResponse:
    """Run one inner request through this app with the batch's Authorization."""
    path, query = _path_and_query(inner.url)
    headers = {name: value for name, value in inner.headers.items()}
    authorization = request.headers.get("Authorization")
    if authorization and "authorization" not in headers:
        headers["Authorization"] = authorization
    builder = EnvironBuilder(
        path=path,
        query_string=query,
        method=inner.method,
        headers=headers,
        data=inner.body.encode() if inner.body else None,
        base_url=request.host_url,
    )
    environ = builder.get_environ()
    environ[BATCH_INNER] = True
    app_iter, status, response_headers = run_wsgi_app(
        current_app._get_current_object(), environ, buffered=True  # type: ignore[attr-defined]
    )
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return InnerResponse(
        int(status.split(" ", 1)[0]), list(response_headers.items()), body, inner.content_id
    )


def _run_change_set(change_set: ChangeSet) -> list[InnerResponse]:
    """Every request of the change set, or (rolled back) the one that failed."""
    sandbox = state()
    entity_ids: dict[str, str] = {}
    responses: list[InnerResponse] = []
    try:
        with sandbox.env_lock, sandbox.env.savepoint():
            for inner in change_set.requests:
                if inner.method == "GET":
                    raise _ChangeSetFailedError(
                        _reference_failure(
                            "GET requests are not allowed inside a change set.", inner.content_id
                        )
                    )
                try:
                    resolved = _resolve_references(inner, entity_ids)
                except KeyError as missing:
                    raise _ChangeSetFailedError(
                        _reference_failure(
                            f"Content-ID Reference: '${missing.args[0]}' does not exist in the "
                            "batch context.",
                            inner.content_id,
                        )
                    ) from None
                response = dispatch(resolved)
                if not response.ok:
                    raise _ChangeSetFailedError(response)
                responses.append(response)
                entity_id = dict(response.headers).get("OData-EntityId")
                if inner.content_id and entity_id:
                    entity_ids[inner.content_id] = entity_id
    except _ChangeSetFailedError as failed:
        return [failed.failure]
    return responses


def handle_batch() -> Response:
    """``POST /$batch``: run the parts in order, stopping at the first failure.

    With ``Prefer: odata.continue-on-error`` every part runs and carries its own status.
    """
    from sandboxes.dynamics.resources import preferences

    boundary = boundary_of(request.headers.get("Content-Type", ""))
    items = parse_batch(request.get_data(as_text=True), boundary)
    continue_on_error = "odata.continue-on-error" in preferences()
    rendered: list[str] = []
    response_boundary = f"batchresponse_{uuid.uuid4()}"
    failed = False
    for item in items:
        if isinstance(item, ChangeSet):
            responses = _run_change_set(item)
            ok = all(response.ok for response in responses)
            if ok:
                rendered.append(_render_change_set(responses))
            else:
                rendered.append(_render_part(responses[0]))
        else:
            if item.method not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                response = _reference_failure(f"Unsupported method {item.method}", None)
            elif _path_and_query(item.url)[0].rstrip("/").endswith("/$batch"):
                response = _reference_failure("A batch cannot contain another batch.", None)
            elif _REFERENCE.match(item.url):
                response = _reference_failure(
                    "Content-ID references are only allowed inside a change set.", None
                )
            else:
                response = dispatch(item)
            ok = response.ok
            rendered.append(_render_part(response))
        if not ok and not continue_on_error:
            # Dataverse stops at the first failure and answers 400 with that part only.
            rendered = rendered[-1:]
            failed = True
            break
    body = "".join(f"--{response_boundary}\r\n{part}\r\n" for part in rendered)
    body += f"--{response_boundary}--\r\n"
    response = Response(body, status=400 if failed else 200)
    response.headers["Content-Type"] = f"multipart/mixed; boundary={response_boundary}"
    if continue_on_error:
        response.headers["Preference-Applied"] = "odata.continue-on-error"
    return response


# ---------------------------------------------------------------------------- rendering

_SKIPPED_HEADERS = frozenset({"content-length", "x-ms-dop-hint"})


def _render_http(response: InnerResponse) -> str:
    phrase = HTTPStatus(response.status).phrase
    lines = [f"HTTP/1.1 {response.status} {phrase}"]
    for name, value in response.headers:
        if name.lower() not in _SKIPPED_HEADERS and not name.lower().startswith("x-ms-ratelimit"):
            lines.append(f"{name}: {value}")
    text = "\r\n".join(lines) + "\r\n\r\n"
    if response.body:
        text += response.body.decode("utf-8", "replace")
    return text


def _part_headers(content_id: str | None) -> str:
    headers = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        headers += f"Content-ID: {content_id}\r\n"
    return headers + "\r\n"


def _render_part(response: InnerResponse) -> str:
    return _part_headers(response.content_id) + _render_http(response)


def _render_change_set(responses: list[InnerResponse]) -> str:
    boundary = f"changesetresponse_{uuid.uuid4()}"
    inner = "".join(f"--{boundary}\r\n{_render_part(response)}\r\n" for response in responses)
    inner += f"--{boundary}--"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"

