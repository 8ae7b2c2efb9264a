"""Org: the emulated org's records, with system fields, validation, savepoints and merge/convert."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sandboxes.salesforce import conversion, influence
from sandboxes.salesforce.config import SandboxConfig
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.ids import KEY_PREFIXES, IdMinter, is_valid, object_of, to18
from sandboxes.salesforce.recycle import DeleteLog
from sandboxes.salesforce.schema import ObjectMeta, Schema
from sandboxes.salesforce.standard_objects import (
    DEFAULT_CAMPAIGN_MEMBER_STATUSES,
    STAGE_BY_NAME,
)
from sandboxes.salesforce.store import RecordStore
from sandboxes.salesforce.validation import (
    check_fields,
    format_datetime,
    raise_problems,
    rule_problems,
)

_NOT_FOUND = "The requested resource does not exist"


@dataclass(frozen=True)
class OrgUser:
    """A user of the org (from the config) and the id its User record got."""

    user_id: str
    username: str
    email: str
    first_name: str
    last_name: str
    password: str | None
    security_token: str


class Org:
    """The records of one emulated org; every public method is atomic and thread-safe."""

    def __init__(
        self, config: SandboxConfig | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.config = config if config is not None else SandboxConfig.load()
        if not self.config.users:
            raise self.config.error("users", "at least one user (the integration user) is required")
        self.schema = Schema(self.config)
        self._clock = clock or (lambda: datetime.now(UTC))
        # One re-entrant lock: savepoints and conversions call the public methods again.
        self.lock = threading.RLock()
        self.minter = IdMinter()
        self.store = RecordStore(self.schema, list(self.config.duplicate_rules))
        #: Deletions whose records left the Recycle Bin (recycle.py): getDeleted lists them.
        self.delete_log = DeleteLog()
        self._tables = self.store.tables
        self._last_stamp = datetime.min.replace(tzinfo=UTC)
        self._rules = {
            name: [rule for rule in self.config.validation_rules if rule.object == name]
            for name in self.schema.objects
        }
        self.organization_id = self.minter.mint(KEY_PREFIXES["Organization"])
        self.users: list[OrgUser] = [self._add_user(user) for user in self.config.users]
        self.default_owner_id = self.users[0].user_id
        #: Off only while loading data that predates the duplicate rules (demo seeds, imports).
        self.duplicate_rules_on = True
        influence.seed_primary_model(self)

    # ------------------------------------------------------------------ metadata

    def describe(self, sobject: str, version: str | None = None) -> dict:
        """The describe JSON of `sobject`; unknown → NOT_FOUND (404)."""
        return self.schema.describe(sobject, version)

    def describe_global(self, version: str | None = None) -> dict:
        """The global describe JSON (`GET /sobjects/`)."""
        return self.schema.describe_global(version)

    # ------------------------------------------------------------------ reads

    def rows(self, sobject: str, include_deleted: bool = False) -> Iterable[dict]:
        """A snapshot of `sobject`'s rows (stored dicts: read them, never change them)."""
        meta = self.schema.get(sobject)
        with self.lock:
            table = list(self._tables[meta.name].values())
        if include_deleted:
            return table
        return [row for row in table if not row["IsDeleted"]]

    def by_id(self, record_id: str) -> tuple[str, dict] | None:
        """(sobject, row) for any id, deleted rows included; None when unknown or malformed."""
        if not is_valid(record_id):
            return None
        record_id = to18(record_id)
        sobject = object_of(record_id)
        if sobject is None or sobject not in self._tables:
            return None
        row = self._tables[sobject].get(record_id)
        return (sobject, row) if row is not None else None

    def get(self, sobject: str, record_id: str, fields: Iterable[str] | None = None) -> dict:
        """A copy of a live record (only `fields` when given); deleted/unknown → 404."""
        meta = self.schema.get(sobject)
        with self.lock:
            if not is_valid(record_id) or record_id[:3] != meta.key_prefix:
                raise SalesforceError("NOT_FOUND", _NOT_FOUND, status=404)
            row = self._tables[meta.name].get(to18(record_id))
            if row is None:
                raise SalesforceError("NOT_FOUND", _NOT_FOUND, status=404)
            if row["IsDeleted"]:
                raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", status=404)
            if fields is None:
                return dict(row)
            if isinstance(fields, str):
                fields = [name for name in fields.split(",") if name.strip()]
            picked = {}
            for name in fields:
                field_meta = meta.field(name.strip())
                if field_meta is None:
                    raise SalesforceError(
                        "INVALID_FIELD",
                        f"No such column '{name.strip()}' on entity '{meta.name}'. If you are "
                        "attempting to use a custom field, be sure to append the '__c' after the "
                        "custom field name. Please reference your WSDL or the describe call for "
                        "the appropriate names.",
                    )
                picked[field_meta.name] = row[field_meta.name]
            return picked

    def match_ids(self, sobject: str, ext_field: str, value: Any) -> list[str]:
        """Ids of live records whose external-id field `ext_field` equals `value` (indexed)."""
        meta = self.schema.get(sobject)
        field_meta = meta.field(ext_field)
        if field_meta is None or not field_meta.external_id:
            return []
        with self.lock:
            key = self.store.ext_key(field_meta, value)
            return sorted(self.store.external.get((meta.name, field_meta.name), {}).get(key, ()))

    # ------------------------------------------------------------------ writes

    def insert(self, sobject: str, fields: Mapping[str, Any], *, user_id: str | None = None) -> str:
        """Create a record from API JSON values; returns its 18-character id."""
        meta = self.schema.get(sobject)
        if not meta.createable:
            raise _read_only_object(meta)
        with self.savepoint():
            return self._create(meta, fields, user_id or self.default_owner_id)

    def update(
        self,
        sobject: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        user_id: str | None = None,
    ) -> None:
        """Change a live record (only the given fields)."""
        meta = self.schema.get(sobject)
        if not meta.updateable:
            raise _read_only_object(meta)
        with self.savepoint():
            row = self._live_row(meta, record_id)
            self._change(meta, row, dict(fields), user_id or self.default_owner_id)

    def upsert(
        self,
        sobject: str,
        ext_field: str,
        value: Any,
        fields: Mapping[str, Any],
        *,
        user_id: str | None = None,
    ) -> tuple[str, bool]:
        """Update the record whose `ext_field` is `value`, or create it: (id, created)."""
        meta = self.schema.get(sobject)
        field_meta = meta.field(ext_field)
        if field_meta is None or not (field_meta.external_id or field_meta.name == "Id"):
            raise SalesforceError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {ext_field}",
                status=404,
            )
        fields = dict(fields)
        for name in list(fields):
            if name.lower() == "id" and field_meta.name != "Id":
                raise SalesforceError(
                    "INVALID_FIELD", "The Id field should not be specified in the sobject data."
                )
            if name.lower() == field_meta.name.lower():
                # Collections upserts carry the key in the record; it must agree with `value`.
                if self.store.ext_key(field_meta, fields[name]) != self.store.ext_key(
                    field_meta, value
                ):
                    raise SalesforceError(
                        "INVALID_FIELD",
                        f"The value of {field_meta.name} in the sobject data does not match the "
                        f"external ID: {value}",
                        [field_meta.name],
                    )
                del fields[name]
        if value is None or value == "":
            raise SalesforceError(
                "MISSING_ARGUMENT", f"{field_meta.name} not specified", [field_meta.name]
            )
        if field_meta.name == "Id":
            self.update(meta.name, value, fields, user_id=user_id)
            return to18(value), False
        with self.savepoint():
            matches = self.match_ids(meta.name, field_meta.name, value)
            if len(matches) > 1:
                raise SalesforceError(
                    "MULTIPLE_RECORDS",
                    f"Multiple records found for {field_meta.name} = {value}: "
                    + ", ".join(matches),
                    status=300,
                )
            if matches:
                self.update(meta.name, matches[0], fields, user_id=user_id)
                return matches[0], False
            fields[field_meta.name] = value
            return self.insert(meta.name, fields, user_id=user_id), True

    def delete(self, sobject: str, record_id: str, *, user_id: str | None = None) -> None:
        """Soft-delete a record (Recycle Bin: it stays for queryAll), cascading to children."""
        meta = self.schema.get(sobject)
        if not meta.deletable:
            raise SalesforceError(
                "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"
            )
        with self.savepoint():
            row = self._live_row(meta, record_id)
            self._soft_delete(meta, row, user_id or self.default_owner_id)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """All-or-nothing: an exception inside undoes every change made inside (nestable)."""
        with self.lock:
            self.store.begin()
            try:
                yield
            except BaseException:
                self.store.abort()
                raise
            self.store.commit()

    def convert_lead(
        self,
        lead_id: str,
        *,
        account_id: str | None = None,
        contact_id: str | None = None,
        do_not_create_opportunity: bool = False,
        converted_status: str | None = None,
        user_id: str | None = None,
    ) -> dict:
        """Convert a lead: {"accountId", "contactId", "opportunityId" | None}."""
        with self.savepoint():
            return conversion.convert_lead(
                self,
                lead_id,
                account_id=account_id,
                contact_id=contact_id,
                do_not_create_opportunity=do_not_create_opportunity,
                converted_status=converted_status,
                user_id=user_id or self.default_owner_id,
            )

    def merge(
        self,
        sobject: str,
        master_id: str,
        loser_ids: Iterable[str],
        *,
        user_id: str | None = None,
    ) -> None:
        """Merge up to two records into `master_id` (Lead, Contact, Account)."""
        with self.savepoint():
            conversion.merge(
                self, sobject, master_id, list(loser_ids), user_id or self.default_owner_id
            )

    def now(self) -> datetime:
        """The org clock (UTC)."""
        moment = self._clock()
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    def today(self) -> date:
        """Today's date on the org clock (UTC)."""
        return self.now().date()

    def bump_clock(self, moment: datetime) -> None:
        """Never stamp earlier than ``moment`` (records loaded from a saved state)."""
        self._last_stamp = max(self._last_stamp, moment)

    # ------------------------------------------------------------------ internals

    def _stamp(self) -> str:
        """The next SystemModstamp: the clock in whole seconds (as in Salesforce), never earlier."""
        moment = self.now().replace(microsecond=0)
        if moment < self._last_stamp:
            moment = self._last_stamp
        self._last_stamp = moment
        return format_datetime(moment)

    def _live_row(self, meta: ObjectMeta, record_id: str) -> dict:
        if not is_valid(record_id) or record_id[:3] != meta.key_prefix:
            raise SalesforceError(
                "MALFORMED_ID", f"{meta.label} ID: id value of incorrect type: {record_id}", ["Id"]
            )
        row = self._tables[meta.name].get(to18(record_id))
        if row is None:
            raise SalesforceError("NOT_FOUND", _NOT_FOUND, status=404)
        if row["IsDeleted"]:
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", status=404)
        return row

    def _blank_row(self, meta: ObjectMeta, user_id: str) -> dict:
        row: dict[str, Any] = {}
        for name, field_meta in meta.fields.items():
            if field_meta.type == "boolean":
                row[name] = bool(field_meta.default_value)
            elif field_meta.default_picklist_value is not None and field_meta.defaulted_on_create:
                row[name] = field_meta.default_picklist_value
            elif field_meta.default_value is not None:
                row[name] = field_meta.default_value
            else:
                row[name] = None
        if meta.has_owner:
            row["OwnerId"] = user_id
        return row

    def _create(
        self, meta: ObjectMeta, fields: Mapping[str, Any], user_id: str, *, system: bool = False
    ) -> str:
        blank = self._blank_row(meta, user_id)
        values, problems = check_fields(
            meta, fields, blank, creating=True, resolve=self.by_id, system=system
        )
        raise_problems(problems)
        row = {**blank, **values}
        record_id = self.minter.mint(meta.key_prefix)
        stamp = self._stamp()
        row.update(
            Id=record_id,
            IsDeleted=False,
            CreatedDate=stamp,
            CreatedById=user_id,
            LastModifiedDate=stamp,
            LastModifiedById=user_id,
            SystemModstamp=stamp,
        )
        self._derive(meta, row, None, values)
        self._check_rules(meta, row, None, creating=True)
        self.store.write(meta.name, record_id, row)
        self._after_write(meta, None, row)
        return record_id

    def _change(
        self,
        meta: ObjectMeta,
        old: dict,
        fields: Mapping[str, Any],
        user_id: str,
        *,
        system: bool = False,
    ) -> dict:
        if meta.name == "Lead" and old["IsConverted"] and not system:
            raise SalesforceError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        values, problems = check_fields(
            meta, fields, old, creating=False, resolve=self.by_id, system=system
        )
        raise_problems(problems)
        row = {**old, **values}
        stamp = self._stamp()
        row.update(LastModifiedDate=stamp, LastModifiedById=user_id, SystemModstamp=stamp)
        self._derive(meta, row, old, values)
        if not system:  # conversion and merge bypass rules, as the platform's own writes do
            self._check_rules(meta, row, old, creating=False)
        self.store.write(meta.name, row["Id"], row)
        self._after_write(meta, old, row)
        return row

    def _touch(self, meta: ObjectMeta, row: dict, user_id: str) -> dict:
        """Bump a row's modstamps without changing data (conversion, merge, reparenting)."""
        return self._change(meta, row, {}, user_id, system=True)

    def _soft_delete(self, meta: ObjectMeta, row: dict, user_id: str) -> None:
        # Children first: deleting an Account takes its Contacts and Opportunities along.
        for child_sobject, child_id in sorted(self.store.children.get(row["Id"], ())):
            child = self._tables[child_sobject].get(child_id)
            if child is not None and not child["IsDeleted"]:
                self._soft_delete(self.schema.objects[child_sobject], child, user_id)
        stamp = self._stamp()
        deleted = {
            **row,
            "IsDeleted": True,
            "LastModifiedDate": stamp,
            "LastModifiedById": user_id,
            "SystemModstamp": stamp,
        }
        self.store.write(meta.name, row["Id"], deleted)
        self._after_write(meta, row, deleted)

    def _derive(self, meta: ObjectMeta, row: dict, old: dict | None, values: dict) -> None:
        """Fields the platform computes from others (names, stage, campaign member status)."""
        if meta.name in ("Lead", "Contact", "User"):
            row["Name"] = " ".join(
                part for part in (row.get("FirstName"), row.get("LastName")) if part
            )
        elif meta.name == "Opportunity":
            _derive_stage(row, old, values)
        elif meta.name == "CampaignMember":
            self._derive_member(row, old, values)
        else:
            influence.derive(self, meta.name, row, old, values)

    def _derive_member(self, row: dict, old: dict | None, values: dict) -> None:
        if old is None and row["LeadId"] is None and row["ContactId"] is None:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [LeadId, ContactId]",
                ["LeadId", "ContactId"],
            )
        statuses = self._campaign_statuses(row["CampaignId"])
        if old is None or row["Status"] != old["Status"]:
            if row["Status"] is None or (old is None and values.get("Status") is None):
                # Not given: the campaign's default status.
                default = next((s for s in statuses if s["IsDefault"]), None)
                row["Status"] = default["Label"] if default else row["Status"]
            status = next((s for s in statuses if s["Label"] == row["Status"]), None)
            if status is None:
                raise SalesforceError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Status: bad value for restricted picklist field: {row['Status']}",
                    ["Status"],
                )
            row["HasResponded"] = bool(status["HasResponded"])
            if row["HasResponded"] and row["FirstRespondedDate"] is None:
                row["FirstRespondedDate"] = self.today().isoformat()
        row["LeadOrContactId"] = row["ContactId"] or row["LeadId"]
        if old is None:
            for person in (row["LeadId"], row["ContactId"]):
                if person is not None and (row["CampaignId"], person) in self.store.members:
                    raise SalesforceError("DUPLICATE_VALUE", "Already a campaign member.")

    def _campaign_statuses(self, campaign_id: str) -> list[dict]:
        table = self._tables["CampaignMemberStatus"]
        rows = [
            table[child_id]
            for sobject, child_id in self.store.children.get(campaign_id, ())
            if sobject == "CampaignMemberStatus"
        ]
        return sorted(
            (row for row in rows if not row["IsDeleted"]), key=lambda r: r["SortOrder"] or 0
        )

    def _check_rules(self, meta: ObjectMeta, row: dict, old: dict | None, creating: bool) -> None:
        raise_problems(rule_problems(self._rules[meta.name], row, meta))
        for rule in self.store.duplicate_rules[meta.name] if self.duplicate_rules_on else ():
            if rule.action != "block" or not (rule.on_insert if creating else rule.on_update):
                continue
            key = self.store.duplicate_key(meta, rule, row)
            if key is not None and self.store.duplicates.get((meta.name, rule.name), {}).get(
                key, set()
            ) - {row["Id"]}:
                raise SalesforceError("DUPLICATES_DETECTED", "Use one of these records?")
        for name in meta.unique_fields:
            if row[name] is None:
                continue
            key = self.store.ext_key(meta.fields[name], row[name])
            others = self.store.external.get((meta.name, name), {}).get(key, set()) - {row["Id"]}
            if others:
                raise SalesforceError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {name} duplicates value on record with id: "
                    f"{min(others)}",
                )

    def _after_write(self, meta: ObjectMeta, old: dict | None, new: dict) -> None:
        """Side effects: default member statuses for new campaigns, campaign roll-ups."""
        if meta.name == "Campaign" and old is None:
            for label, is_default, responded, order in DEFAULT_CAMPAIGN_MEMBER_STATUSES:
                self._create(
                    self.schema.objects["CampaignMemberStatus"],
                    {
                        "CampaignId": new["Id"],
                        "Label": label,
                        "IsDefault": is_default,
                        "HasResponded": responded,
                        "SortOrder": order,
                    },
                    new["CreatedById"],
                )
        elif meta.name == "CampaignMember":
            self._roll_up(old, new)
        # Campaign influence and contact roles (revenue shares, primary flags, recalculation).
        influence.after_write(self, meta.name, old, new, new["LastModifiedById"])

    def _roll_up(self, old: dict | None, new: dict) -> None:
        """Keep the campaign's member counts in step (incrementally: O(1) per member write)."""
        delta = _contribution(new)
        if old is not None:
            delta = {key: value - _contribution(old)[key] for key, value in delta.items()}
        if not any(delta.values()):
            return
        campaign = self._tables["Campaign"].get(new["CampaignId"])
        if campaign is None:
            return
        # Roll-ups change without a new SystemModstamp, like formula/summary fields.
        updated = {key: (campaign[key] or 0) + delta.get(key, 0) for key in delta}
        self.store.write("Campaign", campaign["Id"], {**campaign, **updated})

    def _add_user(self, user: Any) -> OrgUser:
        user_id = self.minter.mint(KEY_PREFIXES["User"])
        stamp = self._stamp()
        meta = self.schema.objects["User"]
        row = self._blank_row(meta, user_id)
        row.update(
            Id=user_id,
            Username=user.username,
            Email=user.email,
            FirstName=user.first_name or None,
            LastName=user.last_name,
            Name=" ".join(part for part in (user.first_name, user.last_name) if part),
            Alias=(user.first_name[:1] + user.last_name)[:8].lower(),
            IsActive=True,
            CreatedDate=stamp,
            CreatedById=user_id,
            LastModifiedDate=stamp,
            LastModifiedById=user_id,
            SystemModstamp=stamp,
        )
        self.store.write("User", user_id, row)
        return OrgUser(
            user_id=user_id,
            username=user.username,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            password=user.password,
            security_token=user.security_token,
        )


