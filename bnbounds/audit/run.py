"""Theorem-level verdicts: every step of a chain audited, objects checked, repairs re-run.

:func:`audit` runs, for each theorem (``"2.1"``, ``"2.2"``, ``"1.1"``):

* :func:`bnbounds.audit.steps.audit_step` on every step of its chain
  (:data:`bnbounds.constants.proofs.THEOREM_CHAINS`);
* the **objects check**: a step that uses a bound proved over other objects (e.g.
  Lemma D.3, proved for the n training points, applied at a fresh SGD sample; a
  bound on the *mean* of ``|l'|`` used as a bound on its *max*) is a
  ``needs-hypothesis`` finding, unless the step names the result that bridges the
  two (:attr:`ProofStep.bridge`);
* the **mechanism checks** of :mod:`bnbounds.audit.mechanism` when that module is
  present: a check that fails overrides a passing symbolic verdict of the steps it
  tests (simulation of the very quantity a step bounds contradicts it);
* the **repairs** (:data:`bnbounds.constants.proofs.REPAIRS`): the whole chain is
  audited again with every repair of the theorem applied.

Theorem status: ``"proved"`` when every step is ``proved``; ``"proved-after-repairs"``
when every step of the repaired chain is ``proved``; ``"not-proved"`` otherwise
(``holds-numerically`` steps are listed as ``unproved``: a search is not a proof).
"""

# Long lines hold verdict texts, paper formulas and report markup verbatim.
# ruff: noqa: E501

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._validation import BNBoundsError
from ..constants.proofs import (
    OVER,
    OVER_IMPLIES,
    PROOF_STEPS,
    REPAIRS,
    THEOREM_CHAINS,
    ProofStep,
    Repair,
    resolve,
)
from .steps import PROFILES, StepResult, audit_step
from .verdicts import FAILING, check_verdict

__all__ = ["THEOREMS", "AuditReport", "TheoremVerdict", "audit", "audit_chain"]

THEOREMS: tuple[str, ...] = ("2.1", "2.2", "1.1")
NAMES = {
    "2.1": "Theorem 2.1 (SGD; Theorem E.5)",
    "2.2": "Theorem 2.2 (GD; Theorem F.4)",
    "1.1": "Proposition 1.1 (Appendix G)",
}


@dataclass(frozen=True)
class TheoremVerdict:
    """A theorem's status, its first failing steps, and the repaired chain.

    Attributes
    ----------
    theorem : str
    status : str
        ``"proved"``, ``"proved-after-repairs"`` or ``"not-proved"``.
    first_failing : tuple of str
        Failing steps none of whose direct dependencies fail.
    failing : tuple of str
    unproved : tuple of str
        Steps that only hold numerically or were not determined.
    repairs : tuple of dict
        Each repair tried (id, kind, description, the steps it fixes).
    after_repairs : dict
        ``{step id: verdict}`` of the repaired chain.
    still_failing : tuple of str
        Steps that still fail after every repair (no repair of the kinds tried).
    mechanisms : tuple of dict
        The mechanism checks of this theorem (``to_dict()`` of each).
    applicability : dict or None
    """

    theorem: str
    status: str
    first_failing: tuple[str, ...]
    failing: tuple[str, ...]
    unproved: tuple[str, ...]
    repairs: tuple[dict, ...]
    after_repairs: dict
    still_failing: tuple[str, ...]
    still_unproved: tuple[str, ...]
    mechanisms: tuple[dict, ...] = ()
    applicability: dict | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        check_verdict(self.status, theorem=True)

    @property
    def name(self) -> str:
        return NAMES.get(self.theorem, self.theorem)

    def to_dict(self) -> dict:
        return {
            "theorem": self.theorem,
            "name": self.name,
            "status": self.status,
            "first_failing": list(self.first_failing),
            "failing": list(self.failing),
            "unproved": list(self.unproved),
            "repairs": list(self.repairs),
            "after_repairs": dict(self.after_repairs),
            "still_failing": list(self.still_failing),
            "still_unproved": list(self.still_unproved),
            "mechanisms": list(self.mechanisms),
            "applicability": self.applicability,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class AuditReport:
    """Every step verdict and every theorem verdict of one audit run."""

    steps: tuple[StepResult, ...]
    theorems: tuple[TheoremVerdict, ...]
    profile: str
    seed: int
    elapsed_s: float
    mechanism_status: str = ""
    extra: dict = field(default_factory=dict)

    def step(self, step_id: str, theorem: str | None = None) -> StepResult:
        for s in self.steps:
            if s.id == step_id and (theorem is None or s.theorem == theorem):
                return s
        raise KeyError(f"no step {step_id!r} in this report")

    def theorem(self, theorem: str) -> TheoremVerdict:
        for t in self.theorems:
            if t.theorem == theorem:
                return t
        raise KeyError(f"no theorem {theorem!r} in this report")

    def to_list(self) -> list[dict]:
        """The ``--json`` form: one object per step, then one per theorem."""
        return [s.to_dict() for s in self.steps] + [t.to_dict() for t in self.theorems]

    def to_dict(self) -> dict:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "theorems": [t.to_dict() for t in self.theorems],
            "profile": self.profile,
            "seed": self.seed,
            "elapsed_s": self.elapsed_s,
            "mechanism_status": self.mechanism_status,
        }


