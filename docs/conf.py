"""Sphinx configuration: ``sphinx-build -b html docs docs/_build/html``.

Needs ``pip install '.[docs]'``. The pages are Markdown (MyST); the API reference
is generated from the numpydoc docstrings.
"""

from bnbounds import __version__

project = "bnbounds"
author = "bnbounds developers"
release = __version__
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
master_doc = "index"
exclude_patterns = ["_build"]
numpydoc_show_class_members = False
autodoc_member_order = "bysource"
myst_heading_anchors = 3
html_theme = "alabaster"
