"""Grids of cells on Dask distributed: the paper's experiments beyond one machine.

An *experiment* (``figure1``, ``rates``, ``dyadic``, ``checks``, ``frequency``) is a
grid of independent *cells*. Each cell is a small dict key (``{"m": 64,
"replicate": 2}``) and is seeded from ``(experiment, key)`` alone by
:func:`cell_seed` (a SHA-256 of the canonical key fed to a NumPy
:class:`~numpy.random.SeedSequence`; never Python's ``hash()``), so a table does not
depend on the scheduling, the worker count or the order in which cells finish.

:func:`run_sweep` runs the cells that are not yet done:

* ``scheduler=None``: a :class:`distributed.LocalCluster` of ``workers`` processes
  with one thread each, listening on 127.0.0.1 only, no dashboard;
* ``scheduler="tcp://HOST:PORT"``: an existing cluster (its workers need bnbounds);
* ``scheduler="inline"``: every cell in this process, one after another (no Dask).

Every cell runs with one Numba thread and one BLAS thread (the worker processes of
a local cluster are spawned with ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to 1, and on any scheduler the
cell itself runs under ``threadpoolctl.threadpool_limits(1)`` and one Numba thread), so
two workers on two cores do not oversubscribe them and the floating-point results
are the same as the inline run's.

Files in ``out`` (all written atomically through :mod:`bnbounds._io`):

``sweep.json``
    the experiment and its options; a rerun with other options is refused.
``cells/<key>-<hash>.json``
    one file per finished cell (its key, seed and rows), written by the client
    as soon as the cell finishes. A killed sweep loses only the cells in flight;
    a rerun skips the cells found here.
``<table>.parquet`` (or ``.csv``)
    the tidy tables, assembled from the cell files in grid order once every cell
    is done: one row per record of a cell (a Figure 1 run, a GD or SGD run, a claim
    chunk, a frequency block), the cell's key columns first, then ``cell_seed``,
    then the record's quantities. Nested values are JSON strings. Parquet needs
    pyarrow; without it (or with ``format="csv"``) the tables are CSV.

This module imports Dask only inside :func:`run_sweep` (``import bnbounds`` stays
light).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import _config
from ._io import atomic_write, atomic_write_text
from ._progress import tick
from ._validation import BNBoundsValueError

__all__ = [
    "EXPERIMENTS",
    "NONDETERMINISTIC_COLUMNS",
    "Experiment",
    "SweepError",
    "SweepResult",
    "cell_seed",
    "cells_of",
    "read_table",
    "run_sweep",
]

#: Environment of the worker processes of a local cluster: one thread for Numba and
#: every BLAS / OpenMP runtime (set before the worker imports NumPy).
WORKER_ENV: dict[str, str] = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

#: Columns that hold wall-clock times; every other column of a table is a function
#: of (experiment, options, cell) only.
NONDETERMINISTIC_COLUMNS: tuple[str, ...] = ("seconds",)

#: Format version of the cell files and ``sweep.json``.
STORE_VERSION = 1


class SweepError(BNBoundsValueError):
    """A sweep could not run or a cell failed (the message names the problem)."""


# ------------------------------------------------------------------ seeds, keys
def _canonical(key: Mapping[str, Any]) -> str:
    return json.dumps(dict(key), sort_keys=True, separators=(",", ":"))


def cell_seed(experiment: str, key: Mapping[str, Any]) -> int:
    """The seed of one cell: a 53-bit integer from ``(experiment, key)`` only.

    ``sha256("bnbounds-sweep/<experiment>/<canonical JSON of key>")`` is the entropy
    of a :class:`numpy.random.SeedSequence`, whose first 64-bit word, shifted to 53
    bits (exact in JSON and in float64), is the seed. Stable across processes,
    machines and Python versions (unlike ``hash()``).

    Examples
    --------
    >>> cell_seed("figure1", {"m": 64, "replicate": 0}) == cell_seed(
    ...     "figure1", {"replicate": 0, "m": 64})
    True
    """
    text = f"bnbounds-sweep/{experiment}/{_canonical(key)}"
    entropy = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")
    word = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
    return int(word) >> 11


def _label(key: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in key.items())


def _cell_file(key: Mapping[str, Any]) -> str:
    slug = re.sub(
        r"[^A-Za-z0-9.=_-]+", "_", ",".join(f"{k}={v}" for k, v in key.items())
    )
    digest = hashlib.sha256(_canonical(key).encode("utf-8")).hexdigest()[:12]
    return f"{slug[:80]}-{digest}.json"


# ------------------------------------------------------------------ options
def _ints(value: Any, name: str, *, minimum: int = 1) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise SweepError(
            f"{name} is {value!r}; expected a sequence of integers"
        ) from None
    if not out or min(out) < minimum:
        raise SweepError(f"{name} is {value!r}; expected integers >= {minimum}")
    return out


def _int(value: Any, name: str, *, minimum: int = 1) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise SweepError(f"{name} is {value!r}; expected an integer") from None
    if (v != value and not isinstance(value, str)) or v < minimum:
        raise SweepError(f"{name} is {value!r}; expected an integer >= {minimum}")
    return v


def _float(value: Any, name: str, *, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SweepError(f"{name} is {value!r}; expected a number") from None
    if not math.isfinite(v) or (positive and v <= 0) or (not positive and v < 0):
        raise SweepError(
            f"{name} is {value!r}; expected a finite number "
            f"{'>' if positive else '>='} 0"
        )
    return v


def _opt_float(value: Any, name: str) -> float | None:
    return None if value is None else _float(value, name, positive=True)


def _strs(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    out = tuple(str(v) for v in value)
    if not out:
        raise SweepError(f"{name} is {value!r}; expected at least one claim id")
    return out


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise SweepError(f"{name} is {value!r}; expected True or False")


def _path(value: Any, name: str) -> str | None:
    return None if value is None else str(Path(value).expanduser().resolve())


# ------------------------------------------------------------------ experiments
@dataclass(frozen=True)
class Experiment:
    """One sweepable experiment: its options, its grid and its cell function.

    Attributes
    ----------
    name : str
    what : str
        One line for ``bnbounds sweep --help``.
    options : dict
        Option name -> ``(default, coerce)``; ``coerce(value, name)`` validates.
    cells : callable
        ``cells(options) -> list of dict``: the grid, in table order.
    run : callable
        ``run(key, seed, options) -> dict table name -> list of row dicts``.
    summarize : callable or None
        ``summarize(tables) -> dict table name -> rows``: tables derived from the
        assembled ones (e.g. frequency blocks pooled per configuration).
    """

    name: str
    what: str
    options: Mapping[str, tuple[Any, Callable[[Any, str], Any]]]
    cells: Callable[[Mapping[str, Any]], list[dict[str, Any]]]
    run: Callable[[Mapping[str, Any], int, Mapping[str, Any]], dict[str, list[dict]]]
    summarize: Callable[[dict[str, list[dict]]], dict[str, list[dict]]] | None = None

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in, every value coerced; unknown names are an error."""
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            raise SweepError(
                f"unknown option(s) {unknown} for sweep {self.name!r}; "
                f"expected some of {sorted(self.options)}"
            )
        out = {}
        for name, (default, coerce) in self.options.items():
            value = given.get(name, default)
            out[name] = (
                None if value is None and default is None else coerce(value, name)
            )
        return out