def _objects_findings(
    chain: Mapping[str, ProofStep], theorem: str, implies: Mapping | None = None
) -> list[StepResult]:
    """Steps that use a bound proved over other objects (see module docstring)."""
    out = []
    for st in chain.values():
        if st.bridge:
            continue
        for dep_id in st.depends_on:
            dep = chain.get(dep_id) or PROOF_STEPS.get(dep_id)
            if dep is None:
                continue
            covered = set(OVER_IMPLIES[dep.over]) | set(
                (implies or {}).get(dep.over, ())
            )
            if st.over in covered:
                continue
            out.append(
                StepResult(
                    id=f"{st.id}/objects",
                    source=st.source,
                    theorem=theorem,
                    printed=st.printed,
                    verdict="needs-hypothesis",
                    method="objects",
                    region=f"{dep.id} bounds {dep.bounds or 'its quantity'} over {OVER[dep.over]}; {st.id} uses it over {OVER[st.over]}",
                    missing=f"{dep.id} must hold over {OVER[st.over]}",
                    depends_on=(st.id, dep.id),
                    bounds=st.bounds,
                    over=st.over,
                    lemma=st.lemma,
                    meaning=f"{st.id} applies {dep.id}, proved over {dep.over}, to {st.over}: the proof does not cover that use.",
                    command=f"bnbounds audit --theorem {theorem} --json -",
                )
            )
    return out


def _roots(
    results: Mapping[str, StepResult], chain: Mapping[str, ProofStep]
) -> list[str]:
    """Failing steps none of whose direct dependencies fail (the first failing steps)."""
    failing = {k for k, r in results.items() if r.verdict in FAILING}
    out = []
    for k in results:
        if k not in failing:
            continue
        deps = chain[k].depends_on if k in chain else results[k].depends_on
        if not (set(deps) - {k}) & failing:
            out.append(k)
    return out


def _mechanisms(
    theorem: str, profile: str, seed: int, progress
) -> tuple[tuple[Any, ...], str]:
    try:
        from . import mechanism
    except ImportError as exc:
        return (
            (),
            f"mechanism checks not available ({exc.name or exc}): mechanism steps keep their symbolic verdict and are marked not run",
        )
    try:
        return tuple(
            mechanism.run_mechanisms(
                theorem, profile=profile, seed=seed, progress=progress
            )
        ), "ran"
    except Exception as exc:  # a failing mechanism run must not hide the symbolic audit
        return (), f"mechanism checks failed to run: {type(exc).__name__}: {exc}"


def _applicability(theorem: str, profile: str, cifar_dir) -> dict | None:
    try:
        from . import applicability as app
    except ImportError:
        return None
    try:
        return app.applicability(
            theorem, cifar_dir=cifar_dir, profile=profile
        ).to_dict()
    except Exception as exc:
        return {
            "status": "not-determined",
            "region": f"applicability failed: {type(exc).__name__}: {exc}",
        }


