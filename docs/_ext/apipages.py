"""Write the API reference pages from the package's ``__all__`` lists.

Every documented module (:data:`MODULES`, then any other submodule that ``shrinkage.__all__``
names, so a new capability's module appears without editing the docs) gets a page
``api/generated/<module>.rst``: its docstring, then
tables of its functions, classes and exceptions (one stub page each, made by autosummary)
and its data. The names come from the module's ``__all__``, so a name added there appears
in the reference without editing the docs. ``shrinkage`` itself gets a page of its
public names grouped by task; a name that a documented submodule also exports links to
that submodule's entry, so each object is documented once.

The reference's table of contents is written to ``api/generated/toctree.inc``, which
``api/index.rst`` includes. The pages are written when this extension is loaded, before
Sphinx looks for sources, and rewritten only when their text changes.
"""

from __future__ import annotations

import importlib
import inspect
import os
import types
from pathlib import Path

#: the documented modules: (module, title), in the order of the reference's contents
MODULES = (
    ("shrinkage.results", "Result objects"),
    ("shrinkage.units", "Units of other libraries"),
    ("shrinkage.tuning.selection", "Selection rules"),
    ("shrinkage.tuning.metrics", "Validation metrics"),
    ("shrinkage.tuning.folds", "Folds"),
    ("shrinkage.tuning.extension", "Grid extension"),
    ("shrinkage.tuning.held_out_stop", "Ending fold paths past the minimum"),
    ("shrinkage.tuning.information", "Information criteria"),
    ("shrinkage.tuning.curves", "The overfitting comparison"),
    ("shrinkage.tuning.gamma_cv", "MCP/SCAD over gamma x lam"),
    ("shrinkage.tuning.adaptive", "The adaptive lasso"),
    ("shrinkage.tuning.grid_choice", "The chosen cell of a two-axis grid"),
    ("shrinkage.tuning.nonconvex", "One nonconvexity warning per fit"),
    ("shrinkage.estimator_grids", "The estimators' second tuning axis"),
    ("shrinkage.model.concave", "MCP and SCAD penalties"),
    ("shrinkage.model.groups", "Group penalties"),
    ("shrinkage.model.group_concave", "Group MCP and SCAD"),
    ("shrinkage.model.cox", "The Cox family"),
    ("shrinkage.tuning.cox_scores", "Cox validation scores"),
    ("shrinkage.survival_estimators", "The penalised Cox estimator"),
    ("shrinkage.survival", "Survival mathematics"),
    ("shrinkage.bayes", "Bayesian regularization"),
    ("shrinkage.torch", "Networks (PyTorch)"),
    ("shrinkage.distributed", "Data larger than memory"),
    ("shrinkage.plotting", "Plots"),
    ("shrinkage.report", "The HTML report"),
    ("shrinkage.io", "Model files"),
    ("shrinkage.datasets", "Data sets"),
    ("shrinkage.validation", "Input checks"),
)

#: implementation modules whose docstrings explain their documented module's names:
#: shown (docstring only) at the end of that module's page
NOTES = {
    "shrinkage.torch": ("shrinkage.torch.penalties", "shrinkage.torch.structural",
                        "shrinkage.torch.masks", "shrinkage.torch.early_stopping",
                        "shrinkage.torch.sweep", "shrinkage.torch.estimators"),
    "shrinkage.survival": ("shrinkage.survival.concordance", "shrinkage.survival.baseline"),
    "shrinkage.model.cox": ("shrinkage.model.cox_math", "shrinkage.engine.cox"),
    "shrinkage.distributed": ("shrinkage.distributed.blocks", "shrinkage.distributed.moments",
                              "shrinkage.distributed.problem",
                              "shrinkage.distributed.gaussian",
                              "shrinkage.distributed.newton",
                              "shrinkage.distributed.pass_fit",
                              "shrinkage.distributed.path_window", "shrinkage.distributed.cv",
                              "shrinkage.distributed.read",
                              "shrinkage.distributed.cox_blocks",
                              "shrinkage.distributed.cox_fit",
                              "shrinkage.distributed.cox_route",
                              "shrinkage.distributed.wide", "shrinkage.distributed.wide_source",
                              "shrinkage.distributed.wide_stats",
                              "shrinkage.distributed.wide_screen",
                              "shrinkage.distributed.wide_cache",
                              "shrinkage.distributed.wide_solve",
                              "shrinkage.distributed.wide_cv",
                              "shrinkage.distributed.multinomial",
                              "shrinkage.distributed.multinomial_blocks",
                              "shrinkage.distributed.multinomial_cv",
                              "shrinkage.distributed.stratify"),
    "shrinkage.io": ("shrinkage.io.checks", "shrinkage.io.limits", "shrinkage.io.files"),
    "shrinkage.plotting": ("shrinkage.plotting.penalty",),
    "shrinkage.report": ("shrinkage.report.penalty_section",),
}

