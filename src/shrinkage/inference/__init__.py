"""Honest uncertainty after selection, computed from the same certified paths.

* :func:`stability_selection`: selection probabilities along the path from complementary
  subsample pairs, the stable set and its bound on expected false selections;
* :func:`selective_lasso`: p-values and intervals for the lasso's selected coefficients
  given the selection event (or by data splitting when ``lam`` comes from CV);
* :func:`debiased_lasso`: intervals for every coefficient when ``p > n`` (desparsified
  lasso with nodewise regressions);
* :func:`selection_bootstrap`: how often the whole CV-and-rule procedure keeps each
  feature.

Each returns an :class:`InferenceResult` (``.summary()`` is a table with one row per
feature). The Bayesian reading (posterior intervals) is in :mod:`shrinkage.bayes`.
"""

from .bootstrap import selection_bootstrap
from .debiased import debiased_lasso
from .result import InferenceResult
from .selective import selective_lasso
from .stability import complementary_pairs, stability_selection

__all__ = ["InferenceResult", "complementary_pairs", "debiased_lasso", "selection_bootstrap",
           "selective_lasso", "stability_selection"]