def audit_chain(
    theorem: str,
    *,
    steps: Mapping[str, ProofStep] | None = None,
    repairs: tuple[Repair, ...] | None = None,
    profile: str = "quick",
    seed: int = 0,
    mechanisms: tuple = (),
    progress: Callable[[str], None] | None = None,
) -> tuple[list[StepResult], TheoremVerdict]:
    """Audit one theorem's chain (from ``steps``, default the registry) with repairs.

    ``steps`` may be any mapping of id -> :class:`ProofStep` (mutation tests pass a
    modified copy; a test passes a small correct chain).
    """
    if steps is None:
        steps = {k: PROOF_STEPS[k] for k in THEOREM_CHAINS[theorem]}
    else:
        steps = {k: s for k, s in steps.items() if theorem in s.theorems}
    if repairs is None:
        repairs = tuple(r for r in REPAIRS if r.theorem == theorem)

    def run(chain: Mapping[str, ProofStep], choices=None) -> dict[str, StepResult]:
        out = {}
        for k, st in chain.items():
            if progress:
                progress(k)
            out[k] = audit_step(
                st, theorem=theorem, choices=choices, profile=profile, seed=seed
            )
        return out

    results = run(steps)
    # mechanism checks: a failing check overrides a passing symbolic verdict
    mech_dicts = []
    for mc in mechanisms:
        d = mc.to_dict() if hasattr(mc, "to_dict") else dict(mc)
        mech_dicts.append(d)
        for sid in [
            r
            for dep in d.get("depends_on", ())
            for r in ((dep,) if dep in results else resolve(dep))
        ]:
            if sid in results:
                r = results[sid]
                ev = dict(r.evidence)
                ev.setdefault("mechanisms", []).append(
                    {
                        k: d.get(k)
                        for k in (
                            "id",
                            "verdict",
                            "ratios",
                            "widths",
                            "fit",
                            "region",
                            "command",
                        )
                    }
                )
                new = {"evidence": ev}
                if d.get("verdict") in FAILING and r.verdict not in FAILING:
                    new.update(
                        verdict=d["verdict"],
                        method="mechanism",
                        region=f"measured by {d.get('id')}: {d.get('region', '')}",
                        witness=d.get("witness"),
                    )
                results[sid] = _replace(r, **new)
    for f in _objects_findings(steps, theorem):
        results[f.id] = f
    failing = tuple(k for k, r in results.items() if r.verdict in FAILING)
    unproved = tuple(
        k
        for k, r in results.items()
        if r.verdict in ("holds-numerically", "not-determined")
    )
    roots = tuple(_roots(results, steps))

    # the repaired chain
    rep_steps = dict(steps)
    choices: dict = {}
    for rp in repairs:
        for sid, ch in rp.steps.items():
            if sid in rep_steps:
                rep_steps[sid] = rep_steps[sid].replace(**ch)
        choices.update(rp.choices)
    after = run(rep_steps, choices or None) if repairs else dict(results)
    implies: dict = {}
    for rp in repairs:
        for k, v in rp.implies.items():
            implies[k] = (*implies.get(k, ()), *v)
    for f in _objects_findings(rep_steps, theorem, implies):
        after[f.id] = f
    # a failing mechanism check is not repaired by algebra; but the runs used the
    # printed step size, so after a step-size repair their verdict is stale
    eta_changed = any(rp.kind == "step-size" for rp in repairs)
    for sid, r in results.items():
        if r.method != "mechanism" or sid not in after:
            continue
        if not eta_changed:
            after[sid] = r
            continue
        after[sid] = _replace(
            after[sid],
            verdict="not-determined",
            method="mechanism",
            evidence={
                **after[sid].evidence,
                "why": "the mechanism runs that failed used the printed step size; "
                "the repaired step size was not run",
            },
        )
    still = tuple(k for k, r in after.items() if r.verdict in FAILING)
    still_unproved = tuple(
        k
        for k, r in after.items()
        if r.verdict != "proved" and r.verdict not in FAILING
    )
    if not failing and not unproved:
        status = "proved"
    elif repairs and not still and not still_unproved:
        status = "proved-after-repairs"
    else:
        status = "not-proved"
    notes = []
    if still:
        notes.append(
            "no repair of the kinds tried (constant, step size, hypothesis on the parameters) fixes: "
            + ", ".join(still)
        )
    verdict = TheoremVerdict(
        theorem=theorem,
        status=status,
        first_failing=roots,
        failing=failing,
        unproved=unproved,
        repairs=tuple(rp.to_dict() for rp in repairs),
        after_repairs={k: r.verdict for k, r in after.items()},
        still_failing=still,
        still_unproved=still_unproved,
        mechanisms=tuple(mech_dicts),
        notes=tuple(notes),
    )
    return list(results.values()), verdict


def _replace(r: StepResult, **changes) -> StepResult:
    import dataclasses

    return dataclasses.replace(r, **changes)


def audit(
    theorem: str = "all",
    *,
    profile: str = "quick",
    seed: int = 0,
    run_mechanisms: bool = True,
    cifar_dir: Any = None,
    progress: Callable[[str], None] | None = None,
) -> AuditReport:
    """Audit Theorems 2.1, 2.2 and Proposition 1.1 (or one of them).

    Parameters
    ----------
    theorem : {"2.1", "2.2", "1.1", "all"}
    profile : {"quick", "thorough"}
        Search effort (and the mechanism runs' profile).
    seed : int
    run_mechanisms : bool
        Run the mechanism checks (training runs) when the module is present.
    cifar_dir : path, optional
        Passed to the applicability map.
    progress : callable, optional
        Called with each step id (the command shows a progress bar).

    Returns
    -------
    AuditReport
    """
    if theorem != "all" and theorem not in THEOREMS:
        raise BNBoundsError(
            f"theorem is {theorem!r}; expected one of {[*THEOREMS, 'all']}"
        )
    if profile not in PROFILES:
        raise BNBoundsError(f"profile is {profile!r}; expected one of {list(PROFILES)}")
    t0 = time.perf_counter()
    todo = THEOREMS if theorem == "all" else (theorem,)
    all_steps: list[StepResult] = []
    verdicts = []
    mstatus = []
    mech_objects: dict = {}
    for th in todo:
        mechs: tuple = ()
        if run_mechanisms and th in ("2.1", "2.2"):
            mechs, why = _mechanisms(th, profile, seed, None)
            mstatus.append(f"{th}: {why}")
            mech_objects[th] = mechs
        res, tv = audit_chain(
            th, profile=profile, seed=seed, mechanisms=mechs, progress=progress
        )
        app = (
            _applicability(th, profile, cifar_dir)
            if run_mechanisms and th in ("2.1", "2.2")
            else None
        )
        if app is not None:
            import dataclasses

            tv = dataclasses.replace(tv, applicability=app)
        all_steps += res
        verdicts.append(tv)
    return AuditReport(
        tuple(all_steps),
        tuple(verdicts),
        profile,
        seed,
        time.perf_counter() - t0,
        mechanism_status="; ".join(mstatus),
        extra={"mechanism_objects": mech_objects},
    )
