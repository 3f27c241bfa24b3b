"""Sphinx configuration for the shrinkage documentation.

Build (offline, warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing here reaches the network: intersphinx is not enabled and the gallery links no
external documentation. Cross-references are checked (``nitpicky``): a reference that
does not resolve is a warning, so an error under ``-W``.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import shrinkage  # noqa: E402

project = "shrinkage"
author = "the shrinkage developers"
copyright = "the shrinkage developers"
version = release = shrinkage.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "apipages",  # docs/_ext/apipages.py: the API pages from __all__
    "pyrun",  # docs/_ext/pyrun.py: run a page's code at build time and show its output
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples/README.rst", "examples/*.py", "**/.ipynb_checkpoints",
                    "sg_execution_times.rst"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["shrinkage.css"]

# -- MyST --------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# -- autodoc / autosummary / numpydoc ---------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autosummary_ignore_module_all = False  # a module's members are its __all__
autodoc_typehints = "none"  # numpydoc writes the types from the docstrings
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # the class template lists members with autodoc
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True
# Validation of every documented object (a failure is a warning, so an error under -W):
# the structural checks that the whole library passes today, without rewriting every
# docstring to numpydoc's full style (extended summaries, examples and See Also sections
# for every name). GL08: the object has no docstring (tests/test_docs.py checks the same
# without Sphinx, for every public name, methods and properties included).
numpydoc_validation_checks = {
    "GL08",  # no docstring
    "GL05", "GL06", "GL07", "GL09", "GL10",  # tabs, unknown or misordered sections
    "PR03", "PR04", "PR06", "PR10",  # parameters: order, types, "name : type"
    "SS01", "SS03", "SS04",  # a one-line summary that ends with a period
}
numpydoc_validation_exclude = {
    r"\.__init__$",  # the class docstring documents the constructor
    r"\.__call__$",
}

# Every cross-reference must resolve (a broken {func}`...` in a page is an error under -W),
# except names of other libraries (no intersphinx: the build is offline) and a few
# implementation names that docstrings mention but the reference does not document.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|scipy|sklearn|matplotlib|torch|joblib|dask|distributed|pandas|pyarrow)"
               r"(\..*)?"),
]
nitpick_ignore = [
    ("py:mod", "shrinkage.engine.contract"),
    ("py:class", "shrinkage.engine.ridge.ExactRidge"),
    ("py:func", "shrinkage.bayes.design.prepare"),
    ("py:func", "shrinkage.plotting.paths.selected_features"),
    ("py:func", "selected_features"),
    ("py:data", "MAX_ARRAY_BYTES"),
    ("py:data", "limits.MAX_ARRAY_BYTES"),
    ("py:data", "MAX_DIMS"),
    ("py:data", "MAX_METADATA_BYTES"),
    ("py:data", "STALE_TEMPORARY_AGE"),
    ("py:func", "remove_stale_temporaries"),
    ("py:meth", "step"),
    ("py:attr", "splits"),
]

# -- sphinx-gallery ----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "backreferences_dir": "api/generated/backreferences",
    "doc_module": ("shrinkage",),
    "inspect_global_variables": False,
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {},  # no links to other projects' documentation (offline)
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"shrinkage {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "design": [], "reliability": []}
html_show_sourcelink = False



def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document a class's own members only: not the ``set_*_request`` methods that
    scikit-learn's metadata routing adds to every estimator, nor anything else defined
    outside shrinkage."""
    if what != "class" or skip:
        return None
    target = obj.fget if isinstance(obj, property) else getattr(obj, "__func__", obj)
    module = getattr(target, "__module__", None)
    if callable(target) and module is not None and not module.startswith("shrinkage"):
        return True
    return None


def setup(app):
    """Hooks of this configuration."""
    app.connect("autodoc-skip-member", _skip_foreign_members)


# Warnings the build must not turn into errors: third-party deprecations at import time.
warnings.filterwarnings("ignore", category=DeprecationWarning)
os.environ.setdefault("SHRINKAGE_DOCS_BUILD", "1")
