"""The catalog of claims: the only list, above the appendix modules.

Each appendix module (``b_normalization``, ``c_concentration``,
``d_alignment``, ``e_sgd``, ``f_gd``) defines its claims as entries of
a module-level ``CLAIMS`` tuple of :class:`~.claim.Claim` records; this module
imports them and holds them in the paper's order. Nothing registers itself on import
and nothing is looked up by module name.

Adding a claim is one entry: a record in its appendix module's tuple (and its spec
in :mod:`bnbounds.constants.lemmas`). ``bnbounds check``, its JSON and JUnit, the
installed suite (``bnbounds/suite``) and the docs table (:func:`claims_table`) all
read :data:`CLAIMS`. For tests and experiments, :func:`extended` adds records for
the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from .._validation import BNBoundsValueError
from . import b_normalization, c_concentration, d_alignment, e_sgd, f_gd
from .claim import Claim

__all__ = [
    "CLAIMS",
    "TABLE_END",
    "TABLE_START",
    "claims_table",
    "extended",
    "resolve",
    "select",
    "with_claims_table",
]

_BASE: tuple[Claim, ...] = (
    *b_normalization.CLAIMS,
    *c_concentration.CLAIMS,
    *d_alignment.CLAIMS,
    *e_sgd.CLAIMS,
    *f_gd.CLAIMS,
)


def _index(claims: tuple[Claim, ...]) -> dict[str, Claim]:
    out: dict[str, Claim] = {}
    for cl in claims:
        if cl.id in out:
            raise BNBoundsValueError(f"claim id {cl.id!r} is in the catalog twice")
        out[cl.id] = cl
    return out


class _Catalog(Mapping):
    """Read-only ``claim id -> Claim`` in the paper's order (plus :func:`extended`)."""

    def __init__(self, claims: tuple[Claim, ...]) -> None:
        self._stack: list[dict[str, Claim]] = [_index(claims)]

    @property
    def _d(self) -> dict[str, Claim]:
        return self._stack[-1]

    def __getitem__(self, key: str) -> Claim:
        d = self._d
        if key not in d:
            raise KeyError(f"unknown claim id {key!r}; known: {list(d)}")
        return d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"<claim catalog: {len(self)} claims>"


#: Claim id -> :class:`~.claim.Claim`, in the paper's order.
CLAIMS: Mapping[str, Claim] = _Catalog(_BASE)


@contextlib.contextmanager
def extended(*claims: Claim) -> Iterator[Mapping[str, Claim]]:
    """Add claim records to :data:`CLAIMS` inside a ``with`` block.

    Everything that reads the catalog -- ``bnbounds check`` (table, ``--json``,
    ``--junit``), :func:`bnbounds.checks.run_all`, the installed suite, the docs
    table -- sees them. The catalog is restored on exit.

    Parameters
    ----------
    *claims : Claim
        New records (their ids must not be in the catalog).

    Yields
    ------
    Mapping
        The extended catalog.
    """
    cat: Any = CLAIMS
    merged = dict(cat._d)
    for cl in claims:
        if not isinstance(cl, Claim):
            raise BNBoundsValueError(
                f"claims contains {type(cl).__name__}; expected bnbounds.checks.Claim"
            )
        if cl.id in merged:
            raise BNBoundsValueError(f"claim id {cl.id!r} is in the catalog already")
        merged[cl.id] = cl
    cat._stack.append(merged)
    try:
        yield CLAIMS
    finally:
        cat._stack.remove(merged)


def _matches(cid: str, prefix: str) -> bool:
    return (
        cid == prefix
        or cid.startswith(prefix.rstrip(".") + ".")
        or cid.startswith(prefix + "-")
        or cid.startswith(prefix)
    )


def select(prefix: str | None = None) -> list[Claim]:
    """Claims whose id equals ``prefix`` or starts with it (``"B.2"``, ``"D"``...).

    Parameters
    ----------
    prefix : str, optional
        An id or a prefix; ``None`` selects every claim.

    Returns
    -------
    list of Claim

    Raises
    ------
    BNBoundsValueError
        If no claim id starts with ``prefix``.
    """
    out = [cl for cid, cl in CLAIMS.items() if prefix is None or _matches(cid, prefix)]
    if not out:
        raise BNBoundsValueError(
            f"--lemma is {prefix!r}; no claim id starts with it ({list(CLAIMS)})"
        )
    return out


def resolve(claims: Any = None) -> list[Claim]:
    """The records that ``claims`` names.

    ``None`` (all), an id or prefix, or a sequence of ids, prefixes and
    :class:`~.claim.Claim` records.

    Parameters
    ----------
    claims : None, str, Claim or sequence of those
        What to select.

    Returns
    -------
    list of Claim
        In the order given (catalog order within a prefix), without repeats.
    """
    if claims is None or isinstance(claims, (str, Claim)):
        claims = [claims] if claims is not None else [None]
    out: list[Claim] = []
    for item in claims:
        picked = [item] if isinstance(item, Claim) else select(item)
        out.extend(cl for cl in picked if cl not in out)
    return out


def claims_table() -> str:
    """The docs table of every claim (Markdown), generated from :data:`CLAIMS`.

    One row per claim: id, source, kind, mode, what the left-hand side measures. The
    page ``docs/checks.md`` holds this table between the markers
    ``<!-- claims-table:start -->`` and ``<!-- claims-table:end -->``; a test checks
    that the page matches.

    Returns
    -------
    str
    """
    rows = [
        "| claim | source | kind | mode | left-hand side |",
        "|---|---|---|---|---|",
    ]
    for cl in CLAIMS.values():
        what = cl.what.replace("|", "\\|")
        rows.append(
            f"| `{cl.id}` | {cl.source} | {cl.spec.kind} | {cl.mode} | {what} |"
        )
    return "\n".join(rows) + "\n"


#: Markers around the generated table in ``docs/checks.md``.
TABLE_START = "<!-- claims-table:start (generated by bnbounds.checks.claims_table) -->"
TABLE_END = "<!-- claims-table:end -->"


def with_claims_table(page: str) -> str:
    """``page`` (Markdown) with the text between the table markers regenerated.

    Regenerate the docs page with::

        from pathlib import Path
        from bnbounds.checks.catalog import with_claims_table
        p = Path("docs/checks.md")
        p.write_text(with_claims_table(p.read_text()))

    Parameters
    ----------
    page : str
        A page holding ``TABLE_START`` and ``TABLE_END``.

    Returns
    -------
    str

    Raises
    ------
    BNBoundsValueError
        If the markers are missing.
    """
    i, j = page.find(TABLE_START), page.find(TABLE_END)
    if i < 0 or j < i:
        raise BNBoundsValueError(
            f"page has no {TABLE_START!r} ... {TABLE_END!r} markers"
        )
    return page[: i + len(TABLE_START)] + "\n" + claims_table() + page[j:]
