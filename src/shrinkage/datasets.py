"""Bundled and simulated data sets for examples, tests and the ``shrinkage demo`` command.

* :func:`load_diabetes`, :func:`load_breast_cancer`: scikit-learn's bundled tables (shipped
  inside scikit-learn, no download), returned as a :class:`Dataset` with feature names and
  the family that suits the target.
* :func:`make_noisy_curve`: a seeded 1-D curve ``y = f(x) + noise`` -- the picture of
  overfitting (:func:`shrinkage.plotting.plot_overfit`).
* :func:`make_sparse_regression`: a seeded sparse linear model with correlated features
  in the style of Hastie, Tibshirani & Tibshirani (2020), for gaussian, binomial and
  poisson responses, with the true coefficients attached.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import check_int

__all__ = [
    "Dataset",
    "NoisyCurve",
    "load_diabetes",
    "load_breast_cancer",
    "make_noisy_curve",
    "make_sparse_regression",
]

_FAMILIES = ("gaussian", "binomial", "poisson", "cox")
_COX_CENSORING = 0.3  # the expected share of censored rows of a simulated survival response


@dataclass(frozen=True, eq=False)
class Dataset:
    """A design matrix, a response and what is known about them.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), or (n_samples, 2) ``[time, event]`` for cox
    feature_names : ndarray of str, shape (n_features,)
    target_name : str
    family : str
        The family that suits ``y`` ("gaussian", "binomial", "poisson", "cox").
    description : str
        One paragraph: where the data come from.
    coef : ndarray of shape (n_features,) or None
        True coefficients when the data are simulated.
    intercept : float or None
        True intercept when the data are simulated.
    extra : dict
        Anything else (simulation settings, class names).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: np.ndarray
    target_name: str
    family: str
    description: str
    coef: np.ndarray | None = None
    intercept: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of rows of ``X``."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of columns of ``X``."""
        return int(self.X.shape[1])


@dataclass(frozen=True, eq=False)
class NoisyCurve:
    """Noisy samples of a smooth 1-D function, with the function itself on a fine grid.

    Attributes
    ----------
    x, y : ndarray of shape (n_samples,)
        Sample locations in [0, 1] (sorted) and noisy values ``f(x) + noise``.
    x_grid, f_grid : ndarray of shape (n_grid,)
        The true function on an even grid over [0, 1].
    noise_sd : float
    random_state : int
    """

    x: np.ndarray
    y: np.ndarray
    x_grid: np.ndarray
    f_grid: np.ndarray
    noise_sd: float
    random_state: int


def _check_seed(random_state):
    if random_state is None:
        return None
    return check_int("random_state", random_state, 0)


def load_diabetes() -> Dataset:
    """The diabetes data (Efron et al. 2004): 442 patients, 10 baseline variables.

    The target is a quantitative measure of disease progression one year after baseline
    (gaussian family). Features are as scikit-learn ships them: mean-centred and scaled
    so that each column has Euclidean norm 1.
    """
    from sklearn import datasets

    raw = datasets.load_diabetes()
    return Dataset(
        X=np.asarray(raw.data, dtype=float),
        y=np.asarray(raw.target, dtype=float),
        feature_names=np.asarray(raw.feature_names, dtype=str),
        target_name="progression",
        family="gaussian",
        description=(
            "Diabetes data (Efron, Hastie, Johnstone & Tibshirani 2004, shipped with "
            "scikit-learn): 442 patients, 10 baseline variables; target is disease "
            "progression after one year."
        ),
    )


def load_breast_cancer() -> Dataset:
    """The Wisconsin diagnostic breast cancer data: 569 tumours, 30 image features.

    The target is 1 for benign and 0 for malignant (binomial family), as scikit-learn
    codes it; ``extra["class_names"]`` holds the names.
    """
    from sklearn import datasets

    raw = datasets.load_breast_cancer()
    return Dataset(
        X=np.asarray(raw.data, dtype=float),
        y=np.asarray(raw.target, dtype=float),
        feature_names=np.asarray(raw.feature_names, dtype=str),
        target_name="benign",
        family="binomial",
        description=(
            "Wisconsin diagnostic breast cancer data (shipped with scikit-learn): 569 "
            "tumours, 30 features computed from images; target 1 = benign, 0 = malignant."
        ),
        extra={"class_names": [str(c) for c in raw.target_names]},
    )


def _true_curve(x):
    # A smooth curve with one large bump and a gentle trend: enough structure that a
    # straight line underfits, smooth enough that a degree-15 polynomial overfits.
    return np.sin(2.0 * np.pi * x) + 0.5 * x


