"""The prior a penalty implies, and the penalty a prior implies, stated in words.

shrinkage's objective ``(1/W) sum w_i loss_i + lam * (a |b| + (1-a)/2 b^2)`` is, up to the
factor ``sigma^2 / W``, the negative log posterior of a model with noise variance
``sigma^2`` and the prior density (per standardized coefficient)::

    p(b) proportional to exp(-(W lam / sigma^2) * (a |b| + (1 - a) / 2 * b^2))

* ``a = 0``: Gaussian, ``sd = sigma / sqrt(W lam)``;
* ``a = 1``: Laplace, scale ``s = sigma^2 / (W lam)`` (sd ``sqrt(2) s``);
* otherwise the product of those two kernels with ``lam`` split as ``lam a`` / ``lam (1-a)``.

For binomial and poisson likelihoods there is no noise scale: use ``noise_sd = 1``.
The exact numeric conversions live in :mod:`shrinkage.units`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import units
from ..validation import check_flag, check_positive, check_ratio

__all__ = ["Prior", "implied_prior", "penalty_from_prior"]


@dataclass(frozen=True)
class Prior:
    """A coefficient prior equivalent to a penalty.

    Attributes
    ----------
    kind : {"gaussian", "laplace", "elastic-net"}
    lam, l1_ratio : float
        The equivalent penalty in shrinkage units.
    noise_sd : float
    n_samples : float
        ``W``, the total sample weight.
    gaussian_sd : float or None
        Sd of the Gaussian factor (``sigma / sqrt(W lam (1 - a))``), None when ``a = 1``.
    laplace_scale : float or None
        Scale of the Laplace factor (``sigma^2 / (W lam a)``), None when ``a = 0``.
    standardize : bool
        Whether the prior is on coefficients of standardized features.
    """

    kind: str
    lam: float
    l1_ratio: float
    noise_sd: float
    n_samples: float
    gaussian_sd: float | None
    laplace_scale: float | None
    standardize: bool = True

    def log_density(self, b):
        """Unnormalised log prior density of each coefficient value in ``b``."""
        b = np.asarray(b, dtype=float)
        out = np.zeros_like(b)
        if self.laplace_scale is not None:
            out -= np.abs(b) / self.laplace_scale
        if self.gaussian_sd is not None:
            out -= 0.5 * (b / self.gaussian_sd) ** 2
        return out

    def sd(self, feature_scale=None):
        """Prior sd per coefficient (per original-scale coefficient if scales are given).

        For the elastic-net product density the sd is computed by quadrature.
        """
        if self.kind == "gaussian":
            sd = self.gaussian_sd
        elif self.kind == "laplace":
            sd = np.sqrt(2.0) * self.laplace_scale
        else:
            g, s = self.gaussian_sd, self.laplace_scale
            t = np.linspace(0.0, min(50.0 * s, 12.0 * g), 20001)  # tail beyond is < e^-50
            dens = np.exp(-t / s - 0.5 * (t / g) ** 2)
            sd = float(np.sqrt(np.trapezoid(t * t * dens, t) / np.trapezoid(dens, t)))
        if feature_scale is None:
            return float(sd)
        return sd / np.asarray(feature_scale, dtype=float)

    def describe(self):
        """The prior in one sentence."""
        on = "on standardized features" if self.standardize else "on the raw features"
        head = f"lam = {self.lam:.3g}" + (
            f" with l1_ratio = {self.l1_ratio:.3g}" if 0 < self.l1_ratio < 1 else ""
        )
        given = f"given noise sd {self.noise_sd:.3g} and {self.n_samples:.4g} samples"
        if self.kind == "gaussian":
            body = f"a Gaussian prior with sd {self.gaussian_sd:.3g} per coefficient"
        elif self.kind == "laplace":
            body = (
                f"a Laplace prior with scale {self.laplace_scale:.3g} "
                f"(sd {self.sd():.3g}) per coefficient"
            )
        else:
            body = (
                "a prior proportional to a Laplace kernel with scale "
                f"{self.laplace_scale:.3g} times a Gaussian kernel with sd "
                f"{self.gaussian_sd:.3g} (overall sd {self.sd():.3g}) per coefficient"
            )
        return f"{head} {on} is {body}, {given}."

    __str__ = describe


def implied_prior(lam, *, l1_ratio=0.0, noise_sd=1.0, n_samples, standardize=True):
    """The prior whose MAP estimate is shrinkage's fit at ``(lam, l1_ratio)``.

    Parameters
    ----------
    lam : float
    l1_ratio : float, default 0 (ridge)
    noise_sd : float, default 1
        Noise sd ``sigma`` of the gaussian likelihood (1 for binomial / poisson).
    n_samples : float
        ``W``: number of samples or total sample weight used in the fit.
    standardize : bool, default True
        Whether ``lam`` was applied to standardized features (only changes the words).

    Returns
    -------
    Prior
    """
    lam = check_positive("lam", lam)
    a = check_ratio("l1_ratio", l1_ratio)
    sigma2 = check_positive("noise_sd", noise_sd) ** 2
    W = check_positive("n_samples", n_samples)
    standardize = check_flag(standardize, "standardize")
    g = None if a == 1 else float(np.sqrt(units.to_gaussian_prior_var(lam * (1 - a), sigma2, W)))
    s = None if a == 0 else float(units.to_laplace_scale(lam * a, sigma2, W))
    kind = "gaussian" if a == 0 else "laplace" if a == 1 else "elastic-net"
    return Prior(kind, lam, a, float(np.sqrt(sigma2)), W, g, s, bool(standardize))


def penalty_from_prior(*, gaussian_sd=None, laplace_scale=None, noise_sd=1.0, n_samples):
    """The ``(lam, l1_ratio)`` whose fit is the MAP estimate under the given prior.

    Give ``gaussian_sd`` (ridge), ``laplace_scale`` (lasso) or both (elastic net: the
    product of the two kernels).

    Returns
    -------
    (lam, l1_ratio) : tuple of float
    """
    if gaussian_sd is None and laplace_scale is None:
        raise ValueError("give gaussian_sd, laplace_scale or both")
    sigma2 = check_positive("noise_sd", noise_sd) ** 2
    W = check_positive("n_samples", n_samples)
    l2 = 0.0 if gaussian_sd is None else units.from_gaussian_prior_var(
        check_positive("gaussian_sd", gaussian_sd) ** 2, sigma2, W)
    l1 = 0.0 if laplace_scale is None else units.from_laplace_scale(
        check_positive("laplace_scale", laplace_scale), sigma2, W)
    return l1 + l2, l1 / (l1 + l2)
