"""Where the modules of shrinkage 0.1.0 went: one table for imports and for model files.

Version 0.1.0 had flat modules (``shrinkage.cv``, ``shrinkage.ridge``, ...); they now live
in the layer folders. :data:`MOVED` maps each old module to the modules that hold its
names today. :func:`install` (called by ``import shrinkage``) lets ``import shrinkage.cv``
and ``from shrinkage.cv import cross_validate`` keep working through a module that
forwards attribute access, and :func:`resolve` lets :mod:`shrinkage.io` load classes that
files written by 0.1.0 name by their old module path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

__all__ = ["MOVED", "install", "resolve"]

MOVED = {
    "shrinkage.path": ("shrinkage.entry", "shrinkage.engine.path"),
    "shrinkage.losses": ("shrinkage.model.families",),
    "shrinkage.penalties": ("shrinkage.model.penalties",),
    "shrinkage.gram": ("shrinkage.engine.gram",),
    "shrinkage.newton": ("shrinkage.engine.newton",),
    "shrinkage.multinomial": ("shrinkage.engine.multinomial",),
    "shrinkage.solvers": ("shrinkage.engine.naive", "shrinkage.engine.covariance",
                          "shrinkage.engine.problem"),
    "shrinkage.cv": ("shrinkage.entry", "shrinkage.tuning.cv", "shrinkage.tuning.grid_cv",
                     "shrinkage.tuning.parallel"),
    "shrinkage.selection": ("shrinkage.tuning.selection",),
    "shrinkage.folds": ("shrinkage.tuning.folds",),
    "shrinkage.metrics": ("shrinkage.tuning.metrics",),
    "shrinkage.information": ("shrinkage.tuning.information",),
    "shrinkage.relaxed": ("shrinkage.tuning.relaxed",),
    "shrinkage.ridge": ("shrinkage.tuning.ridge", "shrinkage.engine.ridge"),
    "shrinkage._validation": ("shrinkage.validation",),
    "shrinkage._tabular": ("shrinkage.tabular",),
    "shrinkage._io_torch": ("shrinkage.io.torch_networks",),
    "shrinkage.bayes._design": ("shrinkage.bayes.design",),
    "shrinkage.bayes._gibbs": ("shrinkage.bayes.gibbs",),
    "shrinkage.torch._masks": ("shrinkage.torch.masks",),
    "shrinkage.torch._training": ("shrinkage.torch.training",),
}


class _Forwarding(types.ModuleType):
    """An old module path whose attributes are looked up in the modules that hold them."""

    def __init__(self, name, targets):
        super().__init__(name, f"moved in shrinkage 0.2: see {', '.join(targets)}")
        self.__targets = targets

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} (moved to "
                             f"{', '.join(self.__targets)}) has no attribute {name!r}")

    def __dir__(self):
        names = set()
        for target in self.__targets:
            names.update(dir(importlib.import_module(target)))
        return sorted(names)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return _Forwarding(spec.name, MOVED[spec.name])

    def exec_module(self, module):
        pass


_FINDER = _Finder()


def install():
    """Make the old module paths importable (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)


def resolve(module_name, qualname):
    """The class ``qualname`` that a file names as defined in ``module_name``.

    For a moved module, the class is looked up in the modules that hold its names today;
    returns ``(module_name_now, cls)`` or ``(module_name, None)`` when not found there.
    Only modules of this package are ever imported.
    """
    for target in MOVED.get(module_name, ()):
        cls = getattr(importlib.import_module(target), qualname, None)
        if isinstance(cls, type) and cls.__module__ == target:
            return target, cls
    return module_name, None