# figure1: cells = width x replicate; each cell is run_figure1 on one (m, seed).
@functools.lru_cache(maxsize=4)
def _figure1_data(
    cifar_dir: str | None,
    cifar_like: bool,
    n: int,
    digits: tuple[int, ...],
    seed: int,
):
    if cifar_dir is not None and cifar_like:
        raise SweepError("cifar_dir and cifar_like are both given; expected one")
    if cifar_dir is not None:
        from .experiments.cifar import load_cifar_cats_dogs

        data = load_cifar_cats_dogs(cifar_dir, n=n, rng=seed)
        return data, f"CIFAR-10 cats vs dogs (n={data.n})"
    if cifar_like:
        from .datasets import cifar_like as make

        data = make(n, 3072, rng=seed)
        return data, f"synthetic CIFAR-like (n={data.n}, d=3072)"
    from .datasets import load_digits_pair

    if len(digits) != 2:
        raise SweepError(f"digits is {digits}; expected two digits pos,neg")
    data = load_digits_pair(digits[0], digits[1])
    return data, f"digits {digits[0]} vs {digits[1]} (n={data.n})"


def _data_of(o: Mapping[str, Any]):
    return _figure1_data(
        o["cifar_dir"], o["cifar_like"], o["n"], o["digits"], o["data_seed"]
    )


def _figure1_cells(o: Mapping[str, Any]) -> list[dict[str, Any]]:
    widths = o["widths"]
    if widths is None:  # run_figure1's default: chosen from n (default_widths)
        from .experiments.figure1 import default_widths

        widths = default_widths(_data_of(o)[0].n)
    return [{"m": m, "replicate": r} for m in widths for r in range(o["seeds"])]


def _width_cells(o: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"m": m, "replicate": r} for m in o["widths"] for r in range(o["seeds"])]


