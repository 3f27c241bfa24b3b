"""Exact conversions between shrinkage's strength ``lam`` and other libraries' units.

shrinkage minimises, for every family::

    (1 / W) * sum_i w_i * loss_i + lam * sum_j pf_j * (a * |b_j| + (1 - a) / 2 * b_j^2)

with ``W = sum(w)`` (``n`` for unit weights), ``a = l1_ratio`` and ``loss`` half the unit
deviance (squared error / 2 for gaussian, the negative log-likelihood for binomial and
poisson). Every other library writes the same problem with a different scaling; this
module converts both ways. Each ``to_*`` function has an inverse ``from_*`` and the pair
round-trips exactly (up to floating point).

Summary (unit weights, ``n`` samples; ``W`` replaces ``n`` with sample weights):

=============================================  ==========================================
other library's knob                           in shrinkage units
=============================================  ==========================================
sklearn ``Lasso/ElasticNet(alpha, l1_ratio)``  ``lam = alpha``, ``l1_ratio`` unchanged
sklearn ``Ridge(alpha)``                       ``lam = alpha / n``
sklearn ``LogisticRegression(C, l1_ratio)``    ``lam = 1 / (n * C)``, ``l1_ratio`` unchanged
sklearn ``SGD*(alpha, l1_ratio)``              ``lam = alpha``, ``l1_ratio`` unchanged
statsmodels ``fit_regularized(alpha, L1_wt)``  ``lam = alpha``, ``l1_ratio = L1_wt``
glmnet ``lambda, alpha`` (binomial, poisson)   ``lam = lambda``, ``l1_ratio = alpha``
glmnet gaussian (internal y scaling)           L1 part ``lambda*alpha``; L2 part
                                               ``lambda*(1-alpha)/sd(y)``
glmnet ``family="cox"`` (Breslow ties)         ``lam = lambda``, ``l1_ratio = alpha``
scikit-survival ``CoxnetSurvivalAnalysis``     ``lam = alpha``, ``l1_ratio`` unchanged;
(``normalize=False``; Breslow ties)            with ``normalize=True`` see :func:`to_coxnet`
Keras ``L1L2(l1, l2)`` with MSE loss           ``l1 = 2*lam*a``, ``l2 = lam*(1-a)``
Keras with a cross-entropy / poisson loss      ``l1 = lam*a``, ``l2 = lam*(1-a)/2``
PyTorch ``weight_decay`` (SGD, Adam: coupled)  ``wd = lam * c`` (``c = 2`` for MSELoss)
Gaussian prior ``b ~ N(0, tau^2)``             ``tau^2 = sigma^2 / (n * lam)``
Laplace prior ``b ~ Laplace(0, s)``            ``s = sigma^2 / (n * lam)``
=============================================  ==========================================

The intercept is unpenalised in shrinkage; in libraries that penalise it (statsmodels
``fit_regularized`` when a constant column is in ``exog``) give that column zero strength.
Standardization must match on both sides: shrinkage and glmnet both penalise coefficients
of features scaled by their weighted *population* standard deviation; scikit-learn,
statsmodels, Keras and PyTorch do not standardize, so compare with ``standardize=False``
(or standardize the features yourself first).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .validation import check_positive, check_ratio, check_scalar

__all__ = [
    "to_sklearn_elasticnet",
    "from_sklearn_elasticnet",
    "to_sklearn_ridge",
    "from_sklearn_ridge",
    "to_sklearn_logistic",
    "from_sklearn_logistic",
    "to_sklearn_sgd",
    "from_sklearn_sgd",
    "to_statsmodels",
    "from_statsmodels",
    "to_glmnet",
    "from_glmnet",
    "glmnet_penalty_factor",
    "to_coxnet",
    "from_coxnet",
    "to_keras",
    "from_keras",
    "to_torch_weight_decay",
    "from_torch_weight_decay",
    "decoupled_to_coupled_decay",
    "coupled_to_decoupled_decay",
    "adamw_implied_lam",
    "to_gaussian_prior_var",
    "from_gaussian_prior_var",
    "to_laplace_scale",
    "from_laplace_scale",
]


def _n(n_samples):
    """The total sample weight W (``n`` for unit weights)."""
    return check_positive("n_samples", n_samples)


# ------------------------------------------------------------------------ scikit-learn
def to_sklearn_elasticnet(lam, l1_ratio=1.0):
    """scikit-learn ``Lasso`` / ``ElasticNet`` ``(alpha, l1_ratio)`` for shrinkage's ``lam``.

    scikit-learn minimises ``1/(2 sum sw) * sum sw_i r_i^2 + alpha * l1_ratio * ||w||_1
    + alpha * (1 - l1_ratio) / 2 * ||w||^2`` (sample weights are rescaled to sum to
    ``n``), which is shrinkage's gaussian objective term by term: ``alpha = lam``.

    Returns
    -------
    (alpha, l1_ratio) : tuple of float
    """
    return check_positive("lam", lam), check_ratio("l1_ratio", l1_ratio)


def from_sklearn_elasticnet(alpha, l1_ratio=1.0):
    """Inverse of :func:`to_sklearn_elasticnet`: returns ``(lam, l1_ratio)``."""
    return check_positive("alpha", alpha), check_ratio("l1_ratio", l1_ratio)


def to_sklearn_ridge(lam, n_samples):
    """scikit-learn ``Ridge`` ``alpha`` for shrinkage's ridge ``lam`` (``l1_ratio = 0``).

    ``Ridge`` minimises ``sum_i sw_i r_i^2 + alpha * ||w||^2``; multiplying shrinkage's
    ``1/(2W) sum_i w_i r_i^2 + lam/2 ||b||^2`` by ``2W`` gives ``alpha = W * lam``.

    Parameters
    ----------
    lam : float or array
    n_samples : float
        ``W``: the number of samples, or the sum of the sample weights.
    """
    return check_positive("lam", lam) * _n(n_samples)


def from_sklearn_ridge(alpha, n_samples):
    """Inverse of :func:`to_sklearn_ridge`: ``lam = alpha / W``."""
    return check_positive("alpha", alpha) / _n(n_samples)


def to_sklearn_logistic(lam, n_samples, l1_ratio=0.0):
    """scikit-learn ``LogisticRegression`` ``(C, l1_ratio)`` for shrinkage's ``lam``.

    scikit-learn minimises ``C * sum_i sw_i * logloss_i + (1 - l1_ratio)/2 ||w||^2
    + l1_ratio * ||w||_1`` (a *sum* of losses, not a mean). Dividing shrinkage's binomial
    objective by ``lam`` gives ``C = 1 / (W * lam)`` with the same ``l1_ratio``. (For
    multinomial problems both penalise every class's coefficients; scikit-learn's
    softmax is over-parameterised in the same way as shrinkage's ungrouped multinomial.)

    Returns
    -------
    (C, l1_ratio) : tuple
    """
    return 1.0 / (check_positive("lam", lam) * _n(n_samples)), check_ratio("l1_ratio", l1_ratio)


def from_sklearn_logistic(C, n_samples, l1_ratio=0.0):
    """Inverse of :func:`to_sklearn_logistic`: ``lam = 1 / (W * C)``."""
    return 1.0 / (check_positive("C", C) * _n(n_samples)), check_ratio("l1_ratio", l1_ratio)


def to_sklearn_sgd(lam, l1_ratio=0.0):
    """scikit-learn ``SGDRegressor`` / ``SGDClassifier`` ``(alpha, l1_ratio)``.

    SGD minimises ``mean_i L_i + alpha * (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)``
    with ``L = (y - f)^2 / 2`` (``loss="squared_error"``) or the logistic loss
    (``loss="log_loss"``): ``alpha = lam``. Use ``penalty="elasticnet"`` (or ``"l2"`` with
    ``l1_ratio = 0``, ``"l1"`` with ``l1_ratio = 1``).
    """
    return check_positive("lam", lam), check_ratio("l1_ratio", l1_ratio)


def from_sklearn_sgd(alpha, l1_ratio=0.0):
    """Inverse of :func:`to_sklearn_sgd`."""
    return check_positive("alpha", alpha), check_ratio("l1_ratio", l1_ratio)


# ------------------------------------------------------------------------- statsmodels
def to_statsmodels(lam, l1_ratio=1.0):
    """statsmodels ``fit_regularized(method="elastic_net", alpha, L1_wt)`` arguments.

    statsmodels minimises ``-loglike/n + alpha * ((1 - L1_wt)/2 ||b||^2 + L1_wt ||b||_1)``
    (for OLS ``-loglike/n`` is replaced by ``RSS / (2n)``): ``alpha = lam``,
    ``L1_wt = l1_ratio``. statsmodels penalises every column of ``exog``; pass
    ``alpha`` as a vector with 0 for the constant column to leave the intercept free.

    Returns
    -------
    dict with keys ``alpha`` and ``L1_wt``
    """
    return {"alpha": check_positive("lam", lam), "L1_wt": check_ratio("l1_ratio", l1_ratio)}


def from_statsmodels(alpha, L1_wt=1.0):
    """Inverse of :func:`to_statsmodels`: returns ``(lam, l1_ratio)``."""
    return check_positive("alpha", alpha), check_ratio("L1_wt", L1_wt)


# ------------------------------------------------------------------------------ glmnet
def to_glmnet(lam, l1_ratio=1.0, *, family="gaussian", sd_y=None):
    """glmnet ``(lambda, alpha)`` that fit the same model as shrinkage's ``(lam, l1_ratio)``.

    glmnet documents the objective ``1/(2n) sum w_i r_i^2 + lambda * ((1-alpha)/2
    ||b||^2 + alpha ||b||_1)`` (weights rescaled to sum ``n``; ``standardize=TRUE``
    penalises coefficients of features scaled by their weighted population sd, exactly as
    shrinkage's ``standardize=True``). For ``family="gaussian"``, however, glmnet first
    divides ``y`` by ``sd_y`` (its weighted population sd), solves at ``lambda / sd_y``
    and scales the coefficients back. The L1 term is equivariant under that scaling but
    the L2 term is not, so the problem glmnet actually solves is::

        1/(2n) sum r_i^2 + lambda*alpha ||b||_1 + (lambda*(1-alpha)/sd_y)/2 ||b||^2

    Matching the L1 and L2 coefficients of shrinkage's objective gives
    ``lambda*alpha = lam*a`` and ``lambda*(1-alpha)/sd_y = lam*(1-a)``. For binomial and
    poisson families there is no response scaling: ``lambda = lam``, ``alpha = a``.

    Parameters
    ----------
    lam : float
    l1_ratio : float
    family : {"gaussian", "binomial", "poisson", "multinomial", "cox"}
        Every family but gaussian maps one to one (for "cox", glmnet's partial likelihood
        breaks ties as Breslow: fit with ``ties="breslow"``).
    sd_y : float, optional
        Weighted population sd of ``y`` (``sqrt(sum w (y - ybar)^2 / sum w)``); required
        for the gaussian family.

    Returns
    -------
    (lambda, alpha) : tuple of float
    """
    lam = check_positive("lam", lam)
    a = check_ratio("l1_ratio", l1_ratio)
    if family != "gaussian":
        _check_family(family)
        return lam, a
    s = check_positive("sd_y", _need_sd(sd_y))
    l1, l2 = lam * a, lam * (1.0 - a) * s  # lambda*alpha and lambda*(1-alpha)
    return l1 + l2, l1 / (l1 + l2)


def from_glmnet(lambda_, alpha=1.0, *, family="gaussian", sd_y=None):
    """Inverse of :func:`to_glmnet`: shrinkage's ``(lam, l1_ratio)`` for glmnet's fit.

    For the gaussian family the pure ridge case reads ``lam = lambda / sd_y`` and the pure
    lasso case ``lam = lambda``; an elastic net maps to a *different* ``l1_ratio``.
    """
    lambda_ = check_positive("lambda_", lambda_)
    a = check_ratio("alpha", alpha)
    if family != "gaussian":
        _check_family(family)
        return lambda_, a
    s = check_positive("sd_y", _need_sd(sd_y))
    l1, l2 = lambda_ * a, lambda_ * (1.0 - a) / s
    return l1 + l2, l1 / (l1 + l2)


def glmnet_penalty_factor(penalty_factor):
    """The penalty factors glmnet actually uses: ``pf * p / sum(pf)``.

    glmnet silently rescales ``penalty.factor`` to sum to the number of variables; pass
    the returned factors to shrinkage (with the same ``lam``) to fit glmnet's model.
    """
    pf = np.asarray(penalty_factor, dtype=float)
    if pf.ndim != 1 or pf.size == 0:
        raise ValueError("penalty_factor must be a non-empty 1-d array")
    if np.any(~np.isfinite(pf)) or np.any(pf < 0) or pf.sum() <= 0:
        raise ValueError("penalty_factor must be finite, >= 0 and not all zero")
    return pf * pf.size / pf.sum()


def to_coxnet(lam, l1_ratio=1.0, *, n_samples=None, normalize=False):
    """scikit-survival ``CoxnetSurvivalAnalysis(alphas=[alpha], l1_ratio=r)`` for
    shrinkage's Cox ``(lam, l1_ratio)`` (``ties="breslow"``, Coxnet's only one).

    Coxnet minimises ``-log PL / n + alpha * (r |b| + (1 - r) / 2 b^2)`` on centred
    columns, which with ``normalize=False`` is shrinkage's objective with
    ``standardize=False``: ``alpha = lam``, ``r = l1_ratio``. ``normalize=True`` divides
    each centred column by its L2 norm ``sqrt(n) s_j`` (``s_j`` the population standard
    deviation), so against ``standardize=True`` the L1 part scales by ``sqrt(n)`` and the L2
    part by ``n``: ``alpha r = lam a / sqrt(n)``, ``alpha (1 - r) = lam (1 - a) / n``.
    Coxnet rescales ``penalty_factor`` to sum to ``p`` as glmnet does
    (:func:`glmnet_penalty_factor`). Returns ``(alpha, r)``.
    """
    lam = check_positive("lam", lam)
    a = check_ratio("l1_ratio", l1_ratio)
    if not normalize:
        return lam, a
    n = check_positive("n_samples", n_samples)
    l1, l2 = lam * a / np.sqrt(n), lam * (1.0 - a) / n
    return l1 + l2, l1 / (l1 + l2)


def from_coxnet(alpha, l1_ratio=1.0, *, n_samples=None, normalize=False):
    """Inverse of :func:`to_coxnet`: shrinkage's ``(lam, l1_ratio)`` for a Coxnet fit
    (compare with ``standardize=normalize``)."""
    alpha = check_positive("alpha", alpha)
    r = check_ratio("l1_ratio", l1_ratio)
    if not normalize:
        return alpha, r
    n = check_positive("n_samples", n_samples)
    l1, l2 = alpha * r * np.sqrt(n), alpha * (1.0 - r) * n
    return l1 + l2, l1 / (l1 + l2)


def _need_sd(sd_y):
    if sd_y is None:
        raise ValueError(
            "sd_y is required for the gaussian family: glmnet scales y by its sd internally"
        )
    return sd_y


_FAMILIES = ("gaussian", "binomial", "poisson", "multinomial", "cox")


def _check_family(family):
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {_FAMILIES}, got {family!r}")


# ------------------------------------------------------------------------------- Keras
# Keras losses are means over the batch: "mse" is mean (y - f)^2, twice shrinkage's
# gaussian loss; cross-entropies and "poisson" (mean f - y log f) equal shrinkage's losses
# up to terms free of the coefficients.
_KERAS_LOSS_SCALE = {
    "mse": 2.0,
    "binary_crossentropy": 1.0,
    "categorical_crossentropy": 1.0,
    "poisson": 1.0,
}


def _keras_scale(loss):
    try:
        return _KERAS_LOSS_SCALE[loss]
    except KeyError:
        raise ValueError(f"loss must be one of {tuple(_KERAS_LOSS_SCALE)}, got {loss!r}") from None


def to_keras(lam, l1_ratio=0.0, *, loss="mse"):
    """Keras ``regularizers.L1L2(l1, l2)`` factors for shrinkage's ``(lam, l1_ratio)``.

    Keras adds ``l1 * sum|w| + l2 * sum w^2`` (no 1/2 on the square) to the mean batch
    loss. With ``c`` the ratio of the Keras loss to shrinkage's (2 for ``"mse"``, 1 for
    the cross-entropies and ``"poisson"``), ``l1 = c * lam * a`` and
    ``l2 = c * lam * (1 - a) / 2``.

    Returns
    -------
    (l1, l2) : tuple of float
    """
    lam = check_positive("lam", lam)
    a = check_ratio("l1_ratio", l1_ratio)
    c = _keras_scale(loss)
    return c * lam * a, c * lam * (1.0 - a) / 2.0


def from_keras(l1=0.0, l2=0.0, *, loss="mse"):
    """Inverse of :func:`to_keras`: returns ``(lam, l1_ratio)``."""
    l1 = check_positive("l1", l1, allow_zero=True)
    l2 = check_positive("l2", l2, allow_zero=True)
    if l1 + l2 <= 0:
        raise ValueError("l1 and l2 are both zero: there is no penalty to convert")
    c = _keras_scale(loss)
    lam_l1, lam_l2 = l1 / c, 2.0 * l2 / c  # lam*a and lam*(1-a)
    return lam_l1 + lam_l2, lam_l1 / (lam_l1 + lam_l2)


# ----------------------------------------------------------------------------- PyTorch
# PyTorch's built-in losses with reduction="mean": MSELoss = mean (y - f)^2 (twice ours),
# BCEWithLogitsLoss / CrossEntropyLoss / PoissonNLLLoss(log_input=True) = ours.
_TORCH_LOSS_SCALE = {"mse": 2.0, "half_mse": 1.0, "bce": 1.0, "cross_entropy": 1.0, "poisson": 1.0}


def _torch_scale(loss):
    try:
        return _TORCH_LOSS_SCALE[loss]
    except KeyError:
        raise ValueError(f"loss must be one of {tuple(_TORCH_LOSS_SCALE)}, got {loss!r}") from None


def to_torch_weight_decay(lam, *, loss="mse"):
    """PyTorch coupled ``weight_decay`` (``SGD``, ``Adam``, ``RMSprop``) for ridge ``lam``.

    Coupled weight decay adds ``weight_decay * w`` to the gradient, i.e. it minimises
    ``loss + weight_decay/2 * ||w||^2``. With ``c`` the ratio of the PyTorch loss to
    shrinkage's (2 for ``MSELoss``, 1 for ``"half_mse"``, ``BCEWithLogitsLoss``,
    ``CrossEntropyLoss`` and ``PoissonNLLLoss``), ``weight_decay = c * lam``. The
    stationary points are identical for SGD and Adam alike (the L2 term is part of the
    gradient). Weight decay penalises every parameter it is given, biases included: put
    biases in a parameter group with ``weight_decay=0`` to match shrinkage.

    For decoupled decay (``AdamW``) see :func:`decoupled_to_coupled_decay` and
    :func:`adamw_implied_lam`.
    """
    return _torch_scale(loss) * check_positive("lam", lam)


def from_torch_weight_decay(weight_decay, *, loss="mse"):
    """Inverse of :func:`to_torch_weight_decay`: ``lam = weight_decay / c``."""
    return check_positive("weight_decay", weight_decay) / _torch_scale(loss)


def decoupled_to_coupled_decay(weight_decay, lr, *, lr_scaled=True):
    """Coupled L2 ``weight_decay`` equivalent to a decoupled decay under plain SGD steps.

    A decoupled step shrinks ``w <- w - lr * grad - d * w`` with ``d = lr * weight_decay``
    when the decay is scaled by the learning rate (PyTorch ``AdamW``, ``lr_scaled=True``)
    or ``d = weight_decay`` when it is not (Loshchilov & Hutter's schedule-free form,
    ``lr_scaled=False``). With a plain gradient step this equals coupled L2 decay
    ``w <- w - lr * (grad + wd * w)`` exactly when ``wd = d / lr``. With Adam's
    preconditioned step there is no scalar equivalent: see :func:`adamw_implied_lam`.
    """
    weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
    lr = check_positive("lr", lr)
    return weight_decay if lr_scaled else weight_decay / lr


def coupled_to_decoupled_decay(weight_decay, lr, *, lr_scaled=True):
    """Inverse of :func:`decoupled_to_coupled_decay`."""
    weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
    lr = check_positive("lr", lr)
    return weight_decay if lr_scaled else weight_decay * lr


def adamw_implied_lam(weight_decay, exp_avg_sq, *, step, beta2=0.999, eps=1e-8, loss="mse"):
    """Per-coordinate ridge strength that an AdamW fixed point minimises exactly.

    PyTorch ``AdamW`` updates ``w <- w(1 - lr*wd) - lr * m_hat / (sqrt(v_hat) + eps)``
    with ``v_hat = exp_avg_sq / (1 - beta2**step)``. At a fixed point with ``m_hat`` equal
    to the gradient ``g`` this reads ``g_j + wd * (sqrt(v_hat_j) + eps) * w_j = 0``: ``w``
    is a stationary point of ``loss + 1/2 sum_j wd (sqrt(v_hat_j) + eps) w_j^2``, a ridge
    penalty whose strength differs per coordinate. In shrinkage units (dividing by the loss
    ratio ``c``) ``lam_j = wd * (sqrt(v_hat_j) + eps) / c``.

    Parameters
    ----------
    weight_decay : float
    exp_avg_sq : array
        The optimizer state ``exp_avg_sq`` of the parameter.
    step : int
        Number of steps taken (for the bias correction).

    Returns
    -------
    ndarray
        ``lam_j`` per coordinate (use ``lam = max`` and ``penalty_factor = lam_j / lam``).
    """
    weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
    v = np.asarray(exp_avg_sq, dtype=float)
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        raise ValueError("exp_avg_sq must be finite and >= 0")
    if not (isinstance(step, numbers.Real) and not isinstance(step, bool)
            and math.isfinite(step) and int(step) == step and step >= 1):
        raise ValueError(f"step must be a positive integer, got {step!r}")
    step = int(step)
    b2 = check_scalar(beta2, "beta2", lo=0.0, hi=1.0, hi_open=True)
    eps = check_scalar(eps, "eps", lo=0.0)
    v_hat = v / (1.0 - b2 ** step)
    return weight_decay * (np.sqrt(v_hat) + eps) / _torch_scale(loss)


# ---------------------------------------------------------------------------- priors
def to_gaussian_prior_var(lam, noise_var, n_samples):
    """Prior variance ``tau^2`` whose MAP estimate is ridge at ``lam``.

    With noise ``y ~ N(eta, sigma^2)`` and prior ``b_j ~ N(0, tau^2)`` (on the
    standardized scale when ``standardize=True``) the negative log posterior is
    ``sum r_i^2 / (2 sigma^2) + sum b_j^2 / (2 tau^2)``; multiplied by
    ``sigma^2 / W`` it is shrinkage's objective with ``lam = sigma^2 / (W tau^2)``.
    So ``tau^2 = sigma^2 / (W lam)``. For binomial and poisson families pass
    ``noise_var=1`` (the likelihood has no noise scale).
    """
    return check_positive("noise_var", noise_var) / (_n(n_samples) * check_positive("lam", lam))


def from_gaussian_prior_var(prior_var, noise_var, n_samples):
    """Inverse of :func:`to_gaussian_prior_var`: ``lam = sigma^2 / (W tau^2)``."""
    prior_var = check_positive("prior_var", prior_var)
    return check_positive("noise_var", noise_var) / (_n(n_samples) * prior_var)


def to_laplace_scale(lam, noise_var, n_samples):
    """Laplace prior scale ``s`` (density ``exp(-|b|/s) / (2s)``) whose MAP is the lasso.

    ``sum r_i^2 / (2 sigma^2) + sum |b_j| / s`` times ``sigma^2 / W`` is shrinkage's
    lasso objective with ``lam = sigma^2 / (W s)``, so ``s = sigma^2 / (W lam)``.
    """
    return check_positive("noise_var", noise_var) / (_n(n_samples) * check_positive("lam", lam))


def from_laplace_scale(scale, noise_var, n_samples):
    """Inverse of :func:`to_laplace_scale`: ``lam = sigma^2 / (W s)``."""
    return check_positive("noise_var", noise_var) / (_n(n_samples) * check_positive("scale", scale))