def make_noisy_curve(n_samples=20, *, noise_sd=0.3, n_grid=400, random_state=0) -> NoisyCurve:
    """Seeded noisy samples of ``f(x) = sin(2 pi x) + x / 2`` on [0, 1].

    ``x`` is drawn uniformly on [0, 1] and sorted; ``y = f(x) + e`` with
    ``e ~ N(0, noise_sd^2)`` independently.

    Parameters
    ----------
    n_samples : int, default 20
    noise_sd : float, default 0.3
        Standard deviation of the Gaussian noise (>= 0).
    n_grid : int, default 400
        Size of the fine grid on which the truth is returned.
    random_state : int, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same data.

    Returns
    -------
    NoisyCurve
    """
    n_samples = check_int("n_samples", n_samples, 2)
    n_grid = check_int("n_grid", n_grid, 2)
    seed = _check_seed(random_state)
    noise_sd = float(noise_sd)
    if not np.isfinite(noise_sd) or noise_sd < 0:
        raise ValueError(f"noise_sd must be a finite number >= 0, got {noise_sd}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 1.0, n_samples))
    y = _true_curve(x) + noise_sd * rng.standard_normal(n_samples)
    grid = np.linspace(0.0, 1.0, n_grid)
    return NoisyCurve(x, y, grid, _true_curve(grid), noise_sd, -1 if seed is None else seed)


def _survival_times(rng, eta):
    """``[min(T, C), T <= C]`` for hazards ``exp(eta)`` and exponential censoring whose rate
    ``r`` solves ``mean_i r / (r + exp(eta_i)) = 0.3`` (bisection on ``log r``)."""
    rate = np.exp(eta)
    lo, hi = np.log(rate.min()) - 20.0, np.log(rate.max()) + 20.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        share = np.mean(np.exp(mid) / (np.exp(mid) + rate))
        lo, hi = (mid, hi) if share < _COX_CENSORING else (lo, mid)
    T = rng.exponential(1.0 / rate)
    C = rng.exponential(np.exp(-0.5 * (lo + hi)), size=eta.size)
    return np.column_stack([np.minimum(T, C), (T <= C).astype(float)])


def make_sparse_regression(
    n_samples=100,
    n_features=50,
    *,
    n_informative=5,
    rho=0.0,
    snr=3.0,
    family="gaussian",
    random_state=0,
) -> Dataset:
    """A seeded sparse linear model with autocorrelated features.

    Rows of ``X`` are ``N(0, S)`` with ``S_ij = rho^|i - j|``. The true coefficient
    vector has ``n_informative`` entries equal to 1, spread evenly over the features
    (Hastie, Tibshirani & Tibshirani 2020, "beta-type 2"-like spacing), the rest 0, and the
    true intercept is 0. The response is

    * gaussian: ``y = X b + e``, ``e ~ N(0, sigma^2)``, ``sigma^2 = b' S b / snr``;
    * binomial: ``y ~ Bernoulli(1 / (1 + exp(-X b c)))``;
    * poisson: ``y ~ Poisson(exp(X b c))``;
    * cox: ``y = [min(T, C), T <= C]`` (shape (n, 2)) with event times
      ``T ~ Exponential(rate exp(X b c))`` (proportional hazards, baseline hazard 1) and
      independent censoring times ``C ~ Exponential(rate r)``, ``r`` set so that 30% of
      the rows are censored in expectation;

    where for the GLMs ``c = sqrt(snr / b' S b) / 2`` scales the signal so that the linear
    predictor has variance ``snr / 4`` (``coef`` reports ``b c``).

    Parameters
    ----------
    n_samples, n_features : int
    n_informative : int, default 5
        Number of non-zero true coefficients (``<= n_features``).
    rho : float in [0, 1), default 0.0
        Correlation between neighbouring features.
    snr : float > 0, default 3.0
        Signal-to-noise ratio ``Var(X b) / sigma^2`` (gaussian) or the scale of the linear
        predictor (other families).
    family : {"gaussian", "binomial", "poisson", "cox"}
    random_state : int, default 0

    Returns
    -------
    Dataset
        With ``coef`` and ``intercept`` set to the truth and ``extra`` holding the
        settings (and ``noise_sd`` for gaussian).
    """
    n_samples = check_int("n_samples", n_samples, 2)
    n_features = check_int("n_features", n_features, 1)
    n_informative = check_int("n_informative", n_informative, 0)
    if n_informative > n_features:
        raise ValueError(
            f"n_informative ({n_informative}) must be <= n_features ({n_features})"
        )
    rho = float(rho)
    if not (0.0 <= rho < 1.0):
        raise ValueError(f"rho must be in [0, 1), got {rho}")
    snr = float(snr)
    if not np.isfinite(snr) or snr <= 0:
        raise ValueError(f"snr must be a finite number > 0, got {snr}")
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {_FAMILIES}, got {family!r}")
    seed = _check_seed(random_state)
    rng = np.random.default_rng(seed)

    # AR(1) features: x_j = rho x_{j-1} + sqrt(1 - rho^2) z_j has Cov = rho^|i-j| exactly,
    # without forming or factorising the p x p covariance.
    Z = rng.standard_normal((n_samples, n_features))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    scale = np.sqrt(1.0 - rho * rho)
    for j in range(1, n_features):
        X[:, j] = rho * X[:, j - 1] + scale * Z[:, j]

    coef = np.zeros(n_features)
    if n_informative:
        support = np.round(np.linspace(0, n_features - 1, n_informative)).astype(int)
        coef[support] = 1.0
    idx = np.arange(n_features)
    S = rho ** np.abs(idx[:, None] - idx[None, :])
    signal_var = float(coef @ S @ coef)

    extra = {"n_informative": n_informative, "rho": rho, "snr": snr, "random_state": seed}
    if family == "gaussian":
        noise_sd = np.sqrt(signal_var / snr) if signal_var > 0 else 1.0
        y = X @ coef + noise_sd * rng.standard_normal(n_samples)
        extra["noise_sd"] = float(noise_sd)
    else:
        c = np.sqrt(snr / signal_var) / 2.0 if signal_var > 0 else 0.0
        coef = coef * c
        eta = X @ coef
        if family == "binomial":
            y = (rng.uniform(size=n_samples) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
        elif family == "cox":
            y = _survival_times(rng, eta)
        else:
            y = rng.poisson(np.exp(eta)).astype(float)
    names = np.asarray([f"x{j}" for j in range(n_features)], dtype=str)
    return Dataset(
        X=X,
        y=y,
        feature_names=names,
        target_name="y",
        family=family,
        description=(
            f"Simulated sparse {family} regression: n={n_samples}, p={n_features}, "
            f"{n_informative} non-zero coefficients, rho={rho:g}, snr={snr:g}, "
            f"seed={seed}."
        ),
        coef=coef,
        intercept=0.0,
        extra=extra,
    )