def _figure1_run(key, seed, o) -> dict[str, list[dict]]:
    from .experiments.figure1 import run_figure1

    data, name = _data_of(o)
    res = run_figure1(
        data,
        widths=(key["m"],),
        seeds=(seed,),
        data_name=name,
        steps=o["steps"],
        lr=o["lr"],
        eps=o["eps"],
        move_V=o["move_V"],
        adam=o["adam"],
    )
    rows = [
        {
            **row,
            "gamma_linear": res.gamma_linear,
            "gamma_linear_affine": res.gamma_linear_affine,
        }
        for row in res.rows
    ]
    return {"figure1": rows}


#: Figure 1 quantities averaged per width by the summary table (mean and 2 se).
FIGURE1_SUMMARY_KEYS = ("gamma_a", "gamma_c", "gamma", "delta_V", "nobn_gamma")


def _figure1_summary(tables):
    from .experiments._stats import mean_2se

    rows = tables["figure1"]
    out = []
    for m in dict.fromkeys(r["m"] for r in rows):
        sel = [r for r in rows if r["m"] == m]
        s: dict[str, Any] = {"m": m, "seeds": len(sel)}
        for k in FIGURE1_SUMMARY_KEYS:
            s[f"{k}_mean"], s[f"{k}_2se"] = mean_2se([r[k] for r in sel])
        s["all_hold"] = all(bool(r["assumption_1_2_holds"]) for r in sel)
        # a hard margin of 0: the features do not separate the points at this width
        s["separable"] = sum(bool(r.get("separable", r["gamma"] > 0)) for r in sel)
        out.append(s)
    return {"figure1_summary": out}


# rates: cells = width x replicate; each cell is run_rates at one width from the
# cell's W0 (GD and SGD: two rows).
@functools.lru_cache(maxsize=4)
def _rates_data(n: int, d: int, margin: float, seed: int):
    from .datasets import linearly_separable

    data = linearly_separable(n, d, margin=margin, rng=seed)
    return data.split(0.5, rng=seed)


def _rates_run(key, seed, o) -> dict[str, list[dict]]:
    from .experiments.rates import run_rates

    train, test = _rates_data(o["n"], o["d"], o["margin"], o["data_seed"])
    res = run_rates(
        train,
        test,
        (key["m"],),
        gd_steps=o["gd_steps"],
        eta=o["eta"],
        eta_scale=o["eta_scale"],
        seed=seed,
    )
    return {"rates": list(res.rows)}


# dyadic: Proposition 1.1 constructions per (d, m, replicate), Appendix G per d, the
# linear-margin check per d; three tables.
def _dyadic_cells(o) -> list[dict[str, Any]]:
    cells = [
        {"part": "construction", "d": d, "m": m, "replicate": r}
        for d in o["ds"]
        for m in o["ms"]
        for r in range(o["seeds"])
    ]
    cells += [{"part": "appendix_g", "d": d} for d in o["ds"]]
    cells += [{"part": "linear", "d": d} for d in o["linear_ds"]]
    return cells


def _dyadic_run(key, seed, o) -> dict[str, list[dict]]:
    from .experiments.dyadic import run_dyadic

    if key["part"] == "construction":
        # the row run_dyadic builds for one (d, m, seed)
        from .margin import dyadic_construction

        return {"dyadic": [dyadic_construction(key["d"], key["m"], seed).to_dict()]}
    if key["part"] == "appendix_g":
        res = run_dyadic((key["d"],), (), (), samples=o["samples"], linear_ds=())
        return {"dyadic_appendix_g": list(res.appendix_g)}
    res = run_dyadic((), (), (), linear_ds=(key["d"],))
    return {"dyadic_linear": list(res.linear)}


# checks: the lemma profile, cells = claim x chunk; each chunk runs the profile with
# its own seed (so chunks are independent repetitions of `bnbounds check`).
def _claims(ids: tuple[str, ...] | None, *, mode: str | None = None) -> list[Any]:
    from .checks import CLAIMS, select

    if ids is None:
        out = list(CLAIMS.values())
    else:
        out = []
        for cid in ids:
            if cid in CLAIMS:
                out.append(CLAIMS[cid])
            else:
                try:
                    out.extend(select(cid))
                except ValueError as exc:
                    raise SweepError(str(exc)) from None
        out = list({c.id: c for c in out}.values())
    if mode is not None:
        out = [c for c in out if c.mode == mode]
        if not out:
            raise SweepError(f"claims is {ids!r}; none of them is a {mode} claim")
    return out


def _checks_cells(o) -> list[dict[str, Any]]:
    return [
        {"claim": c.id, "chunk": k}
        for c in _claims(o["claims"])
        for k in range(o["chunks"])
    ]


def _jsonable(v: Any) -> Any:
    return json.loads(json.dumps(v, default=_json_default))


