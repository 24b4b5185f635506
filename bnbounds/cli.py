"""The ``bnbounds`` command line: the only room that prints for people.

Each subcommand lives in its own module under :mod:`bnbounds.commands` and exposes

``add_parser(subparsers) -> argparse.ArgumentParser``
    registers the subcommand (its ``set_defaults(func=run)``), and
``run(args) -> int``
    does the work and returns the process exit code.

Subcommand modules are imported lazily, only when the command line is parsed, so
``import bnbounds`` stays light (no SymPy, no plotting).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._version import __version__

#: Subcommand modules, in the order ``bnbounds --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "check",
    "hunt",
    "constants",
    "audit",
    "train",
    "reproduce",
    "sweep",
    "info",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bnbounds",
        description=(
            "Executable constants and lemma checks for GD/SGD on batch-normalised "
            "two-layer ReLU networks."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"bnbounds {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        qualified = f"{__package__}.commands.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:  # a command not installed in this build
            if exc.name != qualified:
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from . import _signals
    from ._io import OutputError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        # The built-in default job.
        args = parser.parse_args([*DEFAULT_COMMAND, *(argv or [])])
    _signals.terminate_like_interrupt()  # SIGTERM saves a run as Ctrl-C does
    try:
        return int(args.func(args))
    except OutputError as exc:  # 1 once results exist (saved elsewhere), else 2
        print(f"bnbounds: error: {exc}", file=sys.stderr)
        return 1 if exc.rescued is not None else 2
    except ValueError as exc:  # user errors carry a message that names the problem
        print(f"bnbounds: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        code = _signals.interrupt_exit_code()
        print(
            f"bnbounds: {'terminated' if code == 143 else 'interrupted'}",
            file=sys.stderr,
        )
        return code
    except BrokenPipeError:  # e.g. `bnbounds info | head`
        sys.stderr.close()
        return 0
    except OSError as exc:  # a file the OS refused: name it, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"bnbounds: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


#: What ``bnbounds`` with no subcommand runs.
DEFAULT_COMMAND: list[str] = ["check"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
