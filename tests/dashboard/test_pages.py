"""Dashboard pages: render with and without data, filters, pagination, escaping, health."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text as sql

from app import SECURITY_HEADERS, create_app
from core.models import SyncError, SyncRun
from tests.dashboard.conftest import unwrapped

AddRun = Callable[..., SyncRun]
AddError = Callable[..., SyncError]


def run_ids(html: str) -> list[int]:
    """Ids of the runs a page links to, in page order."""
    return [int(i) for i in re.findall(r'href="/runs/(\d+)"', html)]


def error_ids(html: str) -> list[int]:
    """Ids of the errors a page links to, in page order."""
    return [int(i) for i in re.findall(r'href="/errors/(\d+)"', html)]


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response.get_data(as_text=True)


# -- every page, empty and with data -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/runs", "/errors", "/runs?mapping=x", "/errors?status=all"])
def test_pages_render_empty(client: FlaskClient, path: str) -> None:
    html = get(client, path)
    assert "<nav>" in html and ">Overview</a>" in html and ">Runs</a>" in html
    assert ">Errors</a>" in html


def test_overview_empty_state_says_how_to_start(client: FlaskClient) -> None:
    html = get(client, "/")
    assert "No sync has run yet" in html
    assert "syncline sync" in html


def test_overview_shows_last_run_per_mapping_and_open_errors(
    client: FlaskClient, add_run: AddRun, add_error: AddError
) -> None:
    add_run("crm-person", minutes=0, status="failed")
    last = add_run(
        "crm-person", minutes=10, status="partial", created_hub=1, updated_hub=2,
        created_remote=3, updated_remote=4, failed=5, api_calls=17, duration_ms=2500,
    )
    other = add_run("webinar-person", minutes=5, status="success")
    add_error("crm-person", status="open")
    add_error("crm-person", status="retrying")
    add_error("crm-person", status="resolved")
    add_error("webinar-person", status="ignored")
    add_error("orphan-mapping", status="open")  # its runs were purged; it still gets a row

    html = get(client, "/")
    assert "No sync has run yet" not in html
    assert run_ids(html) == [last.id, other.id]  # only the latest run of each mapping
    row = html[html.index("crm-person") : html.index("webinar-person")]
    assert "badge-partial" in row
    assert '<td class="num">10</td>' in row  # moved: 1+2+3+4
    assert '<td class="num">5</td>' in row and '<td class="num">17</td>' in row
    assert "2.5 s" in row
    assert 'href="/errors?mapping=crm-person">2</a>' in row
    assert "orphan-mapping" in html and "no runs kept" in html
    assert "<strong>3</strong>" in html  # total open + retrying across mappings


def test_runs_newest_first_with_counts(client: FlaskClient, add_run: AddRun) -> None:
    old = add_run(minutes=0)
    new = add_run(
        minutes=5, read=11, created_hub=12, updated_hub=13, created_remote=14, updated_remote=15,
        deleted=16, skipped=17, failed=18, api_calls=19, duration_ms=125_000, status="braked",
    )
    html = get(client, "/runs")
    assert run_ids(html) == [new.id, old.id]
    for n in range(11, 20):
        assert f'<td class="num">{n}</td>' in html
    assert "2m 05s" in html and "badge-braked" in html


def test_runs_filter_by_mapping(client: FlaskClient, add_run: AddRun) -> None:
    crm = [add_run("crm-person") for _ in range(3)]
    add_run("webinar-person")
    html = get(client, "/runs?mapping=crm-person")
    assert sorted(run_ids(html)) == sorted(r.id for r in crm)
    assert ">webinar-person</a></td>" not in html and ">crm-person</a></td>" in html
    assert "No runs for" in get(client, "/runs?mapping=nothing-here")


def test_runs_filter_by_status_and_show_backlog(client: FlaskClient, add_run: AddRun) -> None:
    failed = add_run("crm-person", status="failed", backlog=321)
    add_run("crm-person", status="success")
    braked = add_run("webinar-person", status="braked")
    html = get(client, "/runs?status=failed")
    assert run_ids(html) == [failed.id]
    assert '<td class="num">321</td>' in html
    assert '<option value="failed" selected>' in html
    assert run_ids(get(client, "/runs?status=braked&mapping=webinar-person")) == [braked.id]
    assert "No <strong>partial</strong> runs" in get(client, "/runs?status=partial")


def test_runs_pagination(client: FlaskClient, add_run: AddRun) -> None:
    runs = [add_run("crm-person") for _ in range(120)]
    newest_first = [r.id for r in reversed(runs)]

    page1 = get(client, "/runs?mapping=crm-person")
    assert run_ids(page1) == newest_first[:50]
    assert "page=2" in page1 and "Newer" not in page1
    page3 = get(client, "/runs?mapping=crm-person&page=3")
    assert run_ids(page3) == newest_first[100:]
    assert "Older" not in page3 and "mapping=crm-person&amp;page=2" in page3  # filter kept
    assert run_ids(get(client, "/runs?page=4")) == []
    assert run_ids(get(client, "/runs?page=bogus")) == newest_first[:50]
    assert run_ids(get(client, "/runs?page=-3")) == newest_first[:50]
    assert run_ids(get(client, f"/runs?page={10**30}")) == []


def test_run_detail_shows_message_and_its_errors(
    client: FlaskClient, add_run: AddRun, add_error: AddError
) -> None:
    run = add_run(message="Brake: 40% of hub records would be deleted", status="braked")
    other = add_run()
    mine = add_error(run_id=run.id, code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    add_error(run_id=other.id)
    add_error()
    html = unwrapped(get(client, f"/runs/{run.id}"))
    assert "Brake: 40% of hub records would be deleted" in html
    assert error_ids(html) == [mine.id]
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in html
    assert "recorded no errors" in get(client, f"/runs/{add_run().id}")


# -- errors ----------------------------------------------------------------------------------


def test_errors_default_to_open_and_retrying_newest_first(
    client: FlaskClient, add_error: AddError
) -> None:
    older = add_error(status="open", minutes=1)
    newer = add_error(status="retrying", minutes=2)
    add_error(status="resolved", minutes=3)
    add_error(status="ignored", minutes=4)
    assert error_ids(get(client, "/errors")) == [newer.id, older.id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=resolved", ["resolved"]),
        ("status=all", ["open-crm", "validation-crm", "open-web", "resolved"]),
        ("mapping=webinar-person", ["open-web"]),
        ("kind=duplicate", ["open-crm"]),
        ("mapping=crm-person&kind=validation", ["validation-crm"]),
        ("mapping=crm-person&status=all&kind=validation", ["validation-crm", "resolved"]),
    ],
)
def test_errors_filters(
    client: FlaskClient, add_error: AddError, query: str, expected: list[str]
) -> None:
    made = {
        "resolved": add_error("crm-person", minutes=1, status="resolved"),
        "open-web": add_error("webinar-person", minutes=2),
        "validation-crm": add_error("crm-person", minutes=3),
        "open-crm": add_error("crm-person", minutes=4, kind="duplicate"),
    }
    html = get(client, f"/errors?{query}")
    assert error_ids(html) == [made[name].id for name in expected]


def test_errors_columns(client: FlaskClient, add_error: AddError) -> None:
    add_error(
        direction="to_hub", level="job", email="ada@example.com", hub_object="person",
        hub_id="a" * 32, remote_object="Lead", remote_id="00Q000000000001", kind="duplicate",
        code="DUPLICATES_DETECTED", message="x" * 500, attempts=4, status="retrying",
    )
    html = unwrapped(get(client, "/errors"))
    for text in ("to_hub", "job", "ada@example.com", "a" * 32, "Lead 00Q000000000001",
                 "duplicate", "DUPLICATES_DETECTED", '<td class="num">4</td>', "badge-retrying",
                 "2026-03-01 09:00:00 UTC"):
        assert text in html
    assert "x" * 500 not in html and "x" * 100 in html  # long messages are truncated


def test_errors_pagination(client: FlaskClient, add_error: AddError) -> None:
    errors = [add_error() for _ in range(75)]
    newest_first = [e.id for e in reversed(errors)]
    page1 = get(client, "/errors")
    assert error_ids(page1) == newest_first[:50]
    assert "page=2" in page1
    page2 = get(client, "/errors?page=2")
    assert error_ids(page2) == newest_first[50:]
    assert "Older" not in page2 and "Newer" in page2


def test_error_detail(client: FlaskClient, add_run: AddRun, add_error: AddError) -> None:
    run = add_run()
    error = add_error(
        message="Required fields are missing: [LastName]",
        hint="Map a hub field to LastName or give it a default.",
        payload={"Email": "ada@example.com", "LastName": None},
        history=[{"at": "2026-03-01T09:00:00Z", "message": "first try"},
                 {"at": "2026-03-01T09:05:00Z", "message": "second try"}],
        attempts=2, next_retry_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC), run_id=run.id,
    )
    html = get(client, f"/errors/{error.id}")
    assert "Required fields are missing: [LastName]" in html
    assert "Map a hub field to LastName or give it a default." in html
    assert "&#34;Email&#34;: &#34;ada@example.com&#34;" in html  # pretty JSON, escaped
    assert "&#34;LastName&#34;: null" in html
    assert "first try" in html and "second try" in html
    assert "2026-03-01 10:00:00 UTC" in html  # next retry
    assert f'href="/runs/{run.id}"' in html


def test_remote_text_is_escaped(client: FlaskClient, add_run: AddRun, add_error: AddError) -> None:
    attack = "<script>alert(1)</script>"
    run = add_run(message=attack)
    error = add_error(
        message=f"bad value {attack}", hint=attack, payload={"FirstName": attack},
        history=[{"message": attack}], email=f"{attack}@example.com", code=attack,
        run_id=run.id,
    )
    for url in ("/errors", f"/errors/{error.id}", f"/runs/{run.id}"):
        html = get(client, url)
        assert "&lt;script&gt;" in html, url
        assert "<script>alert" not in html, url


def test_secrets_are_redacted_on_display(client: FlaskClient, add_error: AddError) -> None:
    from core.redaction import redact

    redact.add(["tok-dashboard-secret-123"])
    error = add_error(message="INVALID_SESSION_ID for token tok-dashboard-secret-123")
    html = get(client, f"/errors/{error.id}")
    assert "tok-dashboard-secret-123" not in html and "for token ***" in html


def test_credentials_in_a_stored_run_message_are_redacted_on_display(
    client: FlaskClient, add_run: AddRun
) -> None:
    # A row written before its text was redacted this well: the pages redact it again.
    run = add_run(status="crashed", message="died in GET /token?password=old-pw-7f1&x=1")
    for path in ("/", f"/runs/{run.id}"):
        html = get(client, path)
        assert "old-pw-7f1" not in html, path
        assert "/token?password=***&amp;x=1" in html, path


@pytest.mark.parametrize("path", ["/runs/999999", "/errors/999999", "/nowhere", "/runs/abc"])
def test_unknown_ids_are_404(client: FlaskClient, path: str) -> None:
    html = get(client, path, status=404)
    assert "Not found" in html


# -- health and headers ----------------------------------------------------------------------


def test_healthz_ok(anon_client: FlaskClient) -> None:
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


UNREACHABLE = [
    "postgresql+psycopg://syncline:pw-s3cret-9f2@127.0.0.1:1/syncline_db9?connect_timeout=2",
    "sqlite:////nonexistent-dir/pw-s3cret-9f2/syncline_db9.db",
]


@contextmanager
def caplog_on_syncline(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture Syncline's events (its logger may not propagate to the root logger)."""
    logger = logging.getLogger("syncline")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="syncline"):
            yield
    finally:
        logger.removeHandler(caplog.handler)