def _checks_run(key, seed, o) -> dict[str, list[dict]]:
    from .checks import CLAIMS, run_claim

    res = run_claim(CLAIMS[key["claim"]], o["profile"], seed=seed)
    row = res.to_dict()
    row["witness"] = None if res.witness is None else _jsonable(res.witness)
    return {"checks": [row]}


_VERDICT_ORDER = {"violated": 3, "inconclusive": 2, "holds": 1, "hypotheses-not-met": 0}


def _checks_summary(tables):
    rows = tables["checks"]
    out = []
    for cid in dict.fromkeys(r["id"] for r in rows):
        sel = [r for r in rows if r["id"] == cid]
        worst = max(sel, key=lambda r: _VERDICT_ORDER.get(r["verdict"], -1))
        out.append(
            {
                "id": cid,
                "source": sel[0]["source"],
                "mode": sel[0]["mode"],
                "chunks": len(sel),
                "samples": sum(r["samples"] for r in sel),
                "hypotheses_met": sum(r["hypotheses_met"] for r in sel),
                "worst_verdict": worst["verdict"],
                "verdicts": ",".join(sorted({r["verdict"] for r in sel})),
                "worst_ratio": max(_as_float(r["worst_ratio"]) for r in sel),
            }
        )
    return {"checks_summary": out}


# frequency: the Monte Carlo of the probabilistic lemmas (C.1, C.2-*, D.2, D.3-*),
# cells = claim x configuration x block of draws; pooled per configuration.
def _claim_configs(claim) -> list[dict]:
    configs = getattr(claim, "configs", None)
    if configs is None:
        from .checks.runner import _configs

        configs = _configs(claim)
    return [dict(c) for c in configs]


def _frequency_cells(o) -> list[dict[str, Any]]:
    return [
        {"claim": c.id, "config": ci, "block": b}
        for c in _claims(o["claims"], mode="frequency")
        for ci in range(len(_claim_configs(c)))
        for b in range(o["blocks"])
    ]


def _frequency_run(key, seed, o) -> dict[str, list[dict]]:
    from .checks import CLAIMS, frequency_experiment

    claim = CLAIMS[key["claim"]]
    config = _claim_configs(claim)[key["config"]]
    fr = frequency_experiment(claim, config, draws=o["draws"], seed=seed)
    det = fr.check.details
    met = fr.met
    return {
        "frequency": [
            {
                "source": claim.source,
                "config_json": json.dumps(config, sort_keys=True),
                "draws": o["draws"],
                "met": met,
                "failures": fr.failures,
                "rate": fr.failures / met if met else math.nan,
                "claimed_failure_probability": det.get(
                    "claimed_failure_probability", math.nan
                )
                if met
                else math.nan,
                "cp_lower": det.get("cp_lower", math.nan) if met else math.nan,
                "cp_upper": det.get("cp_upper", math.nan) if met else math.nan,
                "verdict": fr.check.verdict if met else "hypotheses-not-met",
            }
        ]
    }


def _frequency_summary(tables):
    """Blocks pooled per (claim, configuration): the failures and admissible draws
    add up, and the verdict is the runner's rule (exact one-sided Clopper-Pearson
    bounds at level 1 - CP_ALPHA each) on the pooled counts."""
    from .checks import clopper_pearson

    rows = tables["frequency"]
    out = []
    for ck in dict.fromkeys((r["claim"], r["config"]) for r in rows):
        sel = [r for r in rows if (r["claim"], r["config"]) == ck]
        met = sum(r["met"] for r in sel)
        fails = sum(r["failures"] for r in sel)
        claimed = {r["claimed_failure_probability"] for r in sel if r["met"]}
        p = claimed.pop() if len(claimed) == 1 else math.nan
        lo, hi = clopper_pearson(fails, met) if met else (math.nan, math.nan)
        if met == 0:
            verdict = "hypotheses-not-met"
        elif not math.isfinite(p):
            verdict = "inconclusive"  # the blocks disagree on the claimed p
        elif lo > p:
            verdict = "violated"
        elif hi <= p:
            verdict = "holds"
        else:
            verdict = "inconclusive"
        out.append(
            {
                "claim": ck[0],
                "config": ck[1],
                "config_json": sel[0]["config_json"],
                "blocks": len(sel),
                "draws": sum(r["draws"] for r in sel),
                "met": met,
                "failures": fails,
                "rate": fails / met if met else math.nan,
                "claimed_failure_probability": p,
                "cp_lower": lo,
                "cp_upper": hi,
                "verdict": verdict,
            }
        )
    return {"frequency_summary": out}


def _profile(value: Any, name: str) -> str:
    from .checks import PROFILES

    if value not in PROFILES:
        raise SweepError(f"{name} is {value!r}; expected one of {sorted(PROFILES)}")
    return str(value)


