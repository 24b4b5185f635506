"""The docs stay true to the code: every claim and command the code has is in them."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", ["constants.md", "checks.md"])
def test_every_claim_id_is_documented(page):
    from bnbounds.constants import CLAIMS

    text = (DOCS / page).read_text(encoding="utf-8")
    missing = [cid for cid in CLAIMS if f"`{cid}`" not in text and cid not in text]
    assert not missing, f"{page} does not mention claim(s) {missing}"


def test_every_command_is_in_the_readme():
    from bnbounds import cli

    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    missing = [c for c in cli.COMMANDS if f"bnbounds {c}" not in readme]
    assert not missing, f"README.md does not show command(s) {missing}"


def test_every_docs_page_is_linked_from_the_index():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "index.md")
    assert [p for p in pages if p not in index] == []


def test_command_pages_are_current():
    """docs/commands.md and docs/cli/*.md are what docs/gen_commands.py writes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "gen_commands", DOCS / "gen_commands.py"
    )
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    stale = [
        rel
        for rel, text in gen.pages().items()
        if not (DOCS / rel).exists() or (DOCS / rel).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"stale command pages {stale}: run python docs/gen_commands.py"


def test_no_docs_page_names_a_path_outside_the_repository():
    pages = [DOCS.parent / "README.md", *DOCS.rglob("*.md"), *DOCS.glob("*.rst")]
    bad = [
        p.name
        for p in pages
        if "../shared" in p.read_text(encoding="utf-8")
        or "/work/" in p.read_text(encoding="utf-8")
    ]
    assert bad == []


def test_readme_cites_the_paper_as_printed():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    title = (
        "Test error guarantees for batch-normalized shallow ReLU networks trained "
        "with gradient descent"
    )
    assert title in " ".join(readme.split())
    assert "Anonymous authors" in readme
    assert "double-blind review" in readme
