"""How stable is the whole choice? The bootstrap of cross-validation and the rule.

The selection a user reports comes from a procedure: fit the path, cross-validate,
apply the rule, keep the non-zero coefficients. :func:`selection_bootstrap` repeats the
whole procedure on bootstrap resamples and counts how often each feature is kept. A
resample is given as integer sample weights on the distinct rows drawn (a row drawn
three times weighs 3), so cross-validation never sees a copy of a training row among its
held-out rows.
"""

from __future__ import annotations

import numpy as np
from joblib import delayed

from ..tuning.cv import cross_validate
from ..tuning.parallel import parallel_map
from ..validation import check_design
from .design import check_level, check_response, names_of
from .result import InferenceResult

__all__ = ["selection_bootstrap"]


def selection_bootstrap(X, y, family="gaussian", *, n_boot=100, rule="1se", cv=10,
                        level=0.95, n_jobs=None, backend=None, random_state=0,
                        **cv_kwargs):
    """Inclusion frequency of every feature under the whole CV-and-rule procedure.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n, p)
    y : array-like of shape (n,)
    family : {"gaussian", "binomial", "poisson"}
        (multinomial models: :func:`stability_selection`)
    n_boot : int, default 100
        Bootstrap resamples.
    rule : str, default "1se"
        The selection rule (as in :func:`shrinkage.cross_validate`).
    cv : int, default 10
    level : float, default 0.95
        Level of the percentile intervals of the chosen coefficients.
    n_jobs : int, optional
        Resamples in parallel (threads; ``None``: every core).
    backend : str, optional
        A joblib backend (e.g. ``"dask"``).
    random_state : int, default 0
    **cv_kwargs
        Passed to :func:`shrinkage.cross_validate` (``l1_ratio``, ``penalty_factor``,
        ``standardize``, ``n_lams``, ...; not ``sample_weight``).

    Returns
    -------
    InferenceResult
        ``probability``: the share of resamples whose chosen model keeps the feature;
        ``estimate``: the chosen coefficient on the full data; ``lower``/``upper``:
        percentile interval of the chosen coefficient over the resamples (zeros included:
        it describes the procedure, it is not a confidence interval for a true
        coefficient); ``pvalue`` is NaN. ``selected``: the full-data choice. ``details``:
        ``coefs`` (``(n_boot, p)``), ``lams`` (each resample's chosen strength),
        ``lam`` (the full-data choice).

    Examples
    --------
    >>> import numpy as np
    >>> from shrinkage.inference import selection_bootstrap
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 10)); y = 3 * X[:, 0] + rng.standard_normal(100)
    >>> res = selection_bootstrap(X, y, n_boot=10, cv=5)
    >>> float(res.probability[0])
    1.0
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    level = check_level(level)
    if cv_kwargs.get("sample_weight") is not None:
        raise ValueError("selection_bootstrap resamples through sample weights; fit "
                         "without sample_weight")
    if family == "multinomial":
        raise ValueError("selection_bootstrap reports one coefficient per feature: use "
                         "stability_selection for multinomial models")
    X = check_design(X)
    n, p = X.shape
    y = check_response(y, n, family)
    full, path = cross_validate(X, y, family, cv=cv, rule=rule, random_state=random_state,
                                return_path=True, **cv_kwargs)
    chosen = path.coefs[full.index_chosen]
    rng = np.random.default_rng(random_state)
    draws = [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]

    def one(counts, seed):
        rows = np.flatnonzero(counts)
        res, fit = cross_validate(X[rows], y[rows], family, cv=cv, rule=rule,
                                  random_state=seed, n_jobs=1, return_path=True,
                                  sample_weight=counts[rows].astype(float), **cv_kwargs)
        return fit.coefs[res.index_chosen], res.lam_chosen

    out = parallel_map((delayed(one)(c, random_state + 1 + b) for b, c in enumerate(draws)),
                       n_jobs, backend, size=n * p)
    coefs = np.stack([c for c, _ in out])
    alpha = 1.0 - level
    lower, upper = np.quantile(coefs, [alpha / 2, 1 - alpha / 2], axis=0)
    details = {"coefs": coefs, "lams": np.array([lam for _, lam in out]),
               "lam": float(full.lam_chosen), "rule": full.rule, "n_boot": n_boot}
    names = names_of(X, p, path.feature_names)
    return InferenceResult("bootstrap", names, chosen.copy(), lower, upper,
                           np.full(p, np.nan), np.mean(coefs != 0, axis=0), chosen != 0,
                           level, path.family, details)
