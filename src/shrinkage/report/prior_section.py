"""The Bayesian reading of the report's chosen strength: the prior a penalty implies,
with the noise scale estimated from the fit (gaussian) and the sample count the weighted
likelihood speaks for."""

from __future__ import annotations

import numpy as np

from ..validation import unit_mean_weights
from .penalty_section import nonconvex_note

__all__ = ["noise_variance", "prior_sentence"]


def noise_variance(path, X, y, index, offset=None, sample_weight=None):
    """Residual variance at ``index``.

    ``sum_i v_i r_i^2 / (m - nnz - 1)`` over the ``m`` rows of positive weight, with the
    weights ``v`` scaled to mean 1 over those rows (lasso df = nnz, Zou et al. 2007): the
    variance of a row of average weight, as the weighted likelihood
    ``sum_i v_i r_i^2 / (2 sigma^2)`` reads the fit's objective; without weights, RSS over
    ``n - nnz - 1``.
    """
    y = np.asarray(y, dtype=float)
    if offset is not None:
        y = y - np.asarray(offset, dtype=float)
    r = y - (np.asarray(X @ path.coefs[index]).ravel() + path.intercepts[index])
    v, m = unit_mean_weights(sample_weight, y.size)
    dof = max(m - int(path.nnz[index]) - int(path.fit_intercept), 1)
    return float(v @ (r * r) / dof)


def prior_sentence(path, cv, X, y, n_samples, offset=None, sample_weight=None):
    """The Bayesian reading of the chosen lam (:func:`shrinkage.bayes.priors.implied_prior`)."""
    from ..bayes.priors import implied_prior

    note = nonconvex_note(path, cv)  # MCP, SCAD, the adaptive lasso
    if note is not None:
        return note
    i = cv.index_chosen
    if n_samples is None:
        return ("The implied prior needs the number of samples: pass the training data "
                "(X, y) to build_report.")
    if sample_weight is not None:  # the rows the weighted likelihood counts
        n_samples = unit_mean_weights(sample_weight, n_samples)[1]
    if path.family == "gaussian":
        if X is not None and y is not None:
            noise_sd = np.sqrt(noise_variance(path, X, y, i, offset, sample_weight))
            how = "the noise sd is estimated from the residuals at the chosen lam" + (
                "" if sample_weight is None else
                " (weighted: the sd of a row of average weight, over the rows of positive "
                "weight)")
        elif cv.metric in ("mse", "deviance"):
            noise_sd = np.sqrt(cv.mean[i])
            how = "the noise sd is estimated as the root of the CV mse at the chosen lam"
        else:
            return ("The implied prior needs the noise variance: pass the training data "
                    "(X, y) to build_report.")
    else:
        noise_sd = 1.0
        how = f"the {path.family} likelihood has no noise scale, so the noise sd is 1"
    prior = implied_prior(cv.lam_chosen, l1_ratio=path.l1_ratio, noise_sd=noise_sd,
                          n_samples=n_samples, standardize=path.standardize)
    text = prior.describe()
    if path.family == "multinomial" and path.l1_ratio > 0:
        # The L1 part of the grouped penalty is lam * sum_j ||b_j||_2 over each feature's
        # K class coefficients: its prior is one kernel per feature, not one per entry.
        text = (
            f"The multinomial penalty is grouped (one group per feature: its coefficients "
            f"for all classes, penalised by their Euclidean norm), so its Bayesian reading "
            f"is a group prior: each feature's class coefficients b_j share the kernel "
            f"exp(-||b_j|| / {prior.laplace_scale:.3g})"
            + ("" if path.l1_ratio == 1 else
               f" times a Gaussian kernel with sd {prior.gaussian_sd:.3g} per coefficient")
            + ", not a Laplace prior on each coefficient (lam = "
            f"{cv.lam_chosen:.3g}, given {n_samples:.4g} samples)."
        )
    return (f"{text} Here {how}. The fitted coefficients are the posterior mode "
            "(MAP) under this prior: the penalty is a preference, stated before seeing the "
            "data, for small coefficients.")
