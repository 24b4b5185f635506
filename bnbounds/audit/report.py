"""The referee's report: Markdown (with a Mermaid graph), HTML (with an inline SVG graph).

:func:`markdown` and :func:`html` render an :class:`~bnbounds.audit.run.AuditReport`;
:func:`findings_markdown` is the short block the README carries between
``<!-- audit-findings:start -->`` and ``<!-- audit-findings:end -->``. Nothing here
prints or writes; the command writes the files (atomically, through ``bnbounds._io``).
"""

# Long lines hold verdict texts, paper formulas and report markup verbatim.
# ruff: noqa: E501

from __future__ import annotations

import html as _html
from collections import defaultdict

from ..constants.proofs import PROOF_STEPS
from .run import NAMES, AuditReport
from .verdicts import FAILING, STEP_VERDICTS

__all__ = [
    "COLOURS",
    "dependency_svg",
    "findings_markdown",
    "html",
    "markdown",
    "mermaid",
]

#: Colour of each verdict in the graphs.
COLOURS = {
    "proved": "#2e7d32",
    "holds-numerically": "#9ccc65",
    "not-determined": "#bdbdbd",
    "needs-hypothesis": "#ffb300",
    "false-as-stated": "#ef6c00",
    "fails": "#c62828",
}
_RANK = {v: i for i, v in enumerate(STEP_VERDICTS)}


def _worst(verdicts) -> str:
    return max(verdicts, key=lambda v: _RANK[v]) if verdicts else "not-determined"


def _sentence(r) -> str:
    """One sentence a person understands: the step's meaning and where it fails."""
    text = r.meaning or r.printed
    if r.verdict in FAILING:
        where = r.region if r.method != "search" else "a certified witness"
        extra = (
            f" Holds when: {r.missing}."
            if r.missing and not r.missing.startswith("not derived")
            else ""
        )
        return f"**{r.id}** ({r.source}): {text} [{r.verdict}; {where}]{extra}"
    return f"**{r.id}** ({r.source}): {text} [{r.verdict}]"


def _lemma_graph(report: AuditReport):
    """Lemma-level nodes (worst verdict of their steps) and the edges between them."""
    node_v = defaultdict(list)
    edges = set()
    for r in report.steps:
        lem = r.lemma or r.id.split("/")[0]
        node_v[lem].append(r.verdict)
        for dep in r.depends_on:
            st = PROOF_STEPS.get(dep)
            dl = st.lemma if st else dep.split("/")[0]
            if dl and dl != lem:
                edges.add((dl, lem))
    return {k: _worst(v) for k, v in node_v.items()}, sorted(edges)


def mermaid(report: AuditReport) -> str:
    """A Mermaid flowchart of the lemmas, each coloured by the worst verdict of its steps."""
    nodes, edges = _lemma_graph(report)
    ids = {k: f"n{i}" for i, k in enumerate(sorted(nodes))}
    lines = ["```mermaid", "flowchart LR"]
    for k, v in sorted(nodes.items()):
        lines.append(f'  {ids[k]}["{k}: {v}"]')
        lines.append(f"  style {ids[k]} fill:{COLOURS[v]}")
    for a, b in edges:
        if a in ids and b in ids:
            lines.append(f"  {ids[a]} --> {ids[b]}")
    lines.append("```")
    return "\n".join(lines)


_LAYER = {
    "C.2": 0,
    "D.2": 1,
    "D.3": 2,
    "E.1": 2,
    "F.3": 2,
    "E.5": 3,
    "F.4": 3,
    "G": 3,
    "2.1": 4,
    "2.2": 4,
}


