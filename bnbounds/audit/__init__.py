"""Theorem-level audit: proof steps as claims, mechanism runs of the theorems, width
extrapolation, applicability on the paper's examples (see ``docs/audit.md`` and
``docs/audit_mechanisms.md``).

Submodules are imported by name (``bnbounds.audit.run``, ``bnbounds.audit.mechanism``,
...); importing this package loads only the verdict vocabulary (no SymPy, no
training code).
"""

from __future__ import annotations

from .verdicts import FAILING, PASSING, STEP_VERDICTS, THEOREM_STATUSES, check_verdict

__all__ = ["FAILING", "PASSING", "STEP_VERDICTS", "THEOREM_STATUSES", "check_verdict"]
