"""Sphinx configuration: ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``.

Needs ``pip install '.[docs]'``. The pages are Markdown (MyST); the API reference
is generated from the numpydoc docstrings; the command pages (``commands.md``,
``cli/*.md``) are generated from the argparse definitions by ``gen_commands.py``.

Cross-references to Python, NumPy, SciPy and SymPy go through intersphinx. CI has
no network beyond the package registries, so the inventories are read from
``docs/_intersphinx/<name>.inv`` when a copy is there (vendor one with
``curl -o docs/_intersphinx/numpy.inv https://numpy.org/doc/stable/objects.inv``) and
are skipped otherwise. A nitpicky build (``-n``) must still be clean without them:
:data:`nitpick_ignore_regex` lists the targets that belong to those projects (and
only those), so a broken reference to bnbounds' own API is still an error.
"""

from pathlib import Path

from bnbounds import __version__

HERE = Path(__file__).resolve().parent

project = "bnbounds"
author = "bnbounds developers"
release = __version__
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
master_doc = "index"
exclude_patterns = ["_build", "_intersphinx"]
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
# module constants (``EXAMPLE_POINT``, ``VERDICTS``, ...) are referenced from
# docstrings: document them even when they carry no ``#:`` comment
autodoc_default_options = {"undoc-members": True, "ignore-module-all": True}
myst_heading_anchors = 3
html_theme = "alabaster"

_DOCS_URLS = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "scipy": "https://docs.scipy.org/doc/scipy",
    "sympy": "https://docs.sympy.org/latest",
}
intersphinx_mapping = {
    name: (url, str(HERE / "_intersphinx" / f"{name}.inv"))
    for name, url in _DOCS_URLS.items()
    if (HERE / "_intersphinx" / f"{name}.inv").is_file()
}
intersphinx_disabled_reftypes = ["*"]

#: Targets of the external projects above (unresolvable when their inventory is
#: not vendored) and the prose type words of numpydoc ("array of shape (n,)",
#: "optional", "callable"): never bnbounds' own names.
_EXTERNAL = (
    r"(numpy|np|scipy|sympy|sp|mpmath|numba|rich|dask|distributed|pyarrow|"
    r"matplotlib|hypothesis|fractions|pickle|json|xml)"
)
_BUILTIN = (
    r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object|type|None|"
    r"callable|Callable|Any|Iterable|Iterator|Sequence|Mapping|Literal|IO|Path|"
    r"os\.PathLike|PathLike|TextIO|BinaryIO|Generator|optional|default|"
    r"array|array_like|ndarray|Generator|Expr|Basic|Relational|Interval|Set|"
    r"Protocol|ValueError|TypeError|Exception|KeyboardInterrupt|RuntimeError)"
)
nitpick_ignore_regex = [
    # private modules and names (a component starting with "_") are not part of the
    # API reference; docstrings may still name them for the reader of the source
    (r"py:.*", r"(.*\.)?_[A-Za-z0-9].*"),
    (r"py:.*", _EXTERNAL + r"(\..*)?"),
    (
        r"py:.*",
        r"(typing|collections\.abc|pathlib|os|io|argparse|numbers|concurrent)\..*",
    ),
    (r"py:.*", _BUILTIN),
]
