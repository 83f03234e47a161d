"""Sphinx configuration of kgmed's documentation site.

Build it with ``bash scripts/docs.sh`` (warnings are errors). The pages are
the Markdown files of this folder, read by myst-parser, and the API
reference is generated from the numpydoc docstrings of the package. The
build needs no network: no inventory, font or script is fetched.

pytest imports this file too (``--doctest-modules``): importing it only
assigns settings and defines the hooks of ``setup``, and needs kgmed but
not Sphinx.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import kgmed

project = "kgmed"
author = "The kgmed developers"
copyright = "the kgmed developers"
release = kgmed.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx_click",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# Every cross-reference must resolve (``sphinx-build -n``). The site fetches
# no inventory, so names from other libraries stay plain text.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(builtins|collections|csv|os|pathlib|typing|urllib|numpy|scipy|pandas|networkx"
        r"|rdflib|sklearn|mlxtend|pyvis|pyspark|pyoxigraph|pyshacl|tqdm)(\..*)?",
    ),
    (r"py:func", r"repr|len|open|print|isinstance"),
]

# -- Markdown ---------------------------------------------------------------

# Anchors for the headings of every page, so [x](page.md#a-heading) resolves.
myst_heading_anchors = 3

# -- API reference ----------------------------------------------------------

# The reference pages list what to document; autosummary writes a page per
# function and class under reference/generated/ at each build (not kept in git).
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"exclude-members": "__init__, __new__"}

# The class template lists the methods; numpydoc should not list them again.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- HTML -------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = "kgmed"
html_static_path = ["_static"]
html_css_files = ["kgmed.css"]
html_show_sourcelink = False
# One sidebar with every page, grouped as docs/index.md groups them; the
# header keeps the search box and the theme switch.
html_sidebars = {"**": ["sidebar-site-nav"]}
html_theme_options = {
    "github_url": "https://github.com/kgmed/kgmed",
    "navbar_center": [],
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_context = {"default_mode": "light"}


# -- Docstrings of constants and modules ------------------------------------


def _constant_docstring(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Document a re-exported constant by the ``#:`` comment where it is defined.

    autodoc reads ``#:`` comments only in the module it documents, so a
    constant documented where users import it (``kgmed.rdf.KGMED``, defined
    in a private module) would show its type's docstring instead.
    """
    if what != "data":
        return
    from sphinx.pycode import ModuleAnalyzer  # not at the top: see the module docstring

    attribute = name.rpartition(".")[2]
    type_doc = inspect.cleandoc(type(obj).__doc__ or "")
    if lines and "\n".join(lines).strip() != type_doc.strip():
        return  # the documented module has its own comment
    for module_name, module in sorted(sys.modules.items()):
        if module_name.partition(".")[0] != "kgmed" or getattr(module, attribute, None) is not obj:
            continue
        comment = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", attribute))
        if comment:
            lines[:] = list(comment)
            return
    lines[:] = []


def _module_sections_as_rubrics(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Show a module docstring's sections (``Examples``) as rubrics.

    numpydoc does so for functions and classes, not for modules, whose
    sections would become headings of the page.
    """
    if what != "module":
        return
    out: list[str] = []
    for line in lines:
        if out and set(line.strip()) == {"-"} and len(line.strip()) == len(out[-1].strip()):
            out[-1] = f".. rubric:: {out[-1].strip()}"
            out.append("")
        else:
            out.append(line)
    lines[:] = out


def _public_bases(app: Any, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    """Show a private base class (``_MessageKeyError``) as its public bases."""
    shown: list[type] = []
    for base in bases:
        if base.__name__.startswith("_"):
            shown += [b for b in base.__bases__ if b not in shown]
        elif base not in shown:
            shown.append(base)
    bases[:] = shown


def setup(app: Any) -> None:
    """Connect the docstring hooks, before numpydoc's."""
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-process-docstring", _constant_docstring, priority=100)
    app.connect("autodoc-process-docstring", _module_sections_as_rubrics, priority=100)
