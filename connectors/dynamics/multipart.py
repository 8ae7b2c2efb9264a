"""The ``$batch`` wire format: multipart/mixed requests out, per-part responses in.

A batch request holds one ``application/http`` part per operation; the response holds one part
per operation too, each an embedded HTTP response, with change-set answers nested one level
deeper under their own boundary. Only what the connector sends and Dataverse answers is handled.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_STATUS_LINE = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?$")


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One operation inside a ``$batch``: a method, a URL (path or absolute) and a JSON body."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BatchResponse:
    """One embedded response of a ``$batch`` answer, in the order the operations were sent."""

    status: int
    headers: Mapping[str, str]
    body: str = ""
    content_id: str | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        """A header's value, looked up ignoring case."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


def encode_batch(requests: Sequence[BatchRequest], boundary: str | None = None) -> tuple[str, str]:
    """The body and Content-Type header of a ``$batch`` request holding ``requests``."""
    boundary = boundary or f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for request in requests:
        lines += [f"--{boundary}", "Content-Type: application/http",
                  "Content-Transfer-Encoding: binary", "",
                  f"{request.method} {request.url} HTTP/1.1"]
        headers = dict(request.headers)
        if request.body is not None:
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append("")
        lines.append(json.dumps(request.body) if request.body is not None else "")
    lines.append(f"--{boundary}--")
    lines.append("")
    return CRLF.join(lines), f'multipart/mixed; boundary="{boundary}"'


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a multipart Content-Type, or None."""
    match = _BOUNDARY.search(content_type or "")
    return match.group(1) if match else None


def decode_batch(body: str, content_type: str) -> list[BatchResponse]:
    """Every embedded response of a ``$batch`` answer, change sets flattened, in order.

    Raises ValueError when the body is not the multipart document its Content-Type announces.
    """
    boundary = boundary_of(content_type)
    if boundary is None:
        raise ValueError(f"not a multipart response: {content_type!r}")
    responses: list[BatchResponse] = []
    for part in _parts(body, boundary):
        headers, content = _split_headers(part)
        part_type = _get(headers, "Content-Type") or ""
        if part_type.lower().startswith("multipart/mixed"):
            responses += decode_batch(content, part_type)  # a change set's answers
            continue
        responses.append(_embedded_response(content, _get(headers, "Content-ID")))
    return responses


def _parts(body: str, boundary: str) -> list[str]:
    text = body.replace("\r\n", "\n")
    delimiter = f"--{boundary}"
    pieces = text.split(delimiter)
    if len(pieces) < 2:
        raise ValueError(f"boundary {boundary!r} not found in the batch response")
    parts = []
    # pieces[0] is the preamble; the piece after the closing delimiter starts with "--".
    for piece in pieces[1:]:
        if piece.startswith("--"):
            break
        parts.append(piece.removeprefix("\n"))
    return parts


def _split_headers(text: str) -> tuple[dict[str, str], str]:
    head, _, rest = text.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    return headers, rest


def _embedded_response(text: str, content_id: str | None) -> BatchResponse:
    text = text.lstrip("\n")
    status_line, _, rest = text.partition("\n")
    match = _STATUS_LINE.match(status_line.strip())
    if match is None:
        raise ValueError(f"not an HTTP response line: {status_line[:80]!r}")
    if rest.startswith("\n"):
        headers, body = {}, rest[1:]  # no headers at all, just the blank line and a body
    elif "\n\n" in rest:
        headers, body = _split_headers(rest)
    else:
        headers, body = _split_headers(rest + "\n\n")  # headers only, the part ends there
    return BatchResponse(int(match.group(1)), headers, body.strip("\n"),
                         content_id or _get(headers, "Content-ID"))


def _get(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)
