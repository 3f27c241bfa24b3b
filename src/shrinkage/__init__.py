"""shrinkage: regularization done exactly and fast.

The public names are loaded lazily so that ``import shrinkage`` stays cheap: numba and
scikit-learn are imported only when a fit is first requested.
"""

from __future__ import annotations

import importlib

from . import moved
from .version import __version__

moved.install()  # the module paths of 0.1.0 (shrinkage.cv, shrinkage.ridge, ...) still import

# public name -> module that defines it
_LAZY = {
    # results shared by every layer
    "Path": "shrinkage.results",
    "CVResult": "shrinkage.results",
    "SweepResult": "shrinkage.results",
    # the path engine
    "regularization_path": "shrinkage.entry",
    "ConvergenceWarning": "shrinkage.engine.path",
    # tuning
    "selection": "shrinkage.tuning.selection",
    "cross_validate": "shrinkage.entry",
    "cross_validate_elastic_net": "shrinkage.tuning.grid_cv",
    "ElasticNetCVResult": "shrinkage.tuning.grid_cv",
    "cross_validate_relaxed": "shrinkage.tuning.relaxed",
    "RelaxedCVResult": "shrinkage.tuning.relaxed",
    "make_folds": "shrinkage.tuning.folds",
    "metrics": "shrinkage.tuning.metrics",
    "information_criterion": "shrinkage.tuning.information",
    "select_by_criterion": "shrinkage.tuning.information",
    "PenalizedRegressor": "shrinkage.estimators",
    "PenalizedClassifier": "shrinkage.estimators",
    "PenalizedCox": "shrinkage.survival_estimators",
    "compare_fits": "shrinkage.tuning.curves",
    # ridge, units, Bayes
    "ridge_path": "shrinkage.tuning.ridge",
    "RidgeResult": "shrinkage.tuning.ridge",
    "units": "shrinkage.units",
    "bayes": "shrinkage.bayes",
    "EvidenceRidge": "shrinkage.bayes",
    "BayesianLasso": "shrinkage.bayes",
    "glm_evidence": "shrinkage.bayes",
    "implied_prior": "shrinkage.bayes",
    "penalty_from_prior": "shrinkage.bayes",
    # inference after selection
    "inference": "shrinkage.inference",
    "stability_selection": "shrinkage.inference",
    "selective_lasso": "shrinkage.inference",
    "debiased_lasso": "shrinkage.inference",
    "selection_bootstrap": "shrinkage.inference",
    # the layers, for those who reach below the public names
    "model": "shrinkage.model",
    "engine": "shrinkage.engine",
    "tuning": "shrinkage.tuning",
    # see it, ship it
    "plotting": "shrinkage.plotting",
    "report": "shrinkage.report",
    "datasets": "shrinkage.datasets",
    "io": "shrinkage.io",
    "save": "shrinkage.io",
    "load": "shrinkage.io",
    # data larger than memory (optional extra; dask is imported only when a fit runs)
    "distributed": "shrinkage.distributed",
    "distributed_path": "shrinkage.distributed.fit:regularization_path",
    "distributed_cv": "shrinkage.distributed.cv:cross_validate",
    # networks (optional extra; torch is imported only when this is touched)
    "torch": "shrinkage.torch",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'shrinkage' has no attribute {name!r}") from None
    module_name, _, attr = module_name.partition(":")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, attr or name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