def _n(v, name):
    return _int(v, name, minimum=2)


def _nonneg(v, name):
    return _int(v, name, minimum=0)


def _pos(v, name):
    return _float(v, name, positive=True)


#: The sweepable experiments by name.
EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "figure1",
            "Figure 1 (App. A): one cell per width x seed (run_figure1 on one run)",
            {
                "widths": (None, _ints),
                "seeds": (5, _int),
                "steps": (1000, _nonneg),
                "lr": (0.01, _pos),
                "eps": (0.0, _float),
                "move_V": (True, _bool),
                "adam": (True, _bool),
                "digits": ((5, 3), functools.partial(_ints, minimum=0)),
                "cifar_dir": (None, _path),
                "cifar_like": (False, _bool),
                "n": (1000, _n),
                "data_seed": (0, _nonneg),
            },
            _figure1_cells,
            _figure1_run,
            _figure1_summary,
        ),
        Experiment(
            "rates",
            "test error against t (Thms 2.1, 2.2): one cell per width x seed",
            {
                "widths": ((256, 1024), _ints),
                "seeds": (1, _int),
                "n": (600, _n),
                "d": (20, _int),
                "margin": (0.05, _pos),
                "gd_steps": (2000, _int),
                "eta": (None, _opt_float),
                "eta_scale": (1.0, _pos),
                "data_seed": (0, _nonneg),
            },
            _width_cells,
            _rates_run,
        ),
        Experiment(
            "dyadic",
            "Proposition 1.1 / App. G: cells per (d, m, seed), per d (App. G, linear)",
            {
                "ds": ((4, 8, 16, 32), _ints),
                "ms": ((256, 1024, 4096), _ints),
                "seeds": (10, _int),
                "samples": (100_000, _int),
                "linear_ds": (tuple(range(2, 31)), functools.partial(_ints, minimum=2)),
            },
            _dyadic_cells,
            _dyadic_run,
        ),
        Experiment(
            "checks",
            "the lemma profile: one cell per claim x chunk (each chunk its own seed)",
            {
                "profile": ("thorough", _profile),
                "chunks": (4, _int),
                "claims": (None, _strs),
            },
            _checks_cells,
            _checks_run,
            _checks_summary,
        ),
        Experiment(
            "frequency",
            "Monte Carlo of the probabilistic lemmas: claim x config x block of draws",
            {
                "draws": (2000, _int),
                "blocks": (4, _int),
                "claims": (None, _strs),
            },
            _frequency_cells,
            _frequency_run,
            _frequency_summary,
        ),
    )
}


def _experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise SweepError(
            f"experiment is {name!r}; expected one of {sorted(EXPERIMENTS)}"
        )
    return EXPERIMENTS[name]


def cells_of(experiment: str, **options: Any) -> list[dict[str, Any]]:
    """The grid of ``experiment`` under ``options``, in table order (keys only)."""
    exp = _experiment(experiment)
    return exp.cells(exp.resolve(options))


