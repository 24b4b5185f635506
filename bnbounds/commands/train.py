"""``bnbounds train``: run GD / SGD / gradient flow; save the trajectory and a figure.

Writes ``OUT.npz`` (every recorded series, W_0 and the final W), ``OUT.json`` (a
summary) and ``OUT.png`` (risk and test error against t on log-log axes with a
fitted slope; parameter movement against t). Every file is written to a temporary
name in the same directory and moved into place, so none is ever half-written.
A progress bar on stderr shows the risk and the error as the run goes; Ctrl-C
stops cleanly and saves what was recorded (exit code 130).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

import numpy as np

from .._progress import Bar
from .._validation import BNBoundsValueError
from . import _ui
from ._args import fraction, integer, real
from ._help import HelpFormatter, epilog

#: Records per run when --record-every is not given (the progress bar and the
#: figure get this many points).
DEFAULT_RECORDS = 200


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train with GD, SGD or gradient flow and save the trajectory and a figure",
        description=(
            "Train the batch-normalised two-layer network of Section 1.3 with GD, SGD "
            "(one example per step, full-data mu and Sigma) or an approximation of "
            "gradient flow, recording the quantities the proofs track."
        ),
        epilog=epilog(
            {
                0: "the run completed and its files were written",
                3: "the run diverged (the recorded part is saved)",
                130: "interrupted (Ctrl-C): the recorded part is saved",
            },
            "bnbounds train --data dyadic --d 8 --m 256 --steps 1000 --out run",
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--data",
        default="dyadic",
        help="'dyadic' (Definition 1.1), 'synthetic' (linearly separable "
        "Gaussian), or a .npz (arrays X, y) / .csv (last column y) file",
    )
    p.add_argument(
        "--d", type=integer("--d", 1), default=8, help="dimension (dyadic, synthetic)"
    )
    p.add_argument(
        "--n", type=integer("--n", 2), default=200, help="points (synthetic)"
    )
    p.add_argument(
        "--test-fraction",
        type=fraction("--test-fraction", allow_zero=True),
        default=None,
        help="held-out fraction (default 0 for dyadic, 0.25 otherwise)",
    )
    p.add_argument(
        "--method",
        choices=("gd", "sgd", "flow"),
        default="gd",
        help="full-batch GD, SGD (one example per step) or gradient flow",
    )
    p.add_argument(
        "--normalization",
        choices=("batch", "minibatch", "none"),
        default="batch",
        help="full-data batch norm (the paper), per-minibatch statistics, or none",
    )
    p.add_argument(
        "--batch-size",
        type=integer("--batch-size", 1),
        default=None,
        help="minibatch size",
    )
    p.add_argument(
        "--order",
        choices=("pass", "epochs", "replace"),
        default="epochs",
        help="SGD sample order",
    )
    p.add_argument("--m", type=integer("--m", 1), default=256, help="width")
    p.add_argument(
        "--threads",
        type=integer("--threads", 1),
        default=None,
        help="threads of the SGD loop (default: Numba's thread count; the results "
        "do not depend on it; see docs/training.md, Speed)",
    )
    p.add_argument(
        "--eta",
        type=real("--eta", minimum=0.0, strict_min=True),
        default=0.1,
        help="step size",
    )
    p.add_argument(
        "--steps",
        type=integer("--steps", 0),
        default=1000,
        help="steps (flow: time = steps * eta)",
    )
    p.add_argument(
        "--eps", type=real("--eps", minimum=0.0), default=0.0, help="batch-norm eps"
    )
    p.add_argument(
        "--seed", type=integer("--seed", 0), default=0, help="seed of W0 and the data"
    )
    p.add_argument(
        "--record-every",
        type=integer("--record-every", 1),
        default=None,
        help=f"record every K steps (default: steps/{DEFAULT_RECORDS})",
    )
    p.add_argument(
        "--radii",
        type=real("--radii", minimum=0.0, strict_min=True),
        nargs=2,
        metavar=("R", "R_V"),
        default=None,
        help="radii of Gamma (exit test of eq. (5))",
    )
    p.add_argument("--out", default="train", help="output prefix (OUT.npz/.json/.png)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG figure")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the run's summary (what OUT.json holds) as JSON instead of text",
    )
    p.set_defaults(func=run)
    return p


def _load_data(args: argparse.Namespace) -> tuple[Any, Any, str]:
    from .. import datasets

    rng = np.random.default_rng(args.seed)
    if args.data == "dyadic":
        data, name, frac = datasets.dyadic(args.d), f"dyadic(d={args.d})", 0.0
    elif args.data == "synthetic":
        data = datasets.linearly_separable(args.n, args.d, rng=rng)
        name, frac = f"linearly_separable(n={args.n}, d={args.d})", 0.25
    else:
        path = args.data
        if not path.endswith((".npz", ".csv")) and not os.path.exists(path):
            raise ValueError(
                f"--data is {path!r}: no such file; expected 'dyadic', "
                "'synthetic' or a .npz/.csv path"
            )
        data, name, frac = datasets.load_file(path), os.path.basename(path), 0.25
        if not data.meets_assumption:
            data = data.scaled()
    frac = frac if args.test_fraction is None else args.test_fraction
    test = None
    if frac > 0:
        data, test = data.split(frac, rng)
    return data, test, name


class _TrainBar:
    """Training callback drawing a :class:`bnbounds._progress.Bar` (risk, errors)."""

    def __init__(self, bar: Bar) -> None:
        self.bar = bar

    def __call__(self, step: int, rec: dict[str, float]) -> None:
        status = (
            f"risk {_ui.num(rec.get('risk', math.nan))} "
            f"err {_ui.num(rec.get('train_error', math.nan), 3)}"
        )
        if "test_error" in rec:
            status += f" test {_ui.num(rec['test_error'], 3)}"
        self.bar.update(completed=step, status=status)


def _outputs(args: argparse.Namespace) -> dict[str, str]:
    """The run's files from ``--out``, checked before any work starts.

    ``--out PREFIX`` gives PREFIX.npz/.json/.png; ``--out DIR/`` (or an existing
    directory) gives DIR/train.npz/.json/.png, never hidden ``.npz`` files.
    """
    from .._io import check_output

    out = args.out
    if out == "-":
        raise BNBoundsValueError(
            "--out is '-'; a run writes several files: expected a prefix or a directory"
        )
    if out.endswith(("/", os.sep)) or os.path.isdir(out):
        out = os.path.join(out, "train")
    files = {ext: f"{out}.{ext}" for ext in ("npz", "png", "json")}
    for ext, path in files.items():
        if ext != "png" or not args.no_plot:
            check_output(path, what="--out")
    return files


def plotting_available() -> bool:
    """True when matplotlib can be imported (it is a base dependency)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def run(args: argparse.Namespace) -> int:
    from .. import _signals, init_params
    from .._io import OutputSet
    from ..train import (
        DivergenceError,
        TrainingInterrupted,
        train_gd,
        train_gradient_flow,
        train_sgd,
    )

    if args.threads not in (None, 1) and args.method != "sgd":
        raise BNBoundsValueError(
            f"--threads is {args.threads}; it applies to --method sgd only "
            f"(got --method {args.method})"
        )
    files = _outputs(args)
    plot = not args.no_plot
    if plot and not plotting_available():
        plot = False
        print(
            "bnbounds train: matplotlib is not installed: no figure this time "
            "(pip install matplotlib); the .npz and .json are written",
            file=sys.stderr,
        )
    data, test, name = _load_data(args)
    W0 = init_params(args.m, data.d, args.seed)
    record_every = (
        args.record_every
        if args.record_every is not None
        else max(1, args.steps // DEFAULT_RECORDS)
    )
    kw: dict[str, Any] = {
        "eps": args.eps,
        "test": test,
        "record_every": record_every,
        "normalization": args.normalization,
    }
    if args.radii is not None:
        kw["radii"] = tuple(args.radii)
    bar = Bar(args.steps, "train", quiet=args.quiet or args.method == "flow")
    bar.start()
    status, code, traj = "completed", 0, None
    try:
        if args.method == "gd":
            traj = train_gd(
                W0, data, eta=args.eta, steps=args.steps, callback=_TrainBar(bar), **kw
            )
        elif args.method == "sgd":
            traj = train_sgd(
                W0,
                data,
                eta=args.eta,
                steps=args.steps,
                order=args.order,
                rng=args.seed,
                batch_size=args.batch_size,
                callback=_TrainBar(bar),
                threads=args.threads,
                **kw,
            )
        else:
            traj = train_gradient_flow(
                W0, data, time=args.steps * args.eta, eta=args.eta, **kw
            )
    except TrainingInterrupted as exc:
        traj, status = exc.trajectory, "interrupted"
        code = _signals.interrupt_exit_code()  # 130 (SIGINT) or 143 (SIGTERM)
    except DivergenceError as exc:
        traj, status, code = exc.trajectory, f"diverged at step {exc.step}", 3
        bar.close()
        print(f"bnbounds: error: {exc}", file=sys.stderr)
    bar.close()

    # One set: npz, png, json (the json, last, lists the others with their
    # SHA-256, so a reader can tell that the files belong together).
    outputs = OutputSet()
    outputs.add(files["npz"], traj.write_npz)
    if plot and traj.n_records >= 1:
        outputs.add(
            files["png"],
            _figure(traj, title=f"{args.method} on {name}, m={args.m}", status=status),
        )
    summary = {
        "data": name,
        "n": data.n,
        "d": data.d,
        "seed": args.seed,
        "test_n": None if test is None else test.n,
        **traj.summary(),
        "fitted_slope_risk": fitted_slope(traj.step.astype(float), traj.risk),
        "files": outputs.digests(),
    }
    if status == "interrupted":
        summary["signal"] = "SIGTERM" if code == 143 else "SIGINT"
        status += f" ({summary['signal']})"
    outputs.add(files["json"], (_ui.dumps(summary) + "\n").encode())
    outputs.stale([files["png"]])
    written = outputs.commit()
    if args.json:
        _ui.dump_json(summary)
        return code
    print(
        f"bnbounds train: {args.method} ({traj.normalization}) on {name}: {status}, "
        f"{traj.steps_done}/{traj.steps} steps"
    )
    if traj.n_records:
        line = (
            f"  risk {traj.risk[0]:.4g} -> {traj.risk[-1]:.4g}, training error "
            f"{traj.train_error[-1]:.4g}"
        )
        if traj.test_error is not None:
            line += f", test error {traj.test_error[-1]:.4g}"
        print(line)
        print(
            f"  ||U-U0|| = {traj.u_dist[-1]:.4g}, ||V-V0|| = {traj.v_dist[-1]:.4g}, "
            f"margin gamma(W) = {traj.margin[-1]:.4g}, "
            f"patterns changed {100 * traj.pattern_change[-1]:.2f}%"
        )
    if summary.get("fitted_slope_risk") is not None:
        print(
            f"  fitted log-log slope of the risk (second half): "
            f"{summary['fitted_slope_risk']:.3f}"
        )
    if traj.discretization_error is not None:
        print(
            f"  estimated discretisation error (flow): {traj.discretization_error:.3g}"
            f" at eta = {traj.eta:g}"
        )
    _ui.Output().wrapped("wrote " + ", ".join(map(str, written)), indent=2, hanging=2)
    return code


def fitted_slope(t: np.ndarray, q: np.ndarray) -> float | None:
    """Least-squares slope of log q against log t over the second half of t > 0."""
    keep = (t > 0) & np.isfinite(q) & (q > 0)
    t, q = t[keep], q[keep]
    if t.size < 3:
        return None
    half = t >= np.sqrt(t[0] * t[-1])  # second half on the log axis
    if half.sum() < 2:
        return None
    return float(np.polyfit(np.log(t[half]), np.log(q[half]), 1)[0])


def _figure(traj: Any, *, title: str, status: str = "completed") -> bytes:
    """The PNG figure (risk and test error; parameter movement), as bytes.

    The left panel's title names the curves actually drawn and, when the test error
    is missing, why (no held-out set, or a test error of 0 on a log axis); the
    figure's title says when the run did not complete (interrupted, diverged) and at
    which step.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = traj.step.astype(float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    keep = t > 0
    slope = fitted_slope(t, traj.risk)
    ax1.loglog(t[keep], traj.risk[keep], label="risk")
    if slope is not None:
        sel = keep & (t >= np.sqrt(t[keep][0] * t[-1]))
        c0 = np.polyfit(np.log(t[sel]), np.log(traj.risk[sel]), 1)
        ax1.loglog(
            t[sel],
            np.exp(np.polyval(c0, np.log(t[sel]))),
            "k--",
            label=f"fit: slope {slope:.2f}",
        )
    panel = "risk"
    if traj.test_error is None:
        panel = "risk (no held-out set: no test error)"
    else:
        te = traj.test_error
        pos = keep & (te > 0)
        if pos.any():
            ax1.loglog(t[pos], te[pos], label="test error")
            panel = "risk and test error"
            s2 = fitted_slope(t, te)
            if s2 is not None:
                ax1.plot([], [], " ", label=f"test error slope {s2:.2f}")
            if not pos[keep].all():
                panel += " (test error 0 not drawn on the log axis)"
        else:
            panel = "risk (test error 0 at every record: not drawn on a log axis)"
    ax1.set_xlabel("t (steps)")
    ax1.set_title(panel, fontsize=9)
    ax1.legend(fontsize=8)
    ax2.plot(t, traj.u_dist, label=r"$\|U_t-U_0\|$")
    ax2.plot(t, traj.v_dist, label=r"$\|V_t-V_0\|$")
    if traj.radii is not None:
        ax2.axhline(traj.radii[0], color="C0", ls=":", lw=1, label="R")
        ax2.axhline(traj.radii[1], color="C1", ls=":", lw=1, label=r"$R_V$")
    ax2.set_xlabel("t (steps)")
    ax2.set_title("parameter movement")
    ax2.legend(fontsize=8)
    if status != "completed":
        title += f" ({status}; {traj.steps_done} of {traj.steps} steps recorded)"
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
