"""``--help`` for every command: defaults shown, exit codes and one example at the end.

Each command module passes ``formatter_class=HelpFormatter`` (or uses
:func:`add_command`) and ``epilog=epilog(EXIT_CODES, EXAMPLE)``. The formatter
appends ``(default: X)`` to every option whose default says something (not None,
not False), writes list defaults as the command line takes them (``32,64``), keeps
help at most 100 columns wide, and prints the epilog's lines as written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import textwrap
from collections.abc import Mapping

#: Exit codes every command shares.
COMMON_EXIT_CODES: dict[int, str] = {
    2: "bad input (the message names the option and what was expected)",
    130: "interrupted (Ctrl-C)",
}


def _width() -> int:
    cols = os.environ.get("COLUMNS")
    try:
        w = int(cols) if cols else shutil.get_terminal_size((100, 24)).columns
    except ValueError:
        w = 100
    return max(40, min(w, 100))


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in the help, paragraphs wrapped, indented lines kept verbatim."""

    def __init__(self, prog: str, **kw) -> None:
        kw.setdefault("width", _width())
        kw.setdefault("max_help_position", 30)
        super().__init__(prog, **kw)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if (
            "%(default)" in text
            or "(default" in text  # the help states its default itself
            or d is None
            or d is False
            or d is argparse.SUPPRESS
            or isinstance(action, (argparse._HelpAction, argparse._VersionAction))
        ):
            return text
        shown = ",".join(map(str, d)) if isinstance(d, (list, tuple)) else str(d)
        return f"{text} (default: {shown.replace('%', '%%')})"

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for para in text.split("\n\n"):
            lines = para.splitlines()
            if any(line.startswith("  ") for line in lines) or para.endswith(":"):
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(
                    textwrap.fill(
                        " ".join(line.strip() for line in lines),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                    )
                )
        return "\n\n".join(out)


def epilog(codes: Mapping[int, str], example: str | list[str]) -> str:
    """The end of a command's ``--help``: its exit codes and one example."""
    merged = {**COMMON_EXIT_CODES, **codes}
    lines = ["exit codes:"]
    lines += [f"  {k:<4} {merged[k]}" for k in sorted(merged)]
    examples = [example] if isinstance(example, str) else list(example)
    lines += ["", "example:" if len(examples) == 1 else "examples:"]
    lines += [f"  {e}" for e in examples]
    return "\n".join(lines)