def dependency_svg(report: AuditReport) -> str:
    """The lemma graph as an inline SVG (layers: C, D, E/F lemmas, theorems, main text)."""
    nodes, edges = _lemma_graph(report)
    cols = defaultdict(list)
    for k in sorted(nodes):
        cols[_LAYER.get(k, 3)].append(k)
    pos = {}
    w, h, dx, dy = 130, 34, 190, 60
    for c, ks in cols.items():
        for i, k in enumerate(ks):
            pos[k] = (20 + c * dx, 20 + i * dy)
    width = 40 + (max(cols) + 1) * dx
    height = 40 + max(len(v) for v in cols.values()) * dy
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>',
    ]
    for a, b in edges:
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            out.append(
                f'<line x1="{x1 + w}" y1="{y1 + h / 2}" x2="{x2}" y2="{y2 + h / 2}" stroke="#555" marker-end="url(#a)"/>'
            )
    for k, (x, y) in pos.items():
        v = nodes[k]
        out.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{COLOURS[v]}" stroke="#333"><title>{_html.escape(k)}: {v}</title></rect>'
        )
        out.append(
            f'<text x="{x + 6}" y="{y + 14}">{_html.escape(k)}</text><text x="{x + 6}" y="{y + 28}" font-size="10">{v}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _theorem_line(t) -> str:
    first = ", ".join(t.first_failing) or "none"
    return f"- **{NAMES.get(t.theorem, t.theorem)}: {t.status}**; first failing step(s): {first}"


def _mech_flag(report: AuditReport) -> str:
    return "" if report.mechanism_status else " --no-mechanisms"


def _applicability_text(app: dict) -> str:
    """One line from :class:`bnbounds.audit.applicability.Applicability` (or its dict)."""
    on = app.get("nonempty_on")
    where = ("non-empty on " + ", ".join(on)) if on else "empty on every example"
    if on is None:
        where = str(app.get("status", "not-determined"))
    return f"{where}. {app.get('finding', '')} {app.get('region', '')}".strip()


def findings_markdown(report: AuditReport) -> str:
    """The README's findings block: one line per theorem, then each root finding."""
    lines = [
        f"Generated by `bnbounds audit --profile {report.profile}{_mech_flag(report)}` (seed {report.seed}).",
        "",
    ]
    for t in report.theorems:
        lines.append(_theorem_line(t))
        if t.status == "proved-after-repairs":
            fixes = [
                rp["description"]
                for rp in t.repairs
                if rp["kind"] in ("step-size", "statement")
            ]
            lines.append("  - corrected: " + "; ".join(fixes))
    lines.append("")
    seen = set()
    for t in report.theorems:
        for sid in t.first_failing:
            if sid in seen:
                continue
            seen.add(sid)
            lines.append("- " + _sentence(report.step(sid, t.theorem)))
    return "\n".join(lines) + "\n"


def _table(report: AuditReport, theorem: str) -> list[str]:
    rows = [
        "| step | source | printed | verdict | region / witness | evidence |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.steps:
        if r.theorem != theorem:
            continue
        where = r.region or ""
        if r.witness and r.witness.get("point"):
            pt = ", ".join(f"{k}={v:.4g}" for k, v in r.witness["point"].items())
            where += (
                f" (witness {pt}, ratio {r.witness.get('ratio', float('nan')):.4g})"
            )
        ev = r.method
        if r.method == "search":
            ev += f", {r.evidence.get('samples')} samples, worst ratio {r.worst_ratio:.3g}"
        cells = [f"`{r.id}`", r.source, r.printed, f"**{r.verdict}**", where, ev]
        rows.append(
            "| "
            + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells)
            + " |"
        )
    return rows


def markdown(report: AuditReport) -> str:
    """The full report in Markdown."""
    out = [
        "# bnbounds audit",
        "",
        f"Profile `{report.profile}`, seed {report.seed}, {report.elapsed_s:.1f} s.",
        f"Mechanism checks: {report.mechanism_status or 'not run'}.",
        "",
        "## Verdicts",
        "",
    ]
    out += [_theorem_line(t) for t in report.theorems]
    out += [
        "",
        "## Dependency graph (lemmas coloured by the worst verdict of their steps)",
        "",
        mermaid(report),
        "",
        "## Findings",
        "",
    ]
    out += [findings_markdown(report)]
    for t in report.theorems:
        out += [
            f"## {NAMES.get(t.theorem, t.theorem)}",
            "",
            f"Status: **{t.status}**.",
            "",
        ]
        if t.repairs:
            out += [
                "Repairs tried (the whole chain is audited again with all of them):",
                "",
            ]
            out += [
                f"- `{rp['id']}` ({rp['kind']}): {rp['description']}"
                for rp in t.repairs
            ]
            out += [
                "",
                f"After the repairs still failing: {', '.join(t.still_failing) or 'none'}; "
                f"not proved symbolically: {', '.join(t.still_unproved) or 'none'}.",
                "",
            ]
            out += [f"- {n}" for n in t.notes]
        if t.mechanisms:
            out += ["", "Mechanism checks:", ""]
            out += [
                f"- `{mc.get('id')}`: {mc.get('verdict')} ({mc.get('quantity', '')})"
                for mc in t.mechanisms
            ]
        if t.applicability:
            out += [
                "",
                "Applicability (is the width range non-empty?): "
                + _applicability_text(t.applicability),
            ]
        out += ["", *_table(report, t.theorem), ""]
    return "\n".join(out) + "\n"


def html(report: AuditReport, *, figures: dict[str, str] | None = None) -> str:
    """The full report as one HTML page (inline SVG graph; ``figures`` maps a caption
    to a base64 PNG of the mechanism checks)."""
    esc = _html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>bnbounds audit</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}td,th{border:1px solid #ccc;padding:3px;font-size:12px;vertical-align:top}table{border-collapse:collapse}</style></head><body>",
        f"<h1>bnbounds audit</h1><p>Profile {esc(report.profile)}, seed {report.seed}, {report.elapsed_s:.1f} s. Mechanism checks: {esc(report.mechanism_status or 'not run')}.</p><ul>",
    ]
    for t in report.theorems:
        parts.append(
            f"<li><b>{esc(NAMES.get(t.theorem, t.theorem))}: {esc(t.status)}</b>; first failing: {esc(', '.join(t.first_failing) or 'none')}</li>"
        )
    parts.append("</ul><h2>Dependency graph</h2>" + dependency_svg(report))
    parts.append(
        "<p>"
        + " ".join(
            f"<span style='background:{c};padding:2px 6px'>{esc(v)}</span>"
            for v, c in COLOURS.items()
        )
        + "</p>"
    )
    for cap, b64 in (figures or {}).items():
        parts.append(
            f"<h2>{esc(cap)}</h2><img alt='{esc(cap)}' src='data:image/png;base64,{b64}' style='max-width:100%'>"
        )
    parts.append("<h2>Findings</h2><ul>")
    seen = set()
    for t in report.theorems:
        for sid in t.first_failing:
            if sid not in seen:
                seen.add(sid)
                parts.append(
                    f"<li>{esc(_sentence(report.step(sid, t.theorem)).replace('**', ''))}</li>"
                )
    parts.append("</ul>")
    for t in report.theorems:
        parts.append(
            f"<h2>{esc(NAMES.get(t.theorem, t.theorem))}: {esc(t.status)}</h2>"
        )
        if t.applicability:
            parts.append(
                f"<p>Applicability: {esc(_applicability_text(t.applicability))}</p>"
            )
        if t.repairs:
            parts.append(
                "<p>Repairs:</p><ul>"
                + "".join(
                    f"<li>{esc(rp['id'])} ({esc(rp['kind'])}): {esc(rp['description'])}</li>"
                    for rp in t.repairs
                )
                + "</ul>"
            )
            parts.append(
                f"<p>Still failing after repairs: {esc(', '.join(t.still_failing) or 'none')}</p>"
            )
        parts.append(
            "<table><tr><th>step</th><th>source</th><th>printed</th><th>verdict</th><th>region / witness</th><th>method</th></tr>"
        )
        for r in report.steps:
            if r.theorem != t.theorem:
                continue
            wit = ""
            if r.witness and r.witness.get("point"):
                wit = " witness " + ", ".join(
                    f"{k}={v:.4g}" for k, v in r.witness["point"].items()
                )
            parts.append(
                f"<tr><td>{esc(r.id)}</td><td>{esc(r.source)}</td><td>{esc(r.printed)}</td>"
                f"<td style='background:{COLOURS[r.verdict]}'>{esc(r.verdict)}</td><td>{esc(r.region + wit)}</td><td>{esc(r.method)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
