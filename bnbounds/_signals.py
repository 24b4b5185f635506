"""SIGTERM handled like SIGINT by the command line.

``timeout``, batch schedulers and container runtimes stop a process with SIGTERM;
Python's default is to die on the spot, losing a run that Ctrl-C (SIGINT) would have
saved. :func:`terminate_like_interrupt` installs a handler that raises
:class:`KeyboardInterrupt` (so the training loops stop at their next check and return
the partial run, exactly as for Ctrl-C) and remembers the signal, so the command
exits with ``128 + 15 = 143`` instead of 130. Only :mod:`bnbounds.cli` installs it:
the library never changes a process's signal handlers by itself.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_received: list[int] = []


def _handler(signum: int, frame: object) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def terminate_like_interrupt() -> None:
    """Make SIGTERM raise KeyboardInterrupt in the main thread (CLI only)."""
    _received.clear()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _handler)


def interrupt_exit_code() -> int:
    """130 after SIGINT (Ctrl-C), 143 after SIGTERM."""
    return 128 + (_received[-1] if _received else signal.SIGINT)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block (delivered after it), main thread only.

    Used around the renames that put a set of output files in place, so a signal
    cannot leave half of a new set beside half of an old one.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
