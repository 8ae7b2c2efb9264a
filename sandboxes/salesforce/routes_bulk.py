"""Bulk API 2.0 routes (``/jobs/ingest`` and ``/jobs/query``) on the data blueprint."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from sandboxes.salesforce.bulk import BulkJobs
from sandboxes.salesforce.context import state
from sandboxes.salesforce.wire import json_response, no_content, request_json

RESULT_KINDS = {
    "successfulresults": "successfulResults",
    "failedresults": "failedResults",
    "unprocessedrecords": "unprocessedrecords",
}


def bulk_blueprint(blueprint: Blueprint) -> None:
    """Register the Bulk API 2.0 routes on ``blueprint`` (the versioned data blueprint)."""
    for kind in ("ingest", "query"):
        base = f"/jobs/{kind}"
        blueprint.add_url_rule(
            f"{base}/", f"bulk_{kind}_jobs", _jobs, methods=["GET", "POST"], defaults={"kind": kind}
        )
        blueprint.add_url_rule(
            f"{base}/<job_id>/",
            f"bulk_{kind}_job",
            _job,
            methods=["GET", "PATCH", "DELETE"],
            defaults={"kind": kind},
        )
    blueprint.add_url_rule("/jobs/ingest/<job_id>/batches/", view_func=_upload, methods=["PUT"])
    blueprint.add_url_rule(
        "/jobs/ingest/<job_id>/<which>/", view_func=_ingest_results, methods=["GET"]
    )
    blueprint.add_url_rule(
        "/jobs/query/<job_id>/results/", view_func=_query_results, methods=["GET"]
    )


def _bulk() -> BulkJobs:
    jobs = state().bulk
    assert jobs is not None
    return jobs


def _jobs(kind: str) -> Response:
    if request.method == "GET":
        records = [job.info() for job in _bulk().list(kind)]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})
    body = request_json()
    creator = _bulk().create_ingest if kind == "ingest" else _bulk().create_query
    return json_response(creator(body, g.api_version, g.session.user_id), 200)


def _job(kind: str, job_id: str) -> Response:
    if request.method == "GET":
        return json_response(_bulk().get(job_id, kind).info())
    if request.method == "DELETE":
        _bulk().delete(job_id, kind)
        return no_content()
    body = request_json()
    return json_response(_bulk().change_state(job_id, kind, str(body.get("state"))))


def _upload(job_id: str) -> Response:
    _bulk().upload(job_id, request.get_data())
    return Response(status=201)


def _csv(text: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(text, status=200, mimetype="text/csv")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _ingest_results(job_id: str, which: str) -> Response:
    kind = RESULT_KINDS.get(which.lower())
    if kind is None:
        from sandboxes.salesforce.errors import SalesforceError

        raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
    return _csv(_bulk().results_csv(job_id, kind))


def _query_results(job_id: str) -> Response:
    raw_max = request.args.get("maxRecords", "")
    max_records = int(raw_max) if raw_max.isdigit() and int(raw_max) > 0 else None
    text, locator, count = _bulk().query_results(job_id, request.args.get("locator"), max_records)
    return _csv(text, {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(count)})
