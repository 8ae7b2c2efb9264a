"""Cooperative shutdown for the thread running a cycle: waits that end early, safe points.

The scheduler binds its stop event to each cycle's thread. Connectors call :func:`checkpoint`
before every remote call and :func:`sleep` for every wait (retry backoff, Bulk job polls), so a
cycle asked to stop leaves at the next call instead of finishing a page or an hour-long wait.
Stopping there is safe: a page's hub rows, links and cursor commit together, so a page that
was not committed is simply read or pushed again by the next cycle, and every remote write it
repeats is an idempotent upsert.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class ShutdownRequested(BaseException):  # noqa: N818 - a signal to unwind, like KeyboardInterrupt
    """The process is stopping: abandon the page in hand (nothing of it was committed).

    A BaseException, so that no ``except Exception`` on the way mistakes it for a failure of
    the record or the call being worked on.
    """


_local = threading.local()


@contextmanager
def bound(stopping: threading.Event | None) -> Iterator[None]:
    """Make ``stopping`` the stop event of the calling thread while the block runs."""
    previous = getattr(_local, "event", None)
    _local.event = stopping
    try:
        yield
    finally:
        _local.event = previous


def requested() -> bool:
    """True once the calling thread's stop event is set."""
    event: threading.Event | None = getattr(_local, "event", None)
    return event is not None and event.is_set()


def checkpoint() -> None:
    """A safe point: raise ShutdownRequested if the process is stopping."""
    if requested():
        raise ShutdownRequested


def sleep(seconds: float) -> None:
    """``time.sleep`` that ends with ShutdownRequested as soon as the process starts stopping."""
    event: threading.Event | None = getattr(_local, "event", None)
    if event is None:
        time.sleep(seconds)
        return
    if event.wait(max(seconds, 0.0)):
        raise ShutdownRequested
