"""The docs stay true to the code: every claim and command the code has is documented."""

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
