"""The Bayesian reading of penalties: priors, evidence-chosen strengths, posterior samples.

* :class:`EvidenceRidge` -- ridge whose ``lam`` maximises the marginal likelihood, with
  posterior covariance, credible intervals and predictive sd.
* :func:`glm_evidence` -- Laplace-approximation evidence for binomial / poisson ridge.
* :class:`BayesianLasso` -- Park & Casella's Gibbs sampler (numba), several chains, R-hat
  and effective sample size.
* :func:`implied_prior`, :func:`penalty_from_prior` -- prior <-> penalty, in words.

Names load lazily so that importing the package does not compile numba kernels.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "EvidenceRidge": "shrinkage.bayes.evidence",
    "log_evidence_profile": "shrinkage.bayes.evidence",
    "glm_evidence": "shrinkage.bayes.laplace",
    "GLMEvidence": "shrinkage.bayes.laplace",
    "BayesianLasso": "shrinkage.bayes.lasso",
    "rhat": "shrinkage.bayes.diagnostics",
    "ess": "shrinkage.bayes.diagnostics",
    "Prior": "shrinkage.bayes.priors",
    "implied_prior": "shrinkage.bayes.priors",
    "penalty_from_prior": "shrinkage.bayes.priors",
}

__all__ = list(_LAZY)


def __getattr__(name):
    try:
        module = importlib.import_module(_LAZY[name])
    except KeyError:
        raise AttributeError(f"module 'shrinkage.bayes' has no attribute {name!r}") from None
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