def _read_only_object(meta: ObjectMeta) -> SalesforceError:
    return SalesforceError(
        "INSUFFICIENT_ACCESS_OR_READONLY",
        f"You do not have the level of access necessary to perform the operation you "
        f"requested on {meta.name}.",
    )


def _derive_stage(row: dict, old: dict | None, values: dict) -> None:
    """IsClosed, IsWon, Probability and forecast category follow the stage."""
    stage = STAGE_BY_NAME.get(row["StageName"] or "")
    stage_changed = old is None or old["StageName"] != row["StageName"]
    if stage is not None:
        row["IsClosed"] = stage.closed
        row["IsWon"] = stage.won
        if stage_changed and "Probability" not in values:
            row["Probability"] = float(stage.probability)
        if stage_changed and "ForecastCategoryName" not in values:
            row["ForecastCategoryName"] = stage.forecast_category
    amount, probability = row.get("Amount"), row.get("Probability")
    row["ExpectedRevenue"] = (
        round(amount * probability / 100, 2) if amount is not None and probability is not None
        else None
    )  # fmt: skip


def _contribution(member: dict) -> dict[str, int]:
    """What one campaign member adds to its campaign's roll-up counts."""
    live = not member["IsDeleted"]
    lead, contact = member["LeadId"] is not None, member["ContactId"] is not None
    return {
        "NumberOfLeads": int(live and lead),
        "NumberOfConvertedLeads": int(live and lead and contact),
        "NumberOfContacts": int(live and contact),
        "NumberOfResponses": int(live and bool(member["HasResponded"])),
    }
