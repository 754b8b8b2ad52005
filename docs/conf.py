"""Sphinx configuration of egid's documentation.

Build (offline, warnings as errors)::

    sphinx-build -W -b html docs docs/_build/html

Nothing here reaches the network: no intersphinx, MathJax served from the build's own ``_static/mathjax`` (the
copy that the ``sphinx-mathjax-offline`` package ships), the walkthrough notebook rendered from its stored outputs
without executing it, and the command-line and feature references generated from the code by ``_ext/egid_docs.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import egid  # noqa: E402  (after the path set-up; the installed package, editable or not)

project = "egid"
author = "the egid developers"
copyright = "the egid developers, Apache-2.0"
release = egid.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "sphinx-mathjax-offline",  # the package's import name has dashes: it ships MathJax 3 and copies it into _static
    "egid_docs",
]

# Sources: reStructuredText and MyST Markdown pages, and the walkthrough notebook (a link to reports/).
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "_figures", "Thumbs.db", ".DS_Store"]

# MyST: heading anchors for links such as [the CNN head](models.md#the-cnn-head), $...$ maths, ::: fences.
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]

# The notebook is executed by the test suite (tests/pipelines or reports), never by the docs build.
nb_execution_mode = "off"
nb_merge_streams = True

# MathJax from the build folder (sphinx-mathjax-offline copies its files to _static/mathjax after the build).
mathjax_path = "mathjax/tex-chtml.js"

# autodoc + numpydoc: members in source order, type hints in the signature, no per-class member tables (numpydoc's
# autosummary tables would need stub pages).
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "no-value": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# Physicists write |eta| in docstrings, which reStructuredText reads as a substitution: define it as the literal
# text, so such a docstring renders as written (the code's docstrings are being changed to ``|eta|``).
rst_prolog = r"""
.. |eta| replace:: \|eta\|
"""

html_theme = "furo"
html_title = f"egid {release}"
html_static_path = ["_static"]
html_last_updated_fmt = None
pygments_style = "sphinx"
