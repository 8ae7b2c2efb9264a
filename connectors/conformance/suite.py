"""The connector conformance suite: one pytest base class every connector's tests subclass.

A subclass names the object to test and supplies fixtures::

    from connectors.conformance import ConnectorConformance

    class TestMemoryConformance(ConnectorConformance):
        object_name = "Lead"
        required_field = "LastName"
        external_id_field = "Syncline_Id__c"
        future_cursor = "999999999999"

        def sample(self, i): ...          # valid create fields, distinct per i

        @pytest.fixture
        def connector(self): ...          # a fresh connector on an empty remote

        @pytest.fixture
        def remote(self, connector): ...  # a RemoteControl on that remote

Capability flags (``connector.capabilities``) turn into skips. The checks are what the
engine relies on of every connector: describe, paging, inclusive cursors, deletes (hard deletes
with their own cursor where the connector lists them), one result per input in input order,
per-record failures, idempotent upserts, retries of 429/503 and one refresh of an expired
session, and secrets never shown (in any encoding, even when the token endpoint quotes the
request back).

The class is named so that pytest collects it only through a ``Test...`` subclass.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pytest

from connectors import REGISTRY, connector_class
from connectors.base import (
    Capabilities,
    Change,
    Connector,
    Op,
    OutboundRecord,
    Page,
    WriteResult,
    WriteStatus,
)
from connectors.conformance.remote import RemoteControl
from connectors.conformance.secretforms import leaks
from connectors.errors import ConnectorError, ErrorKind
from connectors.filters import AnyOf, Compare, In, matches

FIELD_TYPES = frozenset({
    "string", "text", "email", "phone", "url", "picklist", "multipicklist", "boolean", "integer",
    "number", "date", "datetime", "id", "reference",
})


def read_all(
    connector: Connector, object_name: str, since: str | None = None, **kw: Any
) -> list[Page]:
    return list(connector.read_changes(object_name, since, **kw))


def changes_of(pages: Sequence[Page]) -> list[Change]:
    return [change for page in pages for change in page.changes]


class ConnectorConformance:
    """Checks every connector must pass; subclass it and provide the fixtures named above."""

    object_name: ClassVar[str]
    required_field: ClassVar[str]
    external_id_field: ClassVar[str]
    #: A cursor beyond anything the remote has (a far-future timestamp, a fresh token).
    future_cursor: ClassVar[str]
    #: A text field the lookup tests search on; defaults to the external id field.
    lookup_field: ClassVar[str | None] = None
    #: Whether an expired session is refreshed once and the call replayed.
    refreshes_auth: ClassVar[bool] = True
    #: Whether the connector gets tokens from a token endpoint (``echo_token_request``).
    token_endpoint: ClassVar[bool] = True

    def sample(self, i: int) -> dict[str, Any]:
        """Valid fields for creating record number ``i`` (distinct values per ``i``)."""
        raise NotImplementedError

    @pytest.fixture
    def bad_auth_connector(self) -> Connector | None:
        """A connector on the same remote with wrong credentials; None if there is no auth."""
        return None

    # -- helpers ----------------------------------------------------------------------------

    def seed(self, remote: RemoteControl, n: int, start: int = 0) -> list[str]:
        return remote.seed([self.sample(i) for i in range(start, start + n)])

    def upserts(self, pages: Sequence[Page]) -> list[Change]:
        return [c for c in changes_of(pages) if c.op is Op.UPSERT]

    def create(self, connector: Connector, i: int) -> WriteResult:
        record = OutboundRecord(f"r{i}", None, self.sample(i))
        [result] = connector.write(self.object_name, [record])
        assert result.status is WriteStatus.CREATED, result.error
        return result

    @property
    def search_field(self) -> str:
        return self.lookup_field or self.external_id_field

    # -- declaration and check --------------------------------------------------------------

    def test_declared_in_registry(self, connector: Connector) -> None:
        assert connector.type_name in REGISTRY
        assert connector_class(connector.type_name) is type(connector)
        assert isinstance(connector.capabilities, Capabilities)

    def test_check_succeeds(self, connector: Connector) -> None:
        before = connector.api_calls
        connector.check()
        assert connector.api_calls > before

    def test_bad_credentials_raise_auth(self, bad_auth_connector: Connector | None) -> None:
        if bad_auth_connector is None:
            pytest.skip("connector has no credentials")
        with pytest.raises(ConnectorError) as info:
            bad_auth_connector.check()
        assert info.value.kind is ErrorKind.AUTH
        assert not info.value.retryable

    # -- describe ---------------------------------------------------------------------------

    def test_describe_object(self, connector: Connector) -> None:
        info = connector.describe([self.object_name])[self.object_name]
        assert info.name == self.object_name
        assert info.key_field in info.fields
        assert info.cursor_field in info.fields
        assert {f.type for f in info.fields.values()} <= FIELD_TYPES
        assert all(name == f.name for name, f in info.fields.items())
        assert self.required_field in info.fields
        assert info.fields[self.external_id_field].external_id

    def test_describe_all_includes_object(self, connector: Connector) -> None:
        assert self.object_name in connector.describe()

    def test_describe_unknown_object_is_config(self, connector: Connector) -> None:
        with pytest.raises(ConnectorError) as info:
            connector.describe(["NoSuchObject__x"])
        assert info.value.kind is ErrorKind.CONFIG

    # -- read_changes -----------------------------------------------------------------------

    def test_full_read_returns_seeded_records_once(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        keys = self.seed(remote, 3)
        read = [c.key for c in self.upserts(read_all(connector, self.object_name))]
        assert all(read) and len(read) == len(set(read))
        assert sorted(k for k in read if k in keys) == sorted(keys)

    def test_read_fields_are_described(self, connector: Connector, remote: RemoteControl) -> None:
        self.seed(remote, 2)
        described = connector.describe([self.object_name])[self.object_name].fields
        for change in self.upserts(read_all(connector, self.object_name)):
            assert set(change.fields) <= set(described)

    def test_paging_delivers_every_record_once(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        remote.set_page_size(2)
        keys = self.seed(remote, 5)
        pages = read_all(connector, self.object_name)
        assert len(pages) >= 3
        read = [c.key for c in self.upserts(pages) if c.key in keys]
        assert sorted(read) == sorted(keys)

    def test_cursors_are_strings_and_ascend(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        if not connector.capabilities.sorted_changes:
            pytest.skip("changes are not sorted")
        remote.set_page_size(2)
        self.seed(remote, 5)
        pages = read_all(connector, self.object_name)
        seen: set[str] = set()
        for page in pages:
            assert isinstance(page.cursor, str)
            assert json.loads(json.dumps(page.cursor)) == page.cursor
            # Opaque cursors cannot be compared; what ascending means is that reading from a
            # page's cursor never goes back to a record only seen on an earlier page.
            last = page.changes[-1].key
            seen |= {c.key for c in page.changes}
            again = {c.key for c in changes_of(read_all(connector, self.object_name, page.cursor))}
            assert last in again
            assert not (again & (seen - {c.key for c in page.changes}))

    def test_incremental_read_from_last_cursor(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        if not connector.capabilities.update:
            pytest.skip("records cannot be changed once made")
        keys = self.seed(remote, 3)
        first = read_all(connector, self.object_name)
        cursor, last_key = first[-1].cursor, first[-1].changes[-1].key
        new_value = self.sample(99)[self.required_field]
        remote.edit(keys[0], {self.required_field: new_value})
        second = {c.key: c for c in changes_of(read_all(connector, self.object_name, cursor))}
        assert keys[0] in second
        assert second[keys[0]].fields[self.required_field] == new_value
        assert set(second) <= {keys[0], last_key}  # inclusive: the cursor's own record may repeat

    def test_future_cursor_reads_nothing(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        self.seed(remote, 2)
        assert changes_of(read_all(connector, self.object_name, self.future_cursor)) == []

    def test_deletes_arrive_in_feed(self, connector: Connector, remote: RemoteControl) -> None:
        if not connector.capabilities.deletes_in_feed:
            pytest.skip("deletes are not in the feed")
        keys = self.seed(remote, 2)
        cursor = read_all(connector, self.object_name)[-1].cursor
        remote.delete(keys[0])
        later = changes_of(read_all(connector, self.object_name, cursor))
        assert [c.op for c in later if c.key == keys[0]] == [Op.DELETE]

    def test_hard_deletes_are_listed_under_their_own_cursor(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        if not connector.capabilities.hard_deletes:
            pytest.skip("the remote's feed shows every delete")
        keys = self.seed(remote, 3)
        feed = read_all(connector, self.object_name)[-1].cursor
        first = connector.read_hard_deletes(self.object_name, None, now=remote.later(0))
        assert isinstance(first.cursor, str) and first.gap is None

        remote.delete(keys[2])  # in the recycle bin: the feed shows it
        remote.purge(keys[0])
        now = remote.later(3)
        assert keys[0] not in {c.key for c in changes_of(read_all(
            connector, self.object_name, feed))}, "a record deleted for good leaves the feed"
        found = connector.read_hard_deletes(self.object_name, first.cursor, now=now)
        assert keys[0] in found.keys and keys[1] not in found.keys
        assert isinstance(found.cursor, str) and found.gap is None
        again = connector.read_hard_deletes(self.object_name, found.cursor, now=now)
        assert set(again.keys) <= set(found.keys), "from the new cursor: repeats at most"
        known = {c.key: c.op for c in connector.lookup_deleted(self.object_name, keys)}
        assert known == {keys[1]: Op.UPSERT, keys[2]: Op.DELETE}, "gone for good: unknown"

    def test_a_filtered_read_returns_exactly_the_matching_records(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        """A pushed-down pull_rule: what fails it is never sent; text matches ignoring case."""
        field = self.required_field
        keys = self.seed(remote, 4)
        values = [self.sample(i)[field] for i in range(4)]
        where = In(field, (values[0].upper(), values[2]))
        read = self.upserts(read_all(connector, self.object_name, fields=[field], where=where))
        if connector.where_text(self.object_name, where) is None:
            # Nothing sent, so nothing left out: the engine applies the rule to every record.
            assert {keys[0], keys[1], keys[2], keys[3]} <= {c.key for c in read}
            return
        assert {c.key for c in read if c.key in keys} == {keys[0], keys[2]}
        assert all(matches(where, c.fields) for c in read), "nothing failing the filter"
        unequal = AnyOf((Compare(field, "!=", values[1]), Compare(field, "=", None)))
        read = self.upserts(read_all(connector, self.object_name, fields=[field], where=unequal))
        assert {c.key for c in read if c.key in keys} == {keys[0], keys[2], keys[3]}

    def test_a_filtered_read_still_returns_deletes(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        """The engine acts on a delete whatever the rule says: a filter never hides one."""
        if not connector.capabilities.deletes_in_feed:
            pytest.skip("deletes are not in the feed")
        field = self.required_field
        keys = self.seed(remote, 2)
        where = Compare(field, "=", self.sample(1)[field])
        cursor = read_all(connector, self.object_name, where=where)[-1].cursor
        remote.delete(keys[0])
        later = changes_of(read_all(connector, self.object_name, cursor, where=where))
        assert [c.op for c in later if c.key == keys[0]] == [Op.DELETE]

    # -- write ------------------------------------------------------------------------------

    def test_write_returns_one_result_per_input_in_order(self, connector: Connector) -> None:
        records = [OutboundRecord(f"ref-{i}", None, self.sample(i)) for i in range(3)]
        results = connector.write(self.object_name, records)
        assert [r.ref for r in results] == ["ref-0", "ref-1", "ref-2"]
        assert all(r.ok and r.key for r in results)
        assert len({r.key for r in results}) == 3

    def test_create_then_read_round_trips(self, connector: Connector) -> None:
        result = self.create(connector, 0)
        assert result.key and result.version
        [change] = [c for c in changes_of(read_all(connector, self.object_name))
                    if c.key == result.key]
        for name, value in self.sample(0).items():
            assert change.fields[name] == value, name

    def test_upsert_on_external_id_is_idempotent(self, connector: Connector) -> None:
        if not connector.capabilities.external_id_upsert:
            pytest.skip("no external id upsert")
        ext = (self.external_id_field, "conformance-ext-1")
        record = OutboundRecord("a", None, self.sample(0), external_id=ext)
        [first] = connector.write(self.object_name, [record])
        [second] = connector.write(self.object_name, [record])
        assert first.status is WriteStatus.CREATED
        assert second.status in (WriteStatus.UPDATED, WriteStatus.UNCHANGED)
        assert second.key == first.key
        live = self.upserts(read_all(connector, self.object_name))
        assert [c.key for c in live if c.fields.get(self.external_id_field) == ext[1]] == [
            first.key]

    def test_partial_failure_is_per_record(self, connector: Connector) -> None:
        broken = {k: v for k, v in self.sample(1).items() if k != self.required_field}
        records = [
            OutboundRecord("ok-0", None, self.sample(0)),
            OutboundRecord("bad-1", None, broken),
            OutboundRecord("ok-2", None, self.sample(2)),
        ]
        results = connector.write(self.object_name, records)
        assert [r.ok for r in results] == [True, False, True]
        failed = results[1]
        assert failed.ref == "bad-1" and failed.status is WriteStatus.FAILED
        assert failed.error is not None and failed.error.kind is ErrorKind.VALIDATION

    def test_oversized_batch_is_chunked(self, connector: Connector) -> None:
        size = connector.capabilities.max_batch_size
        n = 2 * size + 1
        records = [OutboundRecord(f"r{i}", None, self.sample(i)) for i in range(n)]
        before = connector.api_calls
        results = connector.write(self.object_name, records)
        assert connector.api_calls - before == math.ceil(n / size)
        assert [r.ref for r in results] == [r.ref for r in records]
        assert all(r.ok for r in results)

    def test_stale_if_match_is_conflict(self, connector: Connector, remote: RemoteControl) -> None:
        if not connector.capabilities.update:
            pytest.skip("records cannot be changed once made")
        created = self.create(connector, 0)
        if created.version is None:
            pytest.skip("connector reports no versions")
        remote.edit(created.key or "", {self.required_field: self.sample(5)[self.required_field]})
        stale = OutboundRecord("u", created.key, {self.required_field: "Stale"},
                               if_match=created.version)
        [result] = connector.write(self.object_name, [stale])
        assert result.status is WriteStatus.FAILED
        assert result.error is not None and result.error.kind is ErrorKind.CONFLICT

    def read_one(self, connector: Connector, key: str) -> Change:
        """The record as the connector reads it now (by key): its values and version."""
        key_field = connector.describe([self.object_name])[self.object_name].key_field
        [change] = connector.lookup(self.object_name, key_field, [key],
                                    fields=[self.required_field])
        return change

    def based_on(self, read: Change, value: str) -> OutboundRecord:
        """An update of the required field based on what ``read`` saw, as the engine sends it."""
        return OutboundRecord("u", read.key, {self.required_field: value}, if_match=read.version,
                              expected={self.required_field: read.fields[self.required_field]})

    def test_an_update_based_on_the_version_read_goes_through(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        if not connector.capabilities.update:
            self.check_update_refused(connector, remote)
            return
        # Made by a user of the remote, not by us: only the values say that nobody changed it
        # since, where versions are timestamps that the read shares with the change.
        [key] = self.seed(remote, 1)
        read = self.read_one(connector, key)
        [result] = connector.write(self.object_name, [self.based_on(read, "Ours")])
        assert result.ok, result.error
        assert self.read_one(connector, key).fields[self.required_field] == "Ours"

    def check_update_refused(self, connector: Connector, remote: RemoteControl) -> None:
        """``update`` False: repeating the values is UNCHANGED, a new value a FAILED result."""
        [key] = self.seed(remote, 1)
        read = self.read_one(connector, key)
        same = read.fields[self.required_field]
        results = connector.write(self.object_name, [
            self.based_on(read, same), self.based_on(read, self.sample(5)[self.required_field])])
        assert [r.status for r in results] == [WriteStatus.UNCHANGED, WriteStatus.FAILED]
        assert results[1].error is not None and results[1].error.kind is ErrorKind.VALIDATION
        assert self.read_one(connector, key).fields[self.required_field] == same

    def test_a_change_since_the_version_read_is_never_overwritten(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        if not connector.capabilities.update:
            pytest.skip("records cannot be changed once made")
        # The change may share the version read (a timestamp in the same second): CONFLICT all
        # the same, and their value stays.
        [key] = self.seed(remote, 1)
        read = self.read_one(connector, key)
        theirs = self.sample(5)[self.required_field]
        remote.edit(key, {self.required_field: theirs})
        [result] = connector.write(self.object_name, [self.based_on(read, "Ours")])
        assert result.status is WriteStatus.FAILED
        assert result.error is not None and result.error.kind is ErrorKind.CONFLICT
        assert self.read_one(connector, key).fields[self.required_field] == theirs

    def test_row_versions_change_on_every_write(self, connector: Connector) -> None:
        if not connector.capabilities.update:
            pytest.skip("records cannot be changed once made")
        if not connector.capabilities.row_versions:
            pytest.skip("versions are timestamps: the engine compares values")
        created = self.create(connector, 0)
        versions = [created.version]
        for value in ("First", "Second"):
            [result] = connector.write(
                self.object_name, [OutboundRecord("u", created.key, {self.required_field: value})])
            versions.append(result.version)
        versions.append(self.read_one(connector, created.key or "").version)
        assert None not in versions and len(set(versions[:3])) == 3
        assert versions[3] == versions[2], "a read reports the version the last write returned"

    def test_update_of_missing_record_is_not_found(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        key = self.create(connector, 0).key or ""
        remote.delete(key)
        [result] = connector.write(
            self.object_name, [OutboundRecord("u", key, {self.required_field: "Gone"})]
        )
        assert result.status is WriteStatus.FAILED
        assert result.error is not None and result.error.kind is ErrorKind.NOT_FOUND

    def test_delete_twice(self, connector: Connector) -> None:
        if not connector.capabilities.delete:
            pytest.skip("connector cannot delete")
        key = self.create(connector, 0).key
        delete = OutboundRecord("d", key, {}, op=Op.DELETE)
        [first] = connector.write(self.object_name, [delete])
        [second] = connector.write(self.object_name, [delete])
        assert first.status is WriteStatus.DELETED
        assert second.status is WriteStatus.UNCHANGED or (
            second.error is not None and second.error.kind is ErrorKind.NOT_FOUND)

    # -- lookup -----------------------------------------------------------------------------

    def test_lookup_is_case_insensitive(self, connector: Connector, remote: RemoteControl) -> None:
        field = self.search_field
        keys = remote.seed(
            [{**self.sample(i), field: f"Conformance-Value-{i}"} for i in range(3)]
        )
        found = connector.lookup(self.object_name, field, ["CONFORMANCE-VALUE-1", "nothing"])
        assert [c.key for c in found] == [keys[1]]
        assert found[0].op is Op.UPSERT

    def test_lookup_by_key_field(self, connector: Connector, remote: RemoteControl) -> None:
        keys = self.seed(remote, 3)
        key_field = connector.describe([self.object_name])[self.object_name].key_field
        found = connector.lookup(self.object_name, key_field, [keys[0], keys[2]])
        assert sorted(c.key for c in found) == sorted([keys[0], keys[2]])

    # -- errors and retries -----------------------------------------------------------------

    def test_transient_faults_are_retried(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        slept = remote.patch_sleep()
        remote.inject("transient", 2)
        connector.check()
        assert len(slept) == 2

    def test_rate_limited_waits_retry_after(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        slept = remote.patch_sleep()
        remote.inject("rate_limited", 1, retry_after=1)
        connector.check()
        assert slept == [1.0]

    def test_persistent_transient_raises_after_max_tries(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        slept = remote.patch_sleep()
        remote.inject("transient", 100)
        with pytest.raises(ConnectorError) as info:
            connector.check()
        assert info.value.kind is ErrorKind.TRANSIENT
        assert 1 <= len(slept) < 100

    def test_expired_session_is_refreshed_once(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        if not self.refreshes_auth:
            pytest.skip("connector has no session to refresh")
        remote.inject("auth_expired", 1)
        connector.check()
        remote.inject("auth_expired", 2)
        with pytest.raises(ConnectorError) as info:
            connector.check()
        assert info.value.kind is ErrorKind.AUTH

    # -- hygiene ----------------------------------------------------------------------------

    def test_secrets_never_shown(
        self,
        connector: Connector,
        remote: RemoteControl,
        bad_auth_connector: Connector | None,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        secrets = {k: str(v) for k, v in connector.config.items()
                   if k in connector.secret_keys and v}
        if not secrets:
            pytest.skip("no secrets configured")
        users = [str(connector.config[k]) for k in ("client_id", "username")
                 if connector.config.get(k)]
        shown: list[str] = [repr(connector), str(connector)]
        # Syncline's loggers may not propagate to the root (core.logs.configure): listen there.
        logger = logging.getLogger("syncline")
        logger.addHandler(caplog.handler)
        try:
            with caplog.at_level(logging.DEBUG, logger="syncline"):
                remote.patch_sleep()
                remote.inject("transient", 1)
                connector.check()
                broken = {k: v for k, v in self.sample(1).items() if k != self.required_field}
                failing = [OutboundRecord("x", None, broken)]
                for result in connector.write(self.object_name, failing):
                    shown += [str(result.error), repr(result.error), str(result.error.hint)]
                for bad in [bad_auth_connector] if bad_auth_connector else []:
                    with pytest.raises(ConnectorError) as info:
                        bad.check()
                    shown += [str(info.value), repr(info.value), str(info.value.hint), repr(bad)]
                if self.token_endpoint:
                    shown += self._echoed_token_request(connector, remote)
        finally:
            logger.removeHandler(caplog.handler)
        shown.append(caplog.text)
        shown += [repr(vars(record)) for record in caplog.records]
        places = {f"shown[{i}]": text for i, text in enumerate(shown)}
        pairs = [(user, secret) for user in users for secret in secrets.values()]
        found = leaks(places, secrets, pairs)
        assert not found, "\n".join(found)  # (not a test module: no assertion rewriting)

    def _echoed_token_request(self, connector: Connector, remote: RemoteControl) -> list[str]:
        """What a fresh connector shows when its token request is quoted back in the refusal."""
        fresh = type(connector)(connector.name, connector.config)
        # More than one: a connector may ask once more after an AUTH answer.
        remote.inject("echo_token_request", 3)
        try:
            with pytest.raises(ConnectorError) as info:
                fresh.check()
        finally:
            fresh.close()
        assert info.value.kind is ErrorKind.AUTH
        assert "upstream refused" in info.value.message, "the request was quoted back"
        return [str(info.value), repr(info.value), str(info.value.hint), repr(fresh)]

    def test_close_is_idempotent_and_context_manager_closes(self, connector: Connector) -> None:
        with connector as entered:
            assert entered is connector
            connector.check()
        connector.close()
        connector.close()

    def test_api_calls_count_every_call(
        self, connector: Connector, remote: RemoteControl
    ) -> None:
        self.seed(remote, 1)
        calls: Iterator[Any] = iter([
            lambda: connector.check(),
            lambda: connector.describe([self.object_name]),
            lambda: read_all(connector, self.object_name),
            lambda: connector.lookup(self.object_name, self.search_field, ["x"]),
            lambda: self.create(connector, 7),
        ])
        for call in calls:
            before = connector.api_calls
            call()
            assert connector.api_calls > before
