"""Saving a mapping file: the atomic write, its revision, its audit entry, and the history.

Every save records the file's full new text and the diff from the old one. When the file on
disk is not the text of its latest revision (the first save from the dashboard, or an edit by
hand since), that text is recorded first as an ``import`` revision, so there is always a
revision to go back to from before the change.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session, col, select

from core.clock import utcnow
from core.models import Audit, MappingRevision
from dashboard.mappings.catalog import text_digest
from dashboard.mappings.editor import diff_counts, unified_diff

#: Revisions listed on the history page (older ones stay in the table).
HISTORY_LIMIT = 200


class ChangedOnDisk(Exception):  # noqa: N818 - a condition, named for what happened
    """The file is not the text the editor was opened on: someone saved in between."""


def revisions(db: Session, name: str, limit: int = HISTORY_LIMIT) -> list[MappingRevision]:
    """Revisions of mapping ``name``, newest first."""
    statement = (
        select(MappingRevision)
        .where(MappingRevision.mapping == name)
        .order_by(col(MappingRevision.at).desc(), col(MappingRevision.id).desc())
        .limit(limit)
    )
    return list(db.exec(statement))


def latest(db: Session, name: str) -> MappingRevision | None:
    """The newest revision of ``name``, if any."""
    found = revisions(db, name, limit=1)
    return found[0] if found else None


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialise saves into one folder across processes (flock on the directory itself)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: readers see the old file or the new one."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    # A dot name: the loader skips it, so nothing ever loads a half-written file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(
    db: Session,
    *,
    name: str,
    path: Path,
    file: str,
    new_text: str,
    base_digest: str,
    actor: str,
    action: str,
    detail: dict[str, object] | None = None,
) -> MappingRevision:
    """Write ``new_text`` over ``path`` if it still hashes to ``base_digest``; record it.

    Raises :class:`ChangedOnDisk` (nothing written) when the file changed since the editor
    read it. The file is written before the database commits; if the commit fails the old
    text is put back, so a file change never goes unrecorded.
    """
    file = file[-255:]  # the column's width; the end of a long path is the part that tells
    with _folder_lock(path.parent):
        old_text = path.read_text(encoding="utf-8")
        if text_digest(old_text) != base_digest:
            raise ChangedOnDisk(file)
        now = utcnow()
        previous = latest(db, name)
        if previous is None or previous.text != old_text:
            db.add(MappingRevision(
                mapping=name, file=file, at=now, actor=actor, action="import", text=old_text,
                diff=unified_diff(previous.text, old_text, file) if previous else "",
            ))
        diff = unified_diff(old_text, new_text, file)
        revision = MappingRevision(
            mapping=name, file=file, at=now, actor=actor, action=action, text=new_text, diff=diff
        )
        db.add(revision)
        db.flush()
        added, removed = diff_counts(diff)
        db.add(Audit(
            at=now, actor=actor, action=f"mapping.{action}", target=name,
            detail={"file": file, "revision": revision.id, "lines_added": added,
                    "lines_removed": removed, **(detail or {})},
        ))
        write_atomically(path, new_text)
        try:
            db.commit()
        except BaseException:
            write_atomically(path, old_text)
            raise
        db.refresh(revision)
        return revision
