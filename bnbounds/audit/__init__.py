"""Theorem-level verdicts: every proof step of the paper's main results, audited.

``bnbounds.audit`` loads SymPy (``import bnbounds`` does not). See ``docs/audit.md``.
"""

from __future__ import annotations

from .verdicts import FAILING, PASSING, STEP_VERDICTS, THEOREM_STATUSES, check_verdict

__all__ = ["FAILING", "PASSING", "STEP_VERDICTS", "THEOREM_STATUSES", "check_verdict"]
