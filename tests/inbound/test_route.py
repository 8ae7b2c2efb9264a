"""``POST /hooks/<source>``: every answer a sender can get, and what the inbox holds after."""

from __future__ import annotations

import json
import time

from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.inbound.forms import (
    HMAC_SECRET,
    OTHER_SECRET,
    SECRET,
    SOURCE,
    STRIPE_SECRET,
    people,
    post,
)
from tests.processes import wait_until


def tallies(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT source, outcome, count FROM inbound_tally"))
        return {(r[0], r[1]): r[2] for r in rows}


def bodies(engine: Engine) -> list[bytes]:
    with engine.connect() as connection:
        return [bytes(r[0]) for r in connection.execute(
            text("SELECT body FROM inbound_event ORDER BY id"))]


def test_a_signed_submission_is_stored_answered_202_then_processed(
    client: FlaskClient, engine: Engine
) -> None:
    answer = post(client, {"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee"})

    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["status"] == "accepted" and isinstance(answer.get_json()["id"], int)
    again = post(client, {"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee"})
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "id": answer.get_json()["id"]}
    assert len(bodies(engine)) == 1
    wait_until(lambda: "ann@acme.com" in people(engine), 30, "the submission to be processed")
    assert tallies(engine) == {(SOURCE, "accepted"): 1, (SOURCE, "duplicate"): 1}


def test_a_form_post_is_accepted(client: FlaskClient, engine: Engine) -> None:
    answer = post(client, b"email=bo%40acme.com&first_name=Bo",
                  content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 202
    assert bodies(engine) == [b"email=bo%40acme.com&first_name=Bo"]


def test_a_bad_or_stale_signature_is_401_and_nothing_is_stored(
    client: FlaskClient, engine: Engine
) -> None:
    wrong = post(client, {"email": "x@acme.com"}, secret=OTHER_SECRET)
    stale = post(client, {"email": "x@acme.com"}, stamp=int(time.time()) - 600)
    unsigned = client.post(f"/hooks/{SOURCE}", json={"email": "x@acme.com"})

    assert (wrong.status_code, stale.status_code, unsigned.status_code) == (401, 401, 401)
    assert "matches the secret" in wrong.get_json()["error"]
    assert "old" in stale.get_json()["error"]
    assert "webhook-id is missing" in unsigned.get_json()["error"]
    assert SECRET not in wrong.get_data(as_text=True)
    assert bodies(engine) == []
    assert tallies(engine) == {(SOURCE, "bad_signature"): 2, (SOURCE, "stale"): 1}


def test_either_secret_of_a_rotation_is_accepted(client: FlaskClient) -> None:
    first = post(client, {"email": "a@acme.com"}, source="rotating", secret=SECRET, event_id="a")
    second = post(client, {"email": "b@acme.com"}, source="rotating", secret=OTHER_SECRET,
                  event_id="b")
    assert (first.status_code, second.status_code) == (202, 202)


def test_stripe_and_hmac_schemes(client: FlaskClient, engine: Engine) -> None:
    stripe = post(client, {"id": "evt_1"}, source="payments", scheme="stripe",
                  secret=STRIPE_SECRET)
    stripe_wrong = post(client, {"id": "evt_2"}, source="payments", scheme="stripe",
                        secret="whsec_other")
    plain = post(client, {"n": 1}, source="plain", scheme="hmac_sha256", secret=HMAC_SECRET,
                 header="X-Hub-Signature")
    plain_wrong = post(client, {"n": 2}, source="plain", scheme="hmac_sha256", secret="nope",
                       header="X-Hub-Signature")

    assert [stripe.status_code, stripe_wrong.status_code] == [202, 401]
    assert [plain.status_code, plain_wrong.status_code] == [202, 401]
    assert "X-Hub-Signature".lower() in plain_wrong.get_json()["error"].lower()
    # Without a webhook-id, a resent body is the same event.
    resent = post(client, {"id": "evt_1"}, source="payments", scheme="stripe",
                  secret=STRIPE_SECRET)
    assert resent.status_code == 200 and resent.get_json()["status"] == "duplicate"


def test_a_body_neither_json_nor_form_is_400(client: FlaskClient, engine: Engine) -> None:
    text_body = post(client, b"hello there", content_type="text/plain")
    array = post(client, b"[1, 2]", event_id="msg_2")

    assert (text_body.status_code, array.status_code) == (400, 400)
    assert "neither a JSON object nor a form" in text_body.get_json()["error"]
    assert "not an object" in array.get_json()["error"]
    assert bodies(engine) == []
    assert tallies(engine) == {(SOURCE, "bad_body"): 2}


def test_an_unknown_source_is_404_json_and_not_counted(client: FlaskClient, engine: Engine) -> None:
    for name in ("nobody", "crm"):
        answer = post(client, {"email": "x@acme.com"}, source=name)
        assert answer.status_code == 404
        assert "no webhook source" in answer.get_json()["error"]
    assert tallies(engine) == {}


def test_a_body_over_256_kb_is_413(client: FlaskClient, engine: Engine) -> None:
    big = json.dumps({"email": "x@acme.com", "pad": "x" * (256 * 1024)}).encode()
    answer = post(client, big)
    assert answer.status_code == 413
    assert "over 262144 bytes" in answer.get_json()["error"]
    assert tallies(engine) == {(SOURCE, "too_large"): 1}


def test_a_source_over_its_rate_is_429_with_retry_after(client: FlaskClient) -> None:
    answers = [post(client, {"n": n}, source="plain", scheme="hmac_sha256", secret=HMAC_SECRET,
                    header="X-Hub-Signature") for n in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert "2 requests a minute" in answers[2].get_json()["error"]


def test_no_login_or_csrf_token_is_needed_but_the_dashboard_still_wants_one(
    client: FlaskClient,
) -> None:
    assert post(client, {"email": "z@acme.com"}).status_code == 202
    assert client.get("/errors").status_code == 302  # to the login form
    assert client.post("/errors/action", data={"action": "retry"}).status_code in (400, 401)
