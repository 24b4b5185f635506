"""The one progress module: a callback protocol for the API, a renderer for the CLI.

API functions that run for more than a moment take ``progress=None`` and call
:func:`tick` (or the callback directly) once per finished unit of work::

    def run_something(..., progress: ProgressCallback | None = None):
        for m in widths:
            ...
            tick(progress, f"m={m}")

A :data:`ProgressCallback` is any callable ``progress(label="", advance=1)``; it
must not raise and must not print to stdout. The API never draws anything itself.

Commands draw with :class:`Bar`, a context manager over :mod:`rich.progress`
(imported only when a bar is actually drawn, so ``import bnbounds`` stays light)::

    from .._progress import Bar

    with Bar(total, "figure1", quiet=args.quiet) as bar:
        result = run_figure1(..., progress=bar)

The bar shows the label, ``done/total``, the elapsed time and an estimate of the
time left. It draws on stderr and only when stderr is a terminal and ``quiet`` is
false: in a log file or a pipe it writes nothing (no ``\\r`` frames, no ANSI codes).
``BNBOUNDS_PROGRESS=always`` draws in a pipe too, ``never`` nowhere.
:meth:`Bar.update` sets the absolute position and a free-text status (used by
``bnbounds train`` for the running risk).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, Any, Protocol

__all__ = ["Bar", "ProgressCallback", "tick"]


class ProgressCallback(Protocol):
    """``progress(label="", advance=1)``: one (or ``advance``) unit(s) of work done."""

    def __call__(self, label: str = "", advance: int = 1) -> None: ...


def tick(progress: Callable[..., None] | None, label: str = "", advance: int = 1):
    """Report ``advance`` finished units to ``progress`` (nothing when it is None)."""
    if progress is not None:
        if advance == 1:
            progress(label)
        else:
            progress(label, advance)


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class Bar:
    """A rich progress bar on stderr, drawn only on a terminal.

    Parameters
    ----------
    total : int or None
        Units of work expected (None: unknown, the bar shows a pulse and no estimate).
    title : str
        Shown before the bar, e.g. the command name.
    quiet : bool, optional
        Draw nothing (``--quiet``).
    stream : file, optional
        Where to draw (default ``sys.stderr``).
    force : bool or None, optional
        Draw even when ``stream`` is not a terminal (True) or never (False); default:
        the environment variable ``BNBOUNDS_PROGRESS`` (``always`` / ``never``), else
        only on a TTY.

    Notes
    -----
    Calling the bar (``bar(label)``) is the :data:`ProgressCallback` protocol. A
    disabled bar accepts every call and does nothing, so callers never branch.
    """

    def __init__(
        self,
        total: int | None,
        title: str = "",
        *,
        quiet: bool = False,
        stream: IO[str] | None = None,
        force: bool | None = None,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.total = None if total is None else max(int(total), 1)
        self.title = title
        if force is None:
            env = os.environ.get("BNBOUNDS_PROGRESS", "").strip().lower()
            force = {"always": True, "1": True, "never": False, "0": False}.get(env)
        self.enabled = (not quiet) and (
            _is_tty(self.stream) if force is None else bool(force)
        )
        self.done = 0
        self._progress: Any = None
        self._task: Any = None

    # -- context manager ---------------------------------------------------------
    def __enter__(self) -> Bar:
        return self.start()

    def start(self) -> Bar:
        """Start drawing (idempotent); ``with Bar(...)`` calls it."""
        if self.enabled and self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream, force_terminal=True, width=100)
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=console,
                transient=False,
                refresh_per_second=5,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.title, total=self.total, status=""
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing (idempotent); the last frame stays on the terminal."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # -- the callback protocol -------------------------------------------------------
    def __call__(self, label: str = "", advance: int = 1) -> None:
        self.done += advance
        if self._progress is not None:
            self._progress.update(self._task, advance=advance, status=label)

    def update(self, completed: int | None = None, status: str | None = None) -> None:
        """Set the absolute position and/or the status text."""
        if completed is not None:
            self.done = int(completed)
        if self._progress is not None:
            kw: dict[str, Any] = {}
            if completed is not None:
                kw["completed"] = int(completed)
            if status is not None:
                kw["status"] = status
            self._progress.update(self._task, **kw)
