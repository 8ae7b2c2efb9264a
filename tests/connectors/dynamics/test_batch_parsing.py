"""The $batch codec: requests as Dataverse expects them, responses split per part."""

from __future__ import annotations

import json

import pytest

from connectors.dynamics.multipart import (
    BatchRequest,
    boundary_of,
    decode_batch,
    encode_batch,
)

CRLF = "\r\n"


def test_request_has_one_http_part_per_operation() -> None:
    body, content_type = encode_batch([
        BatchRequest("PATCH", "/api/data/v9.2/leads(1)", {"lastname": "Ada"}, {"If-Match": "*"}),
        BatchRequest("DELETE", "/api/data/v9.2/leads(2)"),
    ], boundary="batch_abc")
    assert content_type == 'multipart/mixed; boundary="batch_abc"'
    parts = body.split("--batch_abc")
    assert parts[-1] == "--" + CRLF  # closing delimiter
    first, second = parts[1], parts[2]
    assert "Content-Type: application/http" in first
    assert "Content-Transfer-Encoding: binary" in first
    assert "PATCH /api/data/v9.2/leads(1) HTTP/1.1" in first
    assert "If-Match: *" in first
    assert "Content-Type: application/json; charset=utf-8" in first
    assert json.loads(first.strip().split(CRLF)[-1]) == {"lastname": "Ada"}
    assert "DELETE /api/data/v9.2/leads(2) HTTP/1.1" in second
    assert "application/json" not in second.split("HTTP/1.1")[1]  # no body, no JSON type


def test_boundary_quoted_or_bare() -> None:
    assert boundary_of('multipart/mixed; boundary="batchresponse_1"') == "batchresponse_1"
    assert boundary_of("multipart/mixed; boundary=batchresponse_2") == "batchresponse_2"
    assert boundary_of("application/json") is None


def _response(*parts: str, boundary: str = "batchresponse_x") -> str:
    text = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return text + f"--{boundary}--{CRLF}"


def _http(status_line: str, headers: dict[str, str], body: str = "") -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
             status_line, *(f"{k}: {v}" for k, v in headers.items()), "", body]
    return CRLF.join(lines)


def test_continue_on_error_response_gives_each_part_its_status() -> None:
    error = json.dumps({"error": {"code": "0x80040217", "message": "lead With Id = 2 Does "
                                                                   "Not Exist"}})
    text = _response(
        _http("HTTP/1.1 204 No Content",
              {"OData-Version": "4.0", "OData-EntityId": "https://o/api/data/v9.2/leads(1)"}),
        _http("HTTP/1.1 404 Not Found", {"Content-Type": "application/json"}, error),
        _http("HTTP/1.1 201 Created", {"Content-Type": "application/json"},
              '{"leadid":"3","versionnumber":77}'),
    )
    answers = decode_batch(text, 'multipart/mixed; boundary="batchresponse_x"')
    assert [a.status for a in answers] == [204, 404, 201]
    assert answers[0].header("odata-entityid") == "https://o/api/data/v9.2/leads(1)"
    assert answers[0].body == "" and answers[0].json() is None
    assert answers[1].json()["error"]["code"] == "0x80040217"
    assert not answers[1].ok and answers[2].ok
    assert answers[2].json() == {"leadid": "3", "versionnumber": 77}


def test_changeset_answers_are_flattened_in_order_with_content_ids() -> None:
    changeset = CRLF.join([
        "Content-Type: multipart/mixed; boundary=changesetresponse_y", "",
        "--changesetresponse_y",
        "Content-Type: application/http", "Content-Transfer-Encoding: binary",
        "Content-ID: 1", "", "HTTP/1.1 204 No Content", "OData-Version: 4.0", "", "",
        "--changesetresponse_y",
        "Content-Type: application/http", "Content-Transfer-Encoding: binary",
        "Content-ID: 2", "", "HTTP/1.1 200 OK", "Content-Type: application/json", "",
        '{"contactid":"c2"}',
        "--changesetresponse_y--",
    ])
    text = _response(
        changeset,
        _http("HTTP/1.1 204 No Content", {}),
    )
    answers = decode_batch(text, "multipart/mixed; boundary=batchresponse_x")
    assert [(a.status, a.content_id) for a in answers] == [(204, "1"), (200, "2"), (204, None)]
    assert answers[1].json() == {"contactid": "c2"}


def test_bare_lf_line_endings_are_understood() -> None:
    text = _response(_http("HTTP/1.1 200 OK", {}, '{"a":1}')).replace(CRLF, "\n")
    [answer] = decode_batch(text, "multipart/mixed; boundary=batchresponse_x")
    assert (answer.status, answer.json()) == (200, {"a": 1})


def test_a_response_that_is_not_multipart_is_refused() -> None:
    with pytest.raises(ValueError):
        decode_batch('{"error":{}}', "application/json")
    with pytest.raises(ValueError):
        decode_batch("no parts here", "multipart/mixed; boundary=batchresponse_x")
    with pytest.raises(ValueError):
        decode_batch(_response("Content-Type: application/http\r\n\r\ngarbage"),
                     "multipart/mixed; boundary=batchresponse_x")


def test_round_trip_of_our_own_encoding_as_a_response_shape() -> None:
    # Our encoder's framing is what the decoder splits (same delimiters, same part headers).
    body, content_type = encode_batch([BatchRequest("GET", "/x")], boundary="b1")
    assert len(body.split("--b1")) == 3
    assert boundary_of(content_type) == "b1"