#: old module paths that still import (``shrinkage.moved``) -> the documented module
MODULE_ALIASES = {
    "shrinkage.selection": "shrinkage.tuning.selection",
    "shrinkage.metrics": "shrinkage.tuning.metrics",
}

#: the layers named in ``shrinkage.__all__``: documented by their docstrings only
LAYERS = ("shrinkage.model", "shrinkage.engine", "shrinkage.tuning")

#: the top-level names, grouped by what a user does with them
GROUPS = (
    ("Paths", ("regularization_path", "Path", "ConvergenceWarning")),
    ("Choosing the strength", (
        "cross_validate", "CVResult", "cross_validate_elastic_net", "ElasticNetCVResult",
        "cross_validate_relaxed", "RelaxedCVResult", "make_folds", "information_criterion",
        "select_by_criterion")),
    ("Estimators (scikit-learn)", ("PenalizedRegressor", "PenalizedClassifier")),
    ("Ridge", ("ridge_path", "RidgeResult", "compare_fits")),
    ("Bayesian reading", (
        "EvidenceRidge", "BayesianLasso", "glm_evidence", "implied_prior",
        "penalty_from_prior")),
    ("Networks", ("SweepResult",)),
    ("Model files", ("save", "load")),
    ("Data larger than memory", ("distributed_path", "distributed_cv")),
)


def _kind(obj):
    if isinstance(obj, types.ModuleType):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "data"


def _table(names, toctree=True):
    lines = [".. autosummary::"]
    if toctree:
        lines.append("   :toctree: .")
    lines += ["   :nosignatures:", ""]
    lines += [f"   {name}" for name in names]
    return lines + [""]


def _title(text, char="="):
    return [text, char * len(text), ""]


def module_page(modname, title):
    """The reST of one module's page."""
    module = importlib.import_module(modname)
    by_kind = {"function": [], "class": [], "exception": [], "data": [], "module": []}
    for name in getattr(module, "__all__", ()):
        by_kind[_kind(getattr(module, name))].append(name)
    lines = _title(f"{modname}: {title}")
    lines += [f".. automodule:: {modname}", "   :no-members:", "",
              f".. currentmodule:: {modname}", ""]
    for kind, heading in (("function", "Functions"), ("class", "Classes"),
                          ("exception", "Exceptions and warnings")):
        if by_kind[kind]:
            lines += _title(heading, "-") + _table(by_kind[kind])
    if by_kind["data"]:
        lines += _title("Data", "-")
        for name in by_kind["data"]:
            lines += [f".. autodata:: {name}", ""]
    for note in NOTES.get(modname, ()):
        lines += _title(f"Notes: {note}", "-")
        lines += [f".. automodule:: {note}", "   :no-members:"]
        parent, _, last = note.rpartition(".")
        # what the package holds under that name before the import (a lazy package's
        # __getattr__ knows only its exports, not its submodules)
        before = vars(importlib.import_module(parent)).get(last)
        module = importlib.import_module(note)
        if before is not None and before is not module:
            lines.append("   :no-index:")  # the package exports an object of that name
        lines.append("")
    return "\n".join(lines)


def _home(name, obj):
    """The documented submodule that exports ``obj`` as ``name``, or None."""
    for modname, _ in documented_modules():
        module = importlib.import_module(modname)
        if name in getattr(module, "__all__", ()) and getattr(module, name) is obj:
            return modname
    return None


