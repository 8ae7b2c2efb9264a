"""The memory connector: the conformance suite, then what only it does (files, faults, codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors import build_connector
from connectors.base import Op, OutboundRecord, WriteStatus
from connectors.conformance import ConnectorConformance, changes_of, read_all
from connectors.errors import ConnectorError, ErrorKind
from connectors.memory import MemoryConnector, MemoryStore, SimulatedCrash

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "mem-test-key-8f2c41"


class MemoryRemote:
    """RemoteControl over a MemoryStore: the "sales rep" edits and the injected faults."""

    def __init__(self, connector: MemoryConnector, object_name: str) -> None:
        self.connector, self.store, self.object_name = connector, connector.store, object_name

    def seed(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        return [self.store.create(self.object_name, r) for r in records]

    def edit(self, key: str, fields: Mapping[str, Any]) -> None:
        self.store.update(self.object_name, key, fields)

    def delete(self, key: str) -> None:
        self.store.delete(self.object_name, key)

    def set_page_size(self, n: int) -> None:
        self.connector.page_size = n

    def purge(self, key: str) -> None:
        self.store.hard_delete(self.object_name, key)

    def later(self, minutes: int) -> datetime:
        return datetime.now(UTC)  # the store orders by sequence, not by time

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        self.store.inject(kind, times, retry_after)

    def patch_sleep(self) -> list[float]:
        slept: list[float] = []
        self.connector.retry = replace(self.connector.retry, sleep=slept.append)
        return slept


def lead(i: int, **extra: Any) -> dict[str, Any]:
    return {"FirstName": f"Ada{i}", "LastName": f"Lovelace{i}", "Company": "Analytical Engines",
            "Email": f"ada{i}@example.com", "LeadSource": "Web", **extra}


@pytest.fixture(autouse=True)
def _fresh_shared_stores() -> Iterator[None]:
    MemoryStore.forget_shared()
    yield
    MemoryStore.forget_shared()


class TestMemoryConformance(ConnectorConformance):
    object_name = "Lead"
    required_field = "LastName"
    external_id_field = "Syncline_Id__c"
    future_cursor = "999999999999"
    token_endpoint = False  # an api_key, checked by the store: no token request to echo

    def sample(self, i: int) -> dict[str, Any]:
        return lead(i)

    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore(api_key=API_KEY)

    @pytest.fixture
    def connector(self, store: MemoryStore) -> MemoryConnector:
        # A small batch size keeps the oversized-batch check quick.
        return MemoryConnector("crm", {"type": "memory", "store": store, "api_key": API_KEY,
                                       "max_batch_size": 7})

    @pytest.fixture
    def remote(self, connector: MemoryConnector) -> MemoryRemote:
        return MemoryRemote(connector, "Lead")

    @pytest.fixture
    def bad_auth_connector(self, store: MemoryStore) -> MemoryConnector:
        return MemoryConnector("crm", {"type": "memory", "store": store, "api_key": "wrong-key-1"})


class TestMemorySecondsConformance(TestMemoryConformance):
    """``versions: seconds`` on a stopped clock: every change shares one stamp (a tie)."""

    @pytest.fixture
    def store(self) -> MemoryStore:
        store = MemoryStore(api_key=API_KEY)
        moment = datetime(2024, 5, 1, 10, 22, 31, 250000, tzinfo=UTC)
        store.clock = lambda: moment
        return store

    @pytest.fixture
    def connector(self, store: MemoryStore) -> MemoryConnector:
        return MemoryConnector("crm", {"type": "memory", "store": store, "api_key": API_KEY,
                                       "max_batch_size": 7, "versions": "seconds"})

    def test_versions_are_whole_second_stamps(self, connector: MemoryConnector) -> None:
        created = self.create(connector, 0)
        assert not connector.capabilities.row_versions
        assert created.version == "2024-05-01T10:22:31+00:00"


# -- the store and its file ------------------------------------------------------------------


def test_connections_with_the_same_name_or_path_share_a_store(tmp_path: Path) -> None:
    a = build_connector("crm", {"type": "memory"})
    b = build_connector("crm", {"type": "memory"})
    other = build_connector("erp", {"type": "memory"})
    assert isinstance(a, MemoryConnector) and isinstance(b, MemoryConnector)
    assert isinstance(other, MemoryConnector)
    assert a.store is b.store and a.store is not other.store
    path = str(tmp_path / "crm.json")
    c = build_connector("one", {"type": "memory", "path": path})
    d = build_connector("two", {"type": "memory", "path": path})
    assert isinstance(c, MemoryConnector) and isinstance(d, MemoryConnector)
    assert c.store is d.store


def test_file_store_is_shared_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "crm.json"
    # Two instances on one file stand for two processes: each sees the other's writes.
    first, second = MemoryStore(path), MemoryStore(path)
    key = first.create("Lead", lead(1))
    assert second.get("Lead", key) == {**lead(1), "Id": key, "Status": "Open"}
    second.update("Lead", key, {"Title": "Countess"})
    assert first.get("Lead", key)["Title"] == "Countess"  # type: ignore[index]
    first.delete("Lead", key)
    assert second.get("Lead", key) is None and second.count("Lead") == 0
    assert second.entry("Lead", key)["_deleted"]  # type: ignore[index]
    assert json.loads(path.read_text())["seq"] == 3
    assert not list(tmp_path.glob("crm.json.*[!k]"))  # no temp files left behind


def test_purged_records_leave_the_feed_and_stay_listed_in_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "crm.json")
    store = MemoryStore.at(path)
    binned, hard, live = (store.create("Lead", lead(i)) for i in range(3))
    store.delete("Lead", binned)
    with pytest.raises(ConnectorError) as refused:
        store.purge("Lead", [binned, live])
    assert refused.value.kind is ErrorKind.NOT_FOUND and store.entry("Lead", binned)
    assert store.purge("Lead") == [binned]
    store.hard_delete("Lead", hard)
    MemoryStore.forget_shared()

    crm = MemoryConnector("crm", {"type": "memory", "path": path})
    assert [c.key for c in changes_of(read_all(crm, "Lead"))] == [live]
    found = crm.read_hard_deletes("Lead", None)
    assert (list(found.keys), found.gap) == ([binned, hard], None)
    assert list(crm.read_hard_deletes("Lead", found.cursor).keys) == []


def test_file_store_is_shared_between_processes(tmp_path: Path) -> None:
    path = tmp_path / "crm.json"
    script = textwrap.dedent(f"""
        import sys
        from connectors.base import OutboundRecord
        from connectors.memory import MemoryConnector
        worker = sys.argv[1]
        crm = MemoryConnector("crm", {{"type": "memory", "path": {str(path)!r},
                                       "max_batch_size": 5}})
        records = [OutboundRecord(f"{{worker}}-{{i}}", None,
                                  {{"LastName": "L", "Company": "C",
                                    "Email": f"{{worker}}{{i}}@example.com"}})
                   for i in range(40)]
        assert all(r.ok for r in crm.write("Lead", records))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", script, name], cwd=ROOT, env=env)
               for name in ("a", "b", "c")]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
    store = MemoryStore(path)
    records = store.all("Lead")
    assert len(records) == 120
    assert len({r["Id"] for r in records}) == 120
    assert store.seq == 120