# ------------------------------------------------------------------ one cell
@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """One BLAS thread (threadpoolctl, if installed) and one Numba thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in the sweep extra
        limits: Any = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1)
    with limits, _config.numba_threads(1):
        yield


def _run_cell(
    experiment: str, key: dict[str, Any], seed: int, options: dict[str, Any]
) -> dict[str, Any]:
    """Run one cell (on a worker or inline); returns what the cell file holds."""
    exp = EXPERIMENTS[experiment]
    t0, c0 = time.perf_counter(), time.process_time()
    with _one_thread():
        tables = exp.run(key, seed, options)
    return {
        "version": STORE_VERSION,
        "experiment": experiment,
        "key": key,
        "seed": seed,
        "tables": {name: [_jsonable(r) for r in rows] for name, rows in tables.items()},
        "seconds": time.perf_counter() - t0,
        # CPU time of the worker process over the cell (its other threads too)
        "cpu_seconds": time.process_time() - c0,
        "pid": os.getpid(),
    }


def worker_threads() -> dict[str, Any]:
    """What a worker's cells see: Numba and BLAS thread counts under the caps.

    Used by the tests (``client.run(worker_threads)``) to show the caps apply.
    """
    import numba

    with _one_thread():
        info: dict[str, Any] = {
            "numba": numba.get_num_threads(),
            # the size of Numba's pool, read from the environment at import
            "numba_pool": numba.config.NUMBA_NUM_THREADS,
        }
        try:
            from threadpoolctl import threadpool_info

            info["blas"] = [p["num_threads"] for p in threadpool_info()]
        except ImportError:  # pragma: no cover
            info["blas"] = []
    info["env"] = {k: os.environ.get(k) for k in WORKER_ENV}
    return info


# ------------------------------------------------------------------ tables
def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple | set | frozenset):
        return list(v)
    raise TypeError(f"a cell returned a value of type {type(v).__name__}")


_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _tidy(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns and per-column values with one type each (bool, int, float or str)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns = []
    for name in names:
        vals = [r.get(name) for r in rows]
        present = [v for v in vals if v is not None]
        if all(isinstance(v, bool) for v in present) or all(
            isinstance(v, int) and not isinstance(v, bool) for v in present
        ):
            col = vals
        elif all(
            (isinstance(v, int | float) and not isinstance(v, bool))
            or (isinstance(v, str) and v in _NONFINITE)
            for v in present
        ):
            col = [None if v is None else _NONFINITE.get(v, v) for v in vals]
            col = [None if v is None else float(v) for v in col]
        else:
            col = [
                None
                if v is None
                else v
                if isinstance(v, str)
                else json.dumps(v, sort_keys=True)
                for v in vals
            ]
        columns.append(col)
    return names, columns


def _write_table(path: Path, rows: list[dict[str, Any]], fmt: str) -> Path:
    names, columns = _tidy(rows)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(dict(zip(names, columns, strict=True)))
        return atomic_write(path, lambda fh: pq.write_table(table, fh))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for i in range(len(rows)):
        w.writerow(
            "" if c[i] is None else repr(c[i]) if isinstance(c[i], float) else c[i]
            for c in columns
        )
    return atomic_write_text(path, buf.getvalue())


def read_table(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a sweep table (Parquet: typed values; CSV: strings, empty = None)."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            {k: (v if v != "" else None) for k, v in r.items()}
            for r in csv.DictReader(fh)
        ]


def _default_format() -> str:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return "csv"
    return "parquet"


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    experiment : str
    out : str
        The output folder.
    options : dict
        Every option, defaults filled in.
    tables : dict
        Table name -> path of the written table (the experiment's tables first, then
        its summaries).
    format : {"parquet", "csv"}
    cells : int
        Cells in the grid.
    ran, skipped : int
        Cells run now; cells found finished in ``out/cells`` and not run again.
    scheduler : str
        ``"inline"``, ``"local"`` (a LocalCluster) or the scheduler's address.
    workers : int
        Workers that could take cells (1 inline).
    seconds : float
        Wall time of the whole call; ``seconds_cells`` of the cell phase only
        (after the cluster was up, until the last cell was written).
    """

    experiment: str
    out: str
    options: dict[str, Any]
    tables: dict[str, str]
    format: str
    cells: int
    ran: int
    skipped: int
    scheduler: str
    workers: int
    seconds: float
    seconds_cells: float
    cell_seconds: tuple[float, ...] = field(default=(), repr=False)
    cell_cpu_seconds: tuple[float, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "out": self.out,
            "options": _jsonable(self.options),
            "tables": dict(self.tables),
            "format": self.format,
            "cells": self.cells,
            "ran": self.ran,
            "skipped": self.skipped,
            "scheduler": self.scheduler,
            "workers": self.workers,
            "seconds": self.seconds,
            "seconds_cells": self.seconds_cells,
        }


# ------------------------------------------------------------------ the store
def _check_manifest(out: Path, experiment: str, options: dict[str, Any]) -> None:
    path = out / "sweep.json"
    want = {
        "version": STORE_VERSION,
        "experiment": experiment,
        "options": _jsonable(options),
    }
    if path.exists():
        try:
            have = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SweepError(f"{path} is unreadable ({exc}); use another out") from None
        if {k: have.get(k) for k in want} != want:
            raise SweepError(
                f"{out} holds a sweep of {have.get('experiment')!r} with options "
                f"{have.get('options')}; this one is {experiment!r} with "
                f"{want['options']}: use another out (finished cells of a different "
                "grid are not reused)"
            )
        return
    atomic_write_text(path, json.dumps(want, indent=2, sort_keys=True) + "\n")


def _load_cell(path: Path, experiment: str, key: dict, seed: int) -> dict | None:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SweepError(
            f"cell file {path} is unreadable ({exc}); delete it to rerun that cell"
        ) from None
    if (
        rec.get("version") != STORE_VERSION
        or rec.get("experiment") != experiment
        or rec.get("key") != _jsonable(key)
        or rec.get("seed") != seed
    ):
        raise SweepError(
            f"cell file {path} is not the cell {_label(key)} of {experiment}; "
            "delete it to rerun that cell"
        )
    return rec


def _key_row(key: dict, seed: int, row: dict) -> dict:
    merged = {**key, "cell_seed": seed}
    for k, v in row.items():
        if k in merged and merged[k] != v:
            merged[f"{k}_"] = v  # the record's own field of the same name
        else:
            merged[k] = v
    return merged


