"""Salesforce refuses requests whose URI (414) or URI plus headers (431) exceed 16,384 bytes."""

from __future__ import annotations

import requests

from sandboxes.salesforce.sandbox import SalesforceSandbox


def test_oversized_query_uri_is_414_and_oversized_headers_431() -> None:
    with SalesforceSandbox() as sandbox:
        auth = {"Authorization": f"Bearer {sandbox.issue_token()}"}
        url = f"{sandbox.url}/services/data/v59.0/query/"
        ids = ", ".join(f"'00Q5e00000000{i:02d}AAA'" for i in range(40))
        ok = requests.get(url, params={"q": f"SELECT Id FROM Lead WHERE Id IN ({ids})"},
                          headers=auth, timeout=10)
        assert ok.status_code == 200, ok.text
        long_ids = ", ".join(f"'00Q5e0000000{i:03d}AAA'" for i in range(700))
        too_long = requests.get(url, params={"q": f"SELECT Id FROM Lead WHERE Id IN ({long_ids})"},
                                headers=auth, timeout=10)
        assert too_long.status_code == 414
        assert too_long.json()[0]["errorCode"] == "URI_TOO_LONG"
        padded = requests.get(url, params={"q": "SELECT Id FROM Lead " + " " * 9000},
                              headers={**auth, "X-Padding": "x" * 8000}, timeout=10)
        assert padded.status_code == 431