def test_malformed_store_file_is_config(tmp_path: Path) -> None:
    path = tmp_path / "crm.json"
    path.write_text("{not json")
    with pytest.raises(ConnectorError) as info:
        MemoryStore(path)
    assert info.value.kind is ErrorKind.CONFIG


def test_ids_look_like_crm_ids() -> None:
    store = MemoryStore()
    assert store.create("Lead", lead(1)).startswith("00Q")
    account = store.create("Account", {"Name": "Acme"})
    assert account.startswith("001") and len(account) == 15


def test_mutations_bump_the_sequence_and_keep_tombstones() -> None:
    store = MemoryStore()
    key = store.create("Lead", lead(1))
    assert store.update("Lead", key, {"Title": "CTO"}) is True
    assert store.update("Lead", key, {"Title": "CTO"}) is False  # nothing changed, no bump
    store.delete("Lead", key)
    entry = store.entry("Lead", key)
    assert entry is not None and entry["_seq"] == 3 and entry["_deleted"]
    assert entry["_modified_at"].tzinfo is not None
    assert store.count("Lead") == 0


# -- the connector ---------------------------------------------------------------------------


@pytest.fixture
def crm() -> MemoryConnector:
    return MemoryConnector("crm", {"type": "memory", "store": MemoryStore()})


def write_one(crm: MemoryConnector, fields: Mapping[str, Any], key: str | None = None,
              obj: str = "Lead") -> Any:
    [result] = crm.write(obj, [OutboundRecord("r", key, fields)])
    return result