def _logged_events(caplog: pytest.LogCaptureFixture) -> str:
    return " ".join(f"{r.getMessage()} {getattr(r, 'fields', {})}" for r in caplog.records)


@pytest.mark.parametrize("url", UNREACHABLE)
def test_healthz_tells_strangers_only_that_the_database_is_down(
    monkeypatch: pytest.MonkeyPatch, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SYNCLINE_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    with caplog_on_syncline(caplog):
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error"}
    for detail in ("127.0.0.1", "syncline_db9", "Error", "nonexistent"):
        assert detail not in response.get_data(as_text=True)
    # The driver's message (host, port, database name) is for the operator's log, not the page.
    logged = _logged_events(caplog)
    assert "healthz.database_error" in logged and "syncline_db9" in logged
    if url.startswith("postgresql"):  # there it is the password (in SQLite's, a folder)
        assert "pw-s3cret-9f2" not in logged
    app.extensions["syncline.engine"].dispose()


def test_readyz_names_each_dependency(client: FlaskClient) -> None:
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["down"] == [] and body["checks"]["database"] == {"ok": True}
    assert body["checks"]["schema"] == {"ok": True}


@pytest.mark.parametrize("url", UNREACHABLE)
def test_readyz_tells_strangers_only_which_dependency_is_down(
    monkeypatch: pytest.MonkeyPatch, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SYNCLINE_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    with caplog_on_syncline(caplog):
        response = app.test_client().get("/readyz")  # no login: probes have none
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["down"] == ["database"]
    assert body["checks"]["database"] == "error"
    assert set(body["checks"].values()) <= {"ok", "error"}
    for detail in ("127.0.0.1", "syncline_db9", "Error", "nonexistent"):
        assert detail not in response.get_data(as_text=True)
    assert "syncline_db9" in _logged_events(caplog)
    if url.startswith("postgresql"):
        assert "pw-s3cret-9f2" not in _logged_events(caplog)
    app.extensions["syncline.engine"].dispose()


def test_readyz_gives_an_admin_the_details_and_a_stranger_none(
    client: FlaskClient, anon_client: FlaskClient, viewer_client: FlaskClient, engine: Any
) -> None:
    with engine.begin() as connection:
        connection.execute(sql("UPDATE alembic_version SET version_num = '0005'"))
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["down"] == ["schema"]
    assert "syncline init" in body["checks"]["schema"]["error"]
    for other in (anon_client, viewer_client):
        quiet = other.get("/readyz")
        assert quiet.status_code == 503
        assert quiet.get_json()["checks"]["schema"] == "error"
        assert "syncline init" not in quiet.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/", "/runs", "/errors", "/healthz", "/readyz", "/errors/999999",
             "/dashboard-static/style.css"]
)
def test_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    response.close()


def test_stylesheet_is_served_locally(client: FlaskClient) -> None:
    html = get(client, "/")
    assert 'href="/dashboard-static/style.css"' in html
    assert "http://" not in html and "https://" not in html  # no CDN
    response = client.get("/dashboard-static/style.css")
    assert response.status_code == 200 and b".badge-success" in response.data
    response.close()


# -- the factory -----------------------------------------------------------------------------


def test_config_order_env_overrides_test_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_MAPPINGS_DIR", "from-env")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "MAPPINGS_DIR": "x"})
    assert app.config["MAPPINGS_DIR"] == "from-env"
    assert app.config["CONNECTIONS"] == "connections.yaml"
    assert app.config["SECRET_KEY"]
    app.extensions["syncline.engine"].dispose()


def test_secret_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_SECRET_KEY", "configured-key")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"] == "configured-key"
    app.extensions["syncline.engine"].dispose()