def top_page():
    """The reST of the page of ``shrinkage``'s own names."""
    import shrinkage

    public = [n for n in shrinkage.__all__ if n != "__version__"]
    grouped = {n for _, names in GROUPS for n in names}
    modules = [n for n in public if isinstance(getattr(shrinkage, n), types.ModuleType)]
    rest = [n for n in public if n not in grouped and n not in modules]
    lines = _title("shrinkage: the public names")
    lines += [".. automodule:: shrinkage", "   :no-members:", "",
              ".. currentmodule:: shrinkage", "",
              "Every name below is importable from ``shrinkage`` directly "
              "(``from shrinkage import cross_validate``). A name that a submodule also "
              "exports is documented once, on that submodule's page.", ""]
    for heading, names in GROUPS + (("Other", tuple(rest)),):
        if not names:
            continue
        homes = {n: _home(n, getattr(shrinkage, n)) for n in names}
        lines += _title(heading, "-")
        own = [n for n in names if homes[n] is None]
        elsewhere = [f"{homes[n].removeprefix('shrinkage.')}.{n}" for n in names
                     if homes[n] is not None]
        if own:
            lines += _table(own)
        if elsewhere:
            lines += _table(elsewhere, toctree=False)
    lines += _title("Submodules", "-")
    for n in modules:
        target = getattr(shrinkage, n).__name__
        lines.append(f"- ``shrinkage.{n}``: :mod:`{target}`")
    lines.append("")
    return "\n".join(lines)


def layers_page():
    """The reST of the page of the layers ``model``, ``engine`` and ``tuning``."""
    lines = _title("The layers: model, engine, tuning")
    lines += ["These packages hold the implementation (see :doc:`../../design`). Their "
              "public names are the ones above; the packages themselves are documented "
              "by their docstrings.", ""]
    for modname in LAYERS:
        lines += _title(modname, "-")
        lines += [f".. automodule:: {modname}", "   :no-members:", ""]
    return "\n".join(lines)


