"""The presentation layer of the commands: tables, math, numbers, JSON, on rich.

Every command renders through this module, so all output follows one policy:

- **Width.** Text output is at most :data:`MAX_WIDTH` (100) columns, on a terminal
  and in a log file alike: table cells wrap (long prose folds onto continuation
  lines); full detail is in ``--json``.
- **Plain in logs.** Colour and bold only on a terminal; in a pipe or a file the
  output is plain ASCII with no ANSI codes. No line ends in a space.
- **Math for people.** :func:`math` renders SymPy (relations, sets, intervals,
  unions, the empty set) as the paper writes it (``eps_N in (0, 2)``,
  ``m >= 2^29 eps_N^3 ln^(3/2)(5 n t/delta)/gamma^2``); :func:`num` writes numbers
  in engineering notation (``62.8e15``). Never ``repr`` a SymPy object in text.
- **JSON numbers are numbers.** :func:`dump_json` writes infinities as ``null``
  plus a ``<key>_nonfinite`` flag (:func:`bnbounds._json.dumps`), never ``"inf"``.

Use from a command::

    from . import _ui

    out = _ui.Output()                      # stdout, width <= 100
    out.table(["claim", "verdict"], rows, title="Lemma checks",
              justify=["left", "left"])
    out.line(f"m >= {_ui.math(expr)} (off by a factor {_ui.num(q)})")
    out.wrapped("a long note that wraps at 100 columns", indent=2)

Why rich: it is well kept, already handles terminal detection, wrapping of table
cells to a width and progress bars with an estimate (see :mod:`bnbounds._progress`),
and it is imported only by the commands, never by ``import bnbounds``.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from typing import IO, Any

from .._printing import eng, plain, region

__all__ = [
    "MAX_WIDTH",
    "Output",
    "dump_json",
    "math",
    "num",
    "region",
    "strip_trailing",
]

#: The widest line any command writes (a terminal narrower than this gets its width).
MAX_WIDTH = 100

_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def num(x: Any, digits: int = 4) -> str:
    """A number for people: engineering notation, ``-`` for None, ``inf``, ``nan``."""
    return eng(x, digits)


def math(x: Any) -> str:
    """A SymPy expression, relation or set as plain text (never a SymPy repr)."""
    return plain(x)


def strip_trailing(text: str) -> str:
    """Remove spaces at the end of every line (keeping ANSI resets)."""
    return _TRAILING.sub(r"\1", text)


def _ascii_box():
    from rich.box import Box

    # A header rule of dashes and nothing else (rich's SIMPLE_HEAD, in ASCII).
    return Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


class Output:
    """Where a command writes for people: stdout, at most :data:`MAX_WIDTH` columns.

    Parameters
    ----------
    file : file, optional
        Default ``sys.stdout``.
    width : int, optional
        Default: the terminal's width capped at :data:`MAX_WIDTH`, or
        :data:`MAX_WIDTH` when ``file`` is not a terminal.
    """

    def __init__(self, file: IO[str] | None = None, width: int | None = None) -> None:
        from rich.console import Console

        self.file = sys.stdout if file is None else file
        probe = Console(file=self.file, highlight=False, markup=False, emoji=False)
        self.is_terminal = probe.is_terminal
        if width is None:
            width = min(probe.width, MAX_WIDTH) if self.is_terminal else MAX_WIDTH
        self.width = int(width)
        self.console = Console(
            file=self.file,
            width=self.width,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=False,
            force_terminal=self.is_terminal,
            no_color=not self.is_terminal,
        )

    # -- low level ---------------------------------------------------------------
    def render(self, renderable: Any) -> str:
        """The text of ``renderable`` as it would be printed (no trailing spaces)."""
        with self.console.capture() as cap:
            self.console.print(renderable)
        return strip_trailing(cap.get())

    def write(self, text: str) -> None:
        self.file.write(text)
        self.file.flush()

    # -- what commands use -----------------------------------------------------------
    def line(self, text: str = "") -> None:
        """One line as is (the caller keeps it under the width; trailing spaces go)."""
        self.write(strip_trailing(text) + "\n")

    def wrapped(self, text: str, indent: int = 0, hanging: int = 2) -> None:
        """A paragraph wrapped at the width: first line at ``indent``, then deeper."""
        lines = textwrap.wrap(
            text,
            width=self.width,
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + hanging),
            break_on_hyphens=False,
            break_long_words=True,
        )
        self.write("".join(line.rstrip() + "\n" for line in lines) or "\n")

    def heading(self, text: str) -> None:
        """A section title (bold on a terminal), wrapped at the width."""
        from rich.text import Text

        if self.is_terminal:
            self.write(self.render(Text(text, style="bold")))
        else:
            self.wrapped(text)

    def table(
        self,
        header: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        title: str | None = None,
        justify: Sequence[str] | None = None,
        no_wrap: Sequence[bool] | None = None,
        indent: int = 0,
    ) -> None:
        """A table that fits the width: columns wrap where they must.

        ``rows`` hold strings (or numbers, formatted by :func:`num`). ``justify``:
        ``"left"``/``"right"`` per column (default: right for numbers, left else).
        ``no_wrap``: columns never wrapped (short ids, verdicts); the others fold.
        """
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        rows = [list(r) for r in rows]
        ncol = len(header)
        if justify is None:
            justify = [
                "right"
                if rows and all(isinstance(r[i], (int, float)) for r in rows)
                else "left"
                for i in range(ncol)
            ]
        no_wrap = [False] * ncol if no_wrap is None else list(no_wrap)
        t = Table(
            box=_ascii_box(),
            title=None,
            show_edge=False,
            pad_edge=False,
            padding=(0, 1),
            collapse_padding=True,
            header_style="bold" if self.is_terminal else "",
            expand=False,
        )
        cells = [[c if isinstance(c, str) else num(c) for c in r] for r in rows]
        for i, h in enumerate(header):
            # a no-wrap column is never narrower than its widest cell: rich would
            # crop it silently; the wrapping columns give way instead
            widest = max([len(h), *(len(r[i]) for r in cells if i < len(r))])
            t.add_column(
                h,
                justify=justify[i],
                no_wrap=no_wrap[i],
                overflow="fold",
                min_width=widest if no_wrap[i] else None,
            )
        for r in cells:
            t.add_row(*(Text(c) for c in r))
        if title:
            self.heading(title)
        self.write(self.render(Padding(t, (0, 0, 0, indent)) if indent else t))


def dumps(obj: Any) -> str:
    """``obj`` as indented JSON by the file policy of :func:`bnbounds._json.dumps`."""
    from .._json import dumps as _dumps

    return _dumps(obj)


def dump_json(obj: Any, file: IO[str] | None = None) -> None:
    """Write ``obj`` as JSON to ``file`` (default stdout), numbers as numbers."""
    f = sys.stdout if file is None else file
    f.write(dumps(obj) + "\n")
    f.flush()