@pytest.mark.parametrize(
    ("fields", "kind", "code", "message", "hint"),
    [
        ({**lead(1), "Foo": 1}, ErrorKind.CONFIG, "INVALID_FIELD",
         "No such column 'Foo' on entity 'Lead'", "'Foo'"),
        ({**lead(1), "Id": "00Q5e0000000009"}, ErrorKind.CONFIG, "INVALID_FIELD_FOR_INSERT_UPDATE",
         "Unable to create/update fields: Id", "Lead.Id"),
        ({"Company": "Acme"}, ErrorKind.VALIDATION, "REQUIRED_FIELD_MISSING",
         "Required fields are missing: [LastName]", "LastName"),
        ({**lead(1), "Company": "x" * 256}, ErrorKind.VALIDATION, "STRING_TOO_LONG",
         "Company: data value too large: ", "(max length=255)"),
        ({**lead(1), "LeadSource": "UK"}, ErrorKind.VALIDATION,
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
         "LeadSource: bad value for restricted picklist field: UK",
         "add a value_map entry for 'UK' on LeadSource; allowed: Web, Webinar, Trade Show"),
        ({**lead(1), "Score__c": "high"}, ErrorKind.VALIDATION, "INVALID_TYPE", "Score__c",
         "integer"),
        ({**lead(1), "Email": "not-an-address"}, ErrorKind.VALIDATION, "INVALID_EMAIL_ADDRESS",
         "Email: invalid email address", "fix the address"),
    ],
)
def test_validation_codes_and_hints(
    crm: MemoryConnector, fields: dict[str, Any], kind: ErrorKind, code: str, message: str,
    hint: str,
) -> None:
    result = write_one(crm, fields)
    assert result.status is WriteStatus.FAILED
    assert (result.error.kind, result.error.code) == (kind, code)
    assert message in result.error.message
    assert hint in (result.error.hint or "") or hint in result.error.message


def test_required_field_is_named(crm: MemoryConnector) -> None:
    assert write_one(crm, {"Company": "Acme"}).error.field == "LastName"


def test_unique_clash_is_duplicate(crm: MemoryConnector) -> None:
    first = write_one(crm, lead(1))
    clash = write_one(crm, lead(2, Email="ADA1@example.com"))
    assert clash.error.kind is ErrorKind.DUPLICATE and clash.error.code == "DUPLICATE_VALUE"
    assert first.key in clash.error.message


def test_reference_must_exist(crm: MemoryConnector) -> None:
    campaign = write_one(crm, {"Name": "Spring webinar"}, obj="Campaign").key
    lead_key = write_one(crm, lead(1)).key
    member = write_one(crm, {"CampaignId": campaign, "LeadId": lead_key}, obj="CampaignMember")
    assert member.status is WriteStatus.CREATED
    dangling = write_one(crm, {"CampaignId": "701000000000000"}, obj="CampaignMember")
    assert dangling.error.code == "INVALID_CROSS_REFERENCE_KEY"


def test_defaults_and_update_semantics(crm: MemoryConnector) -> None:
    created = write_one(crm, lead(1))
    assert crm.store.get("Lead", created.key)["Status"] == "Open"  # type: ignore[index]
    assert write_one(crm, {"Title": "CTO"}, created.key).status is WriteStatus.UPDATED
    same = write_one(crm, {"Title": "CTO"}, created.key)
    assert same.status is WriteStatus.UNCHANGED and same.version == str(crm.store.seq)
    blanked = write_one(crm, {"LastName": ""}, created.key)
    assert blanked.error.code == "REQUIRED_FIELD_MISSING"


def test_upsert_on_a_field_that_is_not_an_external_id_is_config(crm: MemoryConnector) -> None:
    [result] = crm.write("Lead", [OutboundRecord("r", None, lead(1), external_id=("Email", "x"))])
    assert result.error.kind is ErrorKind.CONFIG


def test_read_restricts_fields_and_rejects_unknown_ones(crm: MemoryConnector) -> None:
    crm.store.create("Lead", lead(1))
    [change] = changes_of(read_all(crm, "Lead", fields=["Email"]))
    assert set(change.fields) == {"Id", "Email"}
    with pytest.raises(ConnectorError) as info:
        crm.read_changes("Lead", None, fields=["Nope"])
    assert info.value.code == "INVALID_FIELD"
    with pytest.raises(ConnectorError):
        crm.read_changes("Lead", "yesterday")


def test_one_call_per_page_and_an_idle_read_is_one_call(crm: MemoryConnector) -> None:
    crm.page_size = 2
    for i in range(4):
        crm.store.create("Lead", lead(i))
    before = crm.api_calls
    pages = read_all(crm, "Lead")
    assert [len(p.changes) for p in pages] == [2, 2]
    assert crm.api_calls - before == 2
    before = crm.api_calls
    assert read_all(crm, "Lead", str(crm.store.seq + 1)) == []
    assert crm.api_calls - before == 1


def test_lookup_is_chunked() -> None:
    crm = MemoryConnector("crm", {"type": "memory", "store": MemoryStore(),
                                  "lookup_batch_size": 2})
    keys = [crm.store.create("Lead", lead(i)) for i in range(5)]
    before = crm.api_calls
    found = crm.lookup("Lead", "Email", [f"ADA{i}@EXAMPLE.COM" for i in range(5)])
    assert [c.key for c in found] == keys
    assert crm.api_calls - before == 3
    assert crm.lookup("Lead", "Company", ["analytical engines"], fields=["Email"])[0].fields == {
        "Id": keys[0], "Email": "ada0@example.com"}


