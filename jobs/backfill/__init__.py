"""Backfills: a mapping's changed field rows sent to (and read from) every linked record.

A field row added to a mapping, or one whose transform, value map, default or rule changed,
would otherwise reach only the records that change later. Each cycle compares the rows'
fingerprints (:mod:`jobs.backfill.fingerprint`) with those stored after the last complete
backfill, adds the resyncs admins asked for (:mod:`jobs.backfill.scope`), and the backfill
phases (:mod:`jobs.backfill.phases`) carry exactly those fields for every linked record, in
pages big enough for the remote's bulk path.
"""
