"""Theorem-level audit: proof steps as claims, mechanism runs of the theorems, width
extrapolation, applicability on the paper's examples (see ``docs/audit.md``).

Submodules are imported by name (``bnbounds.audit.mechanism``, ...); importing this
package loads nothing heavy.
"""