# ------------------------------------------------------------------ schedulers
@contextlib.contextmanager
def _restored_environment() -> Iterator[None]:
    """``os.environ`` of this process restored exactly when the block ends.

    A Nanny writes its ``distributed.nanny.pre-spawn-environ`` into the environment
    of the process that runs it (here: the sweep's), so that the worker it spawns
    inherits it; left there, ``OMP_NUM_THREADS=1``, ``PYTHONHASHSEED`` and the like
    would leak into everything this process starts afterwards.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        for k in set(os.environ) - set(saved):
            del os.environ[k]
        for k, v in saved.items():
            if os.environ.get(k) != v:
                os.environ[k] = v


@contextlib.contextmanager
def _local_cluster(workers: int) -> Iterator[Any]:
    """A LocalCluster of ``workers`` one-thread processes on 127.0.0.1, no dashboard.

    The thread environment (:data:`WORKER_ENV`) goes into the Nanny's
    *pre-spawn* environment: a worker inherits the environment of the moment it
    is spawned, so it imports NumPy and Numba with one thread. Not the Nanny's
    ``env=``: that is applied after the worker process has imported its main module
    (bnbounds, hence Numba, when the sweep runs from ``bnbounds sweep`` or a
    script), and Numba refuses a ``NUMBA_NUM_THREADS`` that changes after its
    threads were launched. This process's own environment is restored afterwards.
    """
    import logging

    import dask
    from distributed import LocalCluster

    key = "distributed.nanny.pre-spawn-environ"
    pre = {**(dask.config.get(key, default=None) or {}), **WORKER_ENV}
    with (
        _restored_environment(),
        dask.config.set({key: pre}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # no dashboard; the HTTP servers (health, metrics) that scheduler and
            # workers start anyway listen on a free port of 127.0.0.1 (not on
            # :8787 of every interface, which another cluster may hold)
            dashboard_address=None,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            worker_dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
    ):
        yield cluster


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise SweepError(
            "a Dask sweep needs dask[distributed] (a dependency of bnbounds): "
            "pip install 'dask[distributed]' "
            "(or run with scheduler='inline')"
        ) from None
    return distributed


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_sweep(
    experiment: str,
    *,
    out: str | os.PathLike,
    scheduler: str | None = None,
    workers: int | None = None,
    format: str | None = None,
    progress: Callable[..., None] | None = None,
    connect_timeout: float = 30.0,
    **options: Any,
) -> SweepResult:
    """Run the grid of ``experiment`` on Dask, skipping cells already in ``out``.

    Parameters
    ----------
    experiment : {"figure1", "rates", "dyadic", "checks", "frequency"}
    out : path
        Output folder (created): ``sweep.json``, ``cells/``, the tables.
    scheduler : None, "inline" or str
        None: a local cluster of ``workers`` processes (one thread each) on
        127.0.0.1; ``"tcp://HOST:PORT"``: an existing Dask scheduler;
        ``"inline"``: no Dask, cells run here one by one.
    workers : int, optional
        Local-cluster size (default: the CPUs this process may use).
    format : {"parquet", "csv"}, optional
        Table format; default Parquet when pyarrow is installed, else CSV.
    progress : callable, optional
        The project's progress protocol (:mod:`bnbounds._progress`):
        ``progress("resumed", skipped)`` once for the cells found finished (if
        any), then ``progress(label)`` after every cell this call finishes. The
        total is ``len(cells_of(experiment, **options))``.
    connect_timeout : float
        Seconds to wait for an existing scheduler.
    **options
        The experiment's grid options (``EXPERIMENTS[experiment].options``), e.g.
        ``widths=(32, 64), seeds=3, steps=200`` for figure1.

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepError
        Bad options, an ``out`` holding another grid, no scheduler at the address,
        or cells that raised (the others are still stored; a rerun retries the
        failed ones).
    """
    t_start = time.perf_counter()
    exp = _experiment(experiment)
    opts = exp.resolve(options)
    fmt = format if format is not None else _default_format()
    if fmt not in ("parquet", "csv"):
        raise SweepError(f"format is {format!r}; expected 'parquet' or 'csv'")
    if fmt == "parquet" and _default_format() != "parquet":
        raise SweepError("format is 'parquet' but pyarrow is not installed")
    if scheduler not in (None, "inline") and (
        not isinstance(scheduler, str)
        or not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://\S+", scheduler)
    ):
        raise SweepError(
            f"scheduler is {scheduler!r}; expected None, 'inline' or an address "
            "like 'tcp://HOST:PORT'"
        )
    if workers is not None:
        workers = _int(workers, "workers")
    grid = exp.cells(opts)
    keys = [_canonical(k) for k in grid]
    if len(set(keys)) != len(keys):  # pragma: no cover - a grid bug, not user input
        raise SweepError(f"the grid of {experiment} has repeated cells")
    out = Path(out)
    cells_dir = out / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    _check_manifest(out, experiment, opts)

    seeds = [cell_seed(experiment, k) for k in grid]
    files = [cells_dir / _cell_file(k) for k in grid]
    records: list[dict | None] = [
        _load_cell(f, experiment, k, s)
        for f, k, s in zip(files, grid, seeds, strict=True)
    ]
    todo = [i for i, r in enumerate(records) if r is None]
    skipped = len(grid) - len(todo)
    if skipped:
        tick(progress, "resumed", skipped)
    failures: list[str] = []
    cell_seconds: list[float] = []
    cell_cpu: list[float] = []

    def finish(i: int, rec: dict) -> None:
        atomic_write_text(files[i], json.dumps(rec, sort_keys=True) + "\n")
        records[i] = rec
        cell_seconds.append(float(rec["seconds"]))
        cell_cpu.append(float(rec.get("cpu_seconds", math.nan)))
        tick(progress, _label(grid[i]))

    t_cells = time.perf_counter()
    if not todo:
        mode, n_workers = (
            "inline"
            if scheduler == "inline"
            else ("local" if scheduler is None else scheduler),
            0,
        )
    elif scheduler == "inline":
        mode, n_workers = "inline", 1
        t_cells = time.perf_counter()
        for i in todo:
            try:
                rec = _run_cell(experiment, grid[i], seeds[i], opts)
            except Exception as exc:
                failures.append(f"{_label(grid[i])}: {type(exc).__name__}: {exc}")
                continue
            finish(i, rec)
    else:
        distributed = _import_distributed()
        with contextlib.ExitStack() as stack:
            if scheduler is None:
                n_workers = workers if workers is not None else _default_workers()
                cluster = stack.enter_context(_local_cluster(n_workers))
                client = stack.enter_context(distributed.Client(cluster))
                mode = "local"
            else:
                try:
                    client = stack.enter_context(
                        distributed.Client(scheduler, timeout=connect_timeout)
                    )
                except (OSError, TimeoutError) as exc:
                    raise SweepError(
                        f"no Dask scheduler answered at {scheduler} within "
                        f"{connect_timeout:g} s ({exc})"
                    ) from None
                mode = scheduler
                n_workers = len(client.scheduler_info().get("workers", {}))
                if n_workers == 0:
                    client.wait_for_workers(1, timeout=connect_timeout)
                    n_workers = len(client.scheduler_info().get("workers", {}))
            t_cells = time.perf_counter()
            futures = {}
            for i in todo:
                fut = client.submit(
                    _run_cell,
                    experiment,
                    grid[i],
                    seeds[i],
                    opts,
                    key=f"bnbounds-{experiment}-{_cell_file(grid[i])[:-5]}",
                    pure=False,
                )
                futures[fut] = i
            for fut in distributed.as_completed(list(futures)):
                i = futures[fut]
                try:
                    rec = fut.result()
                except Exception as exc:
                    failures.append(f"{_label(grid[i])}: {type(exc).__name__}: {exc}")
                    continue
                finish(i, rec)
    seconds_cells = time.perf_counter() - t_cells
    if failures:
        raise SweepError(
            f"{len(failures)} of {len(grid)} cells of {experiment} failed (the others "
            f"are stored in {cells_dir}; a rerun retries only the failed ones): "
            + "; ".join(failures[:5])
            + (" ..." if len(failures) > 5 else "")
        )

    tables: dict[str, list[dict]] = {}
    for rec in records:
        assert rec is not None
        for name, rows in rec["tables"].items():
            tables.setdefault(name, []).extend(
                _key_row(rec["key"], rec["seed"], r) for r in rows
            )
    if exp.summarize is not None:
        tables.update(exp.summarize(tables))
    ext = ".parquet" if fmt == "parquet" else ".csv"
    paths = {}
    for name, rows in tables.items():
        if rows:
            paths[name] = str(_write_table(out / f"{name}{ext}", rows, fmt))
    return SweepResult(
        experiment,
        str(out),
        opts,
        paths,
        fmt,
        len(grid),
        len(todo),
        skipped,
        mode,
        n_workers,
        time.perf_counter() - t_start,
        seconds_cells,
        tuple(cell_seconds),
        tuple(cell_cpu),
    )


def _as_float(v: Any) -> float:
    if isinstance(v, str):
        return _NONFINITE.get(v, math.nan)
    return float(v)