def _write(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def documented_modules():
    """:data:`MODULES`, then every other submodule that ``shrinkage.__all__`` names (a new
    capability's module, titled by the first line of its docstring), in that order."""
    import shrinkage

    known = {m for m, _ in MODULES} | set(LAYERS)
    extra = []
    for name in shrinkage.__all__:
        obj = getattr(shrinkage, name)
        if isinstance(obj, types.ModuleType) and obj.__name__ not in known:
            known.add(obj.__name__)
            summary = (inspect.getdoc(obj) or obj.__name__).splitlines()[0].rstrip(".")
            extra.append((obj.__name__, summary.split(": ")[0] if ": " in summary
                          else summary))
    return (*MODULES, *extra)


def toctree_lines():
    """The API reference's table of contents (included by ``api/index.rst``)."""
    lines = [".. toctree::", "   :maxdepth: 1", "", "   generated/shrinkage"]
    lines += [f"   generated/{modname}" for modname, _ in documented_modules()]
    return "\n".join([*lines, "   generated/layers", ""])


def write_pages(outdir):
    """Write every generated page into ``outdir``; return the module names documented."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    _write(outdir / "shrinkage.rst", top_page())
    _write(outdir / "layers.rst", layers_page())
    modules = documented_modules()
    for modname, title in modules:
        _write(outdir / f"{modname}.rst", module_page(modname, title))
    _write(outdir / "toctree.inc", toctree_lines())
    return ["shrinkage", *(m for m, _ in modules)]


def aliases():
    """Other names of documented objects -> the name they are documented under.

    ``shrinkage.save`` is documented as ``shrinkage.io.save``; ``shrinkage.torch.L1`` is
    defined in ``shrinkage.torch.penalties``: a docstring may use either name.
    """
    import shrinkage

    out = {}
    documented = [("shrinkage", n) for n in shrinkage.__all__ if n != "__version__"]
    documented += [(m, n) for m, _ in documented_modules()
                   for n in getattr(importlib.import_module(m), "__all__", ())]
    for modname, name in documented:
        obj = getattr(importlib.import_module(modname), name)
        home = _home(name, obj) if modname == "shrinkage" else modname
        target = f"{home or modname}.{name}"
        if isinstance(obj, types.ModuleType):
            out.setdefault(f"{modname}.{name}", obj.__name__)
            continue
        out.setdefault(f"shrinkage.{name}" if modname == "shrinkage" else target, target)
        defined = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if all(isinstance(x, str) for x in defined) and "<" not in defined[1]:
            out.setdefault(f"{defined[0]}.{defined[1]}", target)
    return {k: v for k, v in out.items() if k != v}


def _resolve_alias(app, env, node, contnode):
    """Resolve a Python reference through :func:`aliases` (``missing-reference``)."""
    if node.get("refdomain") != "py":
        return None
    table = app.env.shrinkage_aliases
    target = node["reftarget"]
    candidates = [target]
    module, klass = node.get("py:module"), node.get("py:class")
    if module and "." not in target:  # a relative name inside a module or a class
        parts = module.split(".")
        candidates = [f"{module}.{klass}.{target}" if klass else None]
        candidates += [".".join(parts[:i] + [target]) for i in range(len(parts), 0, -1)]
        if os.environ.get("SHRINKAGE_DOCS_DEBUG"):
            print("relative ref", target, module, klass, node.get("refdoc"))
    domain = env.get_domain("py")
    for name in filter(None, candidates):
        for old, new in MODULE_ALIASES.items():
            if name == old or name.startswith(old + "."):
                name = new + name[len(old):]
        head, _, tail = name.rpartition(".")
        for option in (table.get(name), f"{table[head]}.{tail}" if head in table else None,
                       name if name != target else None):
            if option:
                found = domain.resolve_xref(env, node["refdoc"], app.builder,
                                            node["reftype"], option, node, contnode)
                if found is not None:
                    return found
    if node["reftype"] == "attr" and module and klass and "." not in target:
        return _field_of_class(app, env, node, contnode, module, klass, target)
    return None


def _field_of_class(app, env, node, contnode, module, klass, field):
    """``:attr:`field``` inside a class whose docstring documents ``field`` in its
    Attributes section (a dataclass field, which has no target of its own): a link to the
    class."""
    try:
        cls = importlib.import_module(module)
        for part in klass.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError):
        return None
    fields = getattr(cls, "__dataclass_fields__", {})
    if field not in fields and field not in getattr(cls, "__annotations__", {}):
        return None
    name = f"{module}.{klass}"
    domain = env.get_domain("py")
    for option in (env.shrinkage_aliases.get(name), name):
        if option:
            found = domain.resolve_xref(env, node["refdoc"], app.builder, "class", option,
                                        node, contnode)
            if found is not None:
                return found
    return None


_DATA_DOCS = {}


def data_doc(obj, name):
    """The ``#:`` comment above ``name = ...`` in the shrinkage module that defines the
    data object ``obj``, as lines; None when there is none.

    autodoc reads such comments from the module a name is documented under, so a constant
    re-exported by a package (``shrinkage.torch.KNOBS``, defined in
    ``shrinkage.torch.training``) would show the docstring of its type (``dict``'s) instead.
    """
    import sys

    from sphinx.pycode import ModuleAnalyzer, PycodeError

    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith("shrinkage") or getattr(module, name, None) is not obj:
            continue
        if modname not in _DATA_DOCS:
            try:
                _DATA_DOCS[modname] = ModuleAnalyzer.for_module(modname).find_attr_docs()
            except PycodeError:
                _DATA_DOCS[modname] = {}
        lines = _DATA_DOCS[modname].get(("", name))
        if lines:
            return list(lines)
    return None


def _data_docstring(app, what, name, obj, options, lines):
    """Give documented data their ``#:`` comment, never their type's docstring
    (``autodoc-process-docstring``, run before numpydoc validates the result)."""
    if what != "data" or not name.startswith("shrinkage."):
        return
    doc = data_doc(obj, name.rpartition(".")[2])
    if doc is not None:
        lines[:] = doc
    elif lines and "\n".join(lines).strip() == inspect.cleandoc(type(obj).__doc__ or ""):
        lines[:] = []  # undocumented: numpydoc's validation (GL08) then says so


def setup(app):
    """Write the pages as soon as the extension loads (before sources are collected)."""
    write_pages(Path(app.srcdir) / "api" / "generated")
    def remember(app_):
        app_.env.shrinkage_aliases = aliases()

    app.connect("builder-inited", remember)
    app.connect("missing-reference", _resolve_alias)
    app.connect("autodoc-process-docstring", _data_docstring, priority=100)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
