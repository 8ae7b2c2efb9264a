"""One bad field does not block the record: a batch's refused records go again without it.

A CRM that refuses a record for one field of its own (a value its restricted picklist lacks,
a text too long, an address that is none, a read-only field, a number that is no number)
names the field (``WriteResult.refused``). Those records are resent once, all of them in one
batch, without the refused fields: one extra call per batch, never one per record. Each
result then says which fields were left out and why, so the engine records a field-level
error for each and keeps them out of the snapshot until the value or the mapping changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from connectors.base import Connector, Op, OutboundRecord, WriteResult, WriteStatus
from mappings.spec import OnFieldError


def write_dropping_refused(
    connector: Connector,
    object_name: str,
    records: Sequence[OutboundRecord],
    *,
    on_field_error: OnFieldError = "skip_field",
) -> list[WriteResult]:
    """Write ``records``; resend once, in one batch, those refused only for named fields.

    One result per input, in input order. A resent record that goes through has the fields
    left out in ``refused``; one that fails again keeps its new failure, naming what both
    attempts refused when only fields were refused again. An update left with nothing to
    write is not resent: it is UNCHANGED, with its refused fields. A create left with
    nothing, or refused a field it does not send itself (its external id), stays failed.
    ``if_match`` and ``expected`` go along: the first attempt changed nothing of a refused
    record, so the version it is based on holds (the version an UNCHANGED one reports).
    ``on_field_error="fail_record"`` writes once and leaves every refusal a failure.
    """
    results = connector.write(object_name, records)
    if on_field_error == "fail_record":
        return results
    resend: list[tuple[int, OutboundRecord]] = []
    for index, (record, result) in enumerate(zip(records, results, strict=True)):
        retry = _without_refused(record, result)
        if retry is None:
            continue
        if retry.fields:
            resend.append((index, retry))
        elif record.key is not None:
            results[index] = WriteResult(record.ref, WriteStatus.UNCHANGED, record.key,
                                         record.if_match, refused=result.refused)
    if not resend:
        return results
    again = connector.write(object_name, [record for _, record in resend])
    for (index, _), second in zip(resend, again, strict=True):
        first = results[index]
        if second.ok:
            results[index] = replace(second, refused=first.refused)
        elif second.refused:
            results[index] = replace(second, refused=first.refused + second.refused)
        else:
            results[index] = second
    return results


def _without_refused(record: OutboundRecord, result: WriteResult) -> OutboundRecord | None:
    """``record`` without its refused fields; None when dropping them cannot help it."""
    if result.ok or not result.refused or record.op is Op.DELETE:
        return None
    refused = set(result.refused_fields)
    if not refused <= set(record.fields):
        return None
    fields = {name: value for name, value in record.fields.items() if name not in refused}
    expected = record.expected
    if expected is not None:
        expected = {name: value for name, value in expected.items() if name not in refused}
    return replace(record, fields=fields, expected=expected)