def test_wrong_api_key_is_auth() -> None:
    store = MemoryStore(api_key="the-right-key")
    crm = MemoryConnector("crm", {"type": "memory", "store": store, "api_key": "a-wrong-key"})
    with pytest.raises(ConnectorError) as info:
        crm.describe()
    assert (info.value.kind, info.value.code) == (ErrorKind.AUTH, "INVALID_API_KEY")
    assert crm.api_calls == 1


@pytest.mark.parametrize(
    "config",
    [{"pagesize": 5}, {"page_size": 0}, {"retry": {"max_tries": 0}}, {"faults": {"rate": 1}},
     {"store": "not a store"}, {"schema": {"Thing": {"key_prefix": "toolong"}}},
     {"versions": "milliseconds"}],
)
def test_bad_settings_are_config(config: dict[str, Any]) -> None:
    with pytest.raises(ConnectorError) as info:
        MemoryConnector("crm", {"type": "memory", **config})
    assert info.value.kind is ErrorKind.CONFIG


def test_schema_can_be_extended() -> None:
    crm = MemoryConnector("crm", {"type": "memory", "store": MemoryStore(), "schema": {
        "Lead": {"fields": {"Region__c": {"type": "picklist", "picklist": ["EMEA", "APAC"],
                                          "restricted": True}}},
        "Webinar__c": {"key_prefix": "a0W", "fields": {
            "Name": {"type": "string", "length": 80, "required": True}}},
    }})
    info = crm.describe(["Lead", "Webinar__c"])
    assert info["Lead"].fields["Region__c"].restricted_picklist
    assert "LastName" in info["Lead"].fields
    assert info["Webinar__c"].fields["Name"].required
    assert write_one(crm, {"Name": "Intro"}, obj="Webinar__c").key.startswith("a0W")
    assert write_one(crm, lead(1, Region__c="LATAM")).error.field == "Region__c"


# -- faults and crashes ----------------------------------------------------------------------


def test_random_faults_are_retried_by_the_connector() -> None:
    crm = MemoryConnector("crm", {
        "type": "memory", "store": MemoryStore(), "max_batch_size": 10,
        "faults": {"transient_rate": 0.3, "rate_limited_rate": 0.2, "retry_after": 2, "seed": 7},
        "retry": {"max_tries": 20},
    })
    slept: list[float] = []
    crm.retry = replace(crm.retry, sleep=slept.append)
    results = crm.write("Lead", [OutboundRecord(str(i), None, lead(i)) for i in range(100)])
    assert all(r.status is WriteStatus.CREATED for r in results)
    assert crm.store.count("Lead") == 100  # a failed call applied nothing, a retry no twice
    assert crm.api_calls > 10 and len(slept) == crm.api_calls - 10
    assert 2.0 in slept


def test_latency_is_slept(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("core.shutdown.time.sleep", slept.append)
    crm = MemoryConnector("crm", {"type": "memory", "store": MemoryStore(),
                                  "faults": {"latency_ms": 300, "latency_per_record_ms": 2}})
    crm.write("Lead", [OutboundRecord(str(i), None, lead(i)) for i in range(10)])
    assert slept == [pytest.approx(0.32)]


def test_crash_after_write_leaves_the_write_applied() -> None:
    store = MemoryStore()
    crm = MemoryConnector("crm", {"type": "memory", "store": store})
    record = OutboundRecord("r", None, lead(1), external_id=("Syncline_Id__c", "hub-1"))
    store.crash_after_write = 1
    with pytest.raises(SimulatedCrash):
        crm.write("Lead", [record])
    assert store.count("Lead") == 1 and store.crash_after_write is None
    # The restarted process replays the write: the upsert finds what the crash left.
    [again] = crm.write("Lead", [record])
    assert again.status is WriteStatus.UNCHANGED and store.count("Lead") == 1


def test_crash_after_write_from_config_counts_chunks() -> None:
    crm = MemoryConnector("crm", {"type": "memory", "store": MemoryStore(), "max_batch_size": 2,
                                  "crash_after_write": 2})
    with pytest.raises(SimulatedCrash):
        crm.write("Lead", [OutboundRecord(str(i), None, lead(i)) for i in range(6)])
    assert crm.store.count("Lead") == 4


def test_delete_by_external_id_and_tombstone_in_feed(crm: MemoryConnector) -> None:
    ext = ("Syncline_Id__c", "hub-9")
    created = crm.write("Lead", [OutboundRecord("c", None, lead(9), external_id=ext)])[0]
    [deleted] = crm.write("Lead", [OutboundRecord("d", None, {}, op=Op.DELETE, external_id=ext)])
    assert deleted.status is WriteStatus.DELETED and deleted.key == created.key
    last = changes_of(read_all(crm, "Lead"))[-1]
    assert (last.key, last.op, dict(last.fields)) == (created.key, Op.DELETE, {})
