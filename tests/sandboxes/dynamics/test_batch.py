"""The Dataverse sandbox's ``$batch``: change sets, ``$n`` references, continue-on-error."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from sandboxes.dynamics.sandbox import DynamicsSandbox

API = "/api/data/v9.2"


@dataclass
class Part:
    """One embedded HTTP response of a batch response."""

    status: int
    headers: dict[str, str]
    body: str
    content_id: str | None

    def json(self) -> dict:
        return json.loads(self.body)


def _split(text: str, boundary: str) -> list[str]:
    """The parts between ``--boundary`` lines (the closing ``--boundary--`` ends it)."""
    pieces = re.split(rf"\r?\n?--{re.escape(boundary)}(?:--)?\r?\n?", text)
    return [piece for piece in pieces if piece.strip()]


def _headers(block: str) -> dict[str, str]:
    headers = {}
    for line in block.splitlines():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def read_batch_response(response: requests.Response) -> list[Part]:
    """Every embedded response in order, change set responses flattened."""
    boundary = response.headers["Content-Type"].split("boundary=")[1]
    return _read_parts(response.text, boundary)


def _read_parts(text: str, boundary: str) -> list[Part]:
    parts: list[Part] = []
    for piece in _split(text, boundary):
        mime_block, _, content = re.split(r"(\r?\n\r?\n)", piece, maxsplit=1)
        mime = _headers(mime_block)
        if mime["content-type"].startswith("multipart/mixed"):
            parts += _read_parts(content, mime["content-type"].split("boundary=")[1])
            continue
        head, _, body = re.split(r"(\r?\n\r?\n)", content, maxsplit=1)
        status_line, _, header_block = head.partition("\n")
        parts.append(
            Part(
                int(status_line.split(" ")[1]),
                _headers(header_block),
                body.strip(),
                mime.get("content-id"),
            )
        )
    return parts


def http_part(
    method: str, url: str, body: dict | None = None, content_id: str | None = None
) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    request = f"{method} {url} HTTP/1.1\r\n"
    if body is not None:
        request += "Content-Type: application/json; type=entry\r\n\r\n" + json.dumps(body)
    else:
        request += "\r\n"
    return f"{head}\r\n{request}\r\n"


def change_set(*parts: str) -> str:
    boundary = f"changeset_{uuid.uuid4().hex}"
    inner = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


class BatchClient:
    """Posts ``$batch`` requests to one sandbox with a token."""

    def __init__(self, sandbox: DynamicsSandbox) -> None:
        self.sandbox = sandbox
        token = requests.post(sandbox.token_url, data=sandbox.token_form()).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}", "OData-Version": "4.0"}

    def send(self, *parts: str, prefer: str | None = None) -> requests.Response:
        boundary = f"batch_{uuid.uuid4().hex}"
        body = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
        headers = {**self.headers, "Content-Type": f'multipart/mixed; boundary="{boundary}"'}
        if prefer:
            headers["Prefer"] = prefer
        return requests.post(f"{self.sandbox.api_url}/$batch", data=body.encode(), headers=headers)

    def leads(self) -> list[dict]:
        response = requests.get(
            f"{self.sandbox.api_url}/leads?$select=lastname,_parentcontactid_value",
            headers=self.headers,
        )
        return response.json()["value"]


@pytest.fixture
def sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sb:
        yield sb


@pytest.fixture
def client(sandbox: DynamicsSandbox) -> BatchClient:
    return BatchClient(sandbox)


def test_independent_requests_answer_in_order(client: BatchClient) -> None:
    absolute = f"{client.sandbox.api_url}/leads"
    response = client.send(
        http_part("POST", f"{API}/leads", {"lastname": "One"}),
        http_part("POST", absolute, {"lastname": "Two"}),
        http_part("GET", f"{API}/leads?$select=lastname"),
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    parts = read_batch_response(response)
    assert [part.status for part in parts] == [204, 204, 200]
    assert parts[0].headers["odata-entityid"].startswith(f"{client.sandbox.api_url}/leads(")
    assert sorted(row["lastname"] for row in parts[2].json()["value"]) == ["One", "Two"]


def test_change_set_references_earlier_parts(client: BatchClient) -> None:
    response = client.send(
        change_set(
            http_part("POST", f"{API}/contacts", {"lastname": "Parent"}, content_id="1"),
            http_part(
                "POST",
                f"{API}/leads",
                {"lastname": "Child", "parentcontactid@odata.bind": "$1"},
                content_id="2",
            ),
            http_part("PATCH", "$2", {"firstname": "Renamed"}, content_id="3"),
        )
    )
    assert response.status_code == 200, response.text
    parts = read_batch_response(response)
    assert [(part.status, part.content_id) for part in parts] == [
        (204, "1"),
        (204, "2"),
        (204, "3"),
    ]
    contact_id = parts[0].headers["odata-entityid"].rsplit("(", 1)[1].rstrip(")")
    (lead,) = client.leads()
    assert lead["_parentcontactid_value"] == contact_id
    assert client.sandbox.env.get("lead", lead["leadid"])["firstname"] == "Renamed"


def test_a_failing_change_set_leaves_nothing_behind(client: BatchClient) -> None:
    response = client.send(
        change_set(
            http_part("POST", f"{API}/leads", {"lastname": "Rolled back"}, content_id="1"),
            http_part("POST", f"{API}/leads", {"lastname": "x" * 500}, content_id="2"),
        )
    )
    assert response.status_code == 400
    (part,) = read_batch_response(response)
    assert part.status == 400
    assert part.json()["error"]["code"].startswith("0x")
    assert client.leads() == []


def test_without_continue_on_error_the_batch_stops_at_the_first_failure(
    client: BatchClient,
) -> None:
    response = client.send(
        http_part("POST", f"{API}/leads", {"lastname": "First"}),
        http_part("PATCH", f"{API}/leads(3f2504e0-4f89-41d3-9a0c-0305e82c3399)",
                  {"lastname": "Ghost"}).replace("HTTP/1.1\r\n", "HTTP/1.1\r\nIf-Match: *\r\n"),
        http_part("POST", f"{API}/leads", {"lastname": "Never"}),
    )
    assert response.status_code == 400
    (part,) = read_batch_response(response)
    assert part.status == 404
    assert [row["lastname"] for row in client.leads()] == ["First"]


def test_continue_on_error_runs_every_part(client: BatchClient) -> None:
    response = client.send(
        http_part("POST", f"{API}/leads", {"lastname": "First"}),
        http_part("POST", f"{API}/leads", {"lastname": "x" * 500}),
        http_part("POST", f"{API}/leads", {"lastname": "Third"}),
        prefer="odata.continue-on-error",
    )
    assert response.status_code == 200
    assert [part.status for part in read_batch_response(response)] == [204, 400, 204]
    assert sorted(row["lastname"] for row in client.leads()) == ["First", "Third"]


def test_undeclared_reference_is_refused(client: BatchClient) -> None:
    response = client.send(
        change_set(
            http_part("POST", f"{API}/leads",
                      {"lastname": "A", "parentcontactid@odata.bind": "$9"}, content_id="1"),
        )
    )
    assert response.status_code == 400
    (part,) = read_batch_response(response)
    assert "$9" in part.json()["error"]["message"]
    assert client.leads() == []


def test_more_than_a_thousand_requests_are_refused(client: BatchClient) -> None:
    parts = [http_part("GET", f"{API}/leads?$top=1")] * 1001
    response = client.send(*parts)
    assert response.status_code == 400
    assert "1000" in response.json()["error"]["message"]


def test_inner_requests_need_the_batch_token(sandbox: DynamicsSandbox) -> None:
    boundary = "batch_x"
    body = f"--{boundary}\r\n{http_part('GET', f'{API}/leads')}--{boundary}--\r\n"
    response = requests.post(
        f"{sandbox.api_url}/$batch",
        data=body,
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
    )
    assert response.status_code == 401


def test_batches_do_not_nest(client: BatchClient) -> None:
    response = client.send(http_part("POST", f"{API}/$batch", {}), prefer="odata.continue-on-error")
    (part,) = read_batch_response(response)
    assert part.status == 400
