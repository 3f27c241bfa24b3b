"""Result objects shared by every layer: the regularization :class:`Path`.

Plots, cross-validation, estimators, reports and persistence consume these objects; none
of them recomputes a fit. Arrays are plain NumPy arrays so results can be saved as
``.npz`` without pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["Path", "CVResult", "SweepResult", "nonzero_features", "used_columns_product"]


def nonzero_features(coefs):
    """``Path.nnz`` from ``Path.coefs``: per path point, the features with a non-zero
    coefficient (``coefs`` shape ``(L, p)``, or ``(L, p, K)`` where a feature counts once
    however many of its ``K`` responses it enters)."""
    coefs = np.asarray(coefs)
    return np.count_nonzero(coefs if coefs.ndim == 2 else np.any(coefs != 0, axis=2), axis=1)


def used_columns_product(X, coefs):
    """``X @ coefs.T`` for ``(L, p)`` coefficients of path points, over the features that
    some point uses.

    A lasso path on many features leaves most columns of ``coefs`` zero. A sparse ``X``
    times ``coefs.T`` would first copy all of it into row order (40 MB for 50,000 features
    and 100 points, for every cross-validation fold); a dense one multiplies the zeros, so
    it drops them where that at least halves the product (at the cost of copying the used
    columns out of ``X``). Dropped features contribute exact zeros (``X`` is finite): sparse
    products are unchanged bit for bit, dense ones may differ at rounding level.
    """
    p = coefs.shape[1]
    used = np.flatnonzero(np.any(coefs != 0.0, axis=0))
    if sp.issparse(X):
        if used.size < p:
            X, coefs = X[:, used], coefs[:, used]
        return X @ np.ascontiguousarray(coefs.T)  # scipy's product wants it in row order
    if 2 * used.size <= p:
        X, coefs = X[:, used], coefs[:, used]
    return X @ coefs.T


@dataclass(frozen=True, eq=False)
class Path:
    """A regularization path: one fitted model per strength ``lam``.

    Every linear model in shrinkage minimises, for each ``lam`` on the path::

        (1 / sum(w)) * sum_i w_i * loss(y_i, b0 + x_i . b)
            + lam * sum_j pf_j * (l1_ratio * |b_j| + (1 - l1_ratio) / 2 * b_j^2)

    with the penalty applied on the standardized scale when ``standardize`` is true.
    Coefficients are always reported on the original scale of ``X``.

    Attributes
    ----------
    lams : ndarray of shape (n_lams,)
        Strengths, decreasing (strongest first).
    coefs : ndarray of shape (n_lams, n_features) or (n_lams, n_features, n_classes)
        Coefficients on the original feature scale.
    intercepts : ndarray of shape (n_lams,) or (n_lams, n_classes)
    nnz : ndarray of int, shape (n_lams,)
        Number of features with a non-zero coefficient (any class for multinomial).
    dev_ratio : ndarray of shape (n_lams,)
        Fraction of the null deviance explained, ``1 - dev / null_dev``.
    null_deviance : float
        Deviance of the intercept-only (offset-only) model.
    certificate : ndarray of shape (n_lams,)
        Optimality certificate per ``lam``: the relative duality gap (gaussian) or the
        maximum KKT violation in standardized-gradient units (other families).
    certificate_kind : str
        ``"duality_gap"``, ``"kkt_violation"`` or ``"weighted_kkt_violation"`` (the
        binomial default: each violation weighted by its curvature's fall,
        :func:`shrinkage.regularization_path`'s ``tol``).
    converged : ndarray of bool, shape (n_lams,)
        Whether ``certificate <= tol`` at that ``lam``.
    n_iter : ndarray of int, shape (n_lams,)
        Coordinate-descent sweeps spent at each ``lam``.
    family : str
    l1_ratio : float
    tol : float
    standardize : bool
    fit_intercept : bool
    stopped_early : bool
        True when the path ended before the requested grid (deviance explained above
        0.999 or no longer changing, or divergence on separable data).
    stop_reason : str
        Why the path ended, in words ("" when the whole grid was fitted).
    classes : ndarray or None
        Class labels for binomial / multinomial paths.
    feature_names : ndarray of str or None
    lam_max : float
        Smallest ``lam`` at which every penalised coefficient is zero (for pure ridge a
        conventional large value).
    extra : dict
        Solver diagnostics (e.g. ``"convexity_margin"`` per ``lam`` for MCP/SCAD).
    penalty : str
        ``"elasticnet"``, ``"mcp"`` or ``"scad"`` (:mod:`shrinkage.model.concave`).
    gamma : float
        The MCP/SCAD concavity parameter (NaN for the elastic net).
    """

    lams: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    nnz: np.ndarray
    dev_ratio: np.ndarray
    null_deviance: float
    certificate: np.ndarray
    certificate_kind: str
    converged: np.ndarray
    n_iter: np.ndarray
    family: str
    l1_ratio: float
    tol: float
    standardize: bool
    fit_intercept: bool
    stopped_early: bool = False
    stop_reason: str = ""
    classes: np.ndarray | None = None
    feature_names: np.ndarray | None = None
    lam_max: float = float("nan")
    extra: dict = field(default_factory=dict)
    penalty: str = "elasticnet"
    gamma: float = float("nan")

    @property
    def n_lams(self) -> int:
        """Number of strengths actually fitted."""
        return int(self.lams.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features (columns of ``X``) the path was fitted on."""
        return int(self.coefs.shape[1])

    def index_of(self, lam: float) -> int:
        """Index of the path point whose ``lam`` is closest on the log scale."""
        lam = float(lam)
        if not np.isfinite(lam) or lam <= 0:
            raise ValueError(f"lam must be a positive finite number, got {lam}")
        return int(np.argmin(np.abs(np.log(self.lams) - np.log(lam))))

    def linear_predictor(self, X, index=None, offset=None) -> np.ndarray:
        """``b0 + X b`` for the model at ``index`` (all path points when None).

        Returns an array of shape (n_samples,) for one index or (n_samples, n_lams) for
        all of them; multinomial paths add a trailing class axis. A DataFrame ``X`` must
        have the path's feature names, in order.
        """
        from .validation import check_design, check_feature_names

        check_feature_names(X, self.feature_names, "the path")
        X = check_design(X, n_features=self.n_features)
        coefs = self.coefs if index is None else self.coefs[index]
        inter = self.intercepts if index is None else self.intercepts[index]
        if coefs.ndim == 1:  # one path point, single response
            eta = X @ coefs + inter
        elif index is not None:  # one path point, multinomial: (p, K)
            eta = np.asarray(X @ coefs) + inter[None, :]
        elif coefs.ndim == 2:  # all points, single response: (L, p)
            eta = np.asarray(used_columns_product(X, coefs)) + inter[None, :]
        else:  # all points, multinomial: (L, p, K)
            eta = np.stack([np.asarray(X @ c) + b[None, :] for c, b in zip(coefs, inter)], 1)
        eta = np.asarray(eta)
        if offset is not None:
            off = np.asarray(offset, dtype=float)
            if eta.ndim == 3:  # all points, multinomial (n, L, K): the (n, K) offset per point
                off = off.reshape(off.shape[0], 1, -1)
            else:
                off = off.reshape(off.shape + (1,) * (eta.ndim - off.ndim))
            eta = eta + off
        return eta

    def summary(self) -> str:
        """A short human-readable description of the path."""
        lines = [
            f"{self.family} path, l1_ratio={self.l1_ratio:g}, {self.n_lams} lams "
            f"from {self.lams[0]:.4g} to {self.lams[-1]:.4g}",
            f"nnz from {int(self.nnz[0])} to {int(self.nnz[-1])}; "
            f"deviance explained up to {float(np.max(self.dev_ratio)):.4f}",
            f"certificate ({self.certificate_kind}) max {float(np.max(self.certificate)):.2e} "
            f"vs tol {self.tol:.1e}; converged at {int(np.sum(self.converged))}/{self.n_lams}",
        ]
        if self.stopped_early:
            lines.append(f"stopped early: {self.stop_reason}")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class CVResult:
    """Validation scores along a strength axis and the settings chosen from them.

    Produced by cross-validation of a path (one whole warm-started path per fold), by
    exact leave-one-out for ridge, and by any other validation scheme that yields a score
    per (fold, strength). ``se`` follows glmnet's ``cvsd``: the fold-size-weighted standard
    deviation of the fold scores divided by ``sqrt(n_folds - 1)``.

    Attributes
    ----------
    lams : ndarray of shape (n_lams,)
        Strengths, decreasing (strongest first).
    fold_scores : ndarray of shape (n_folds, n_lams)
        Score of each fold (or repeat x fold, flattened) at each strength; NaN where a
        fold's path stopped early before that strength.
    fold_weights : ndarray of shape (n_folds,)
        Weight of each fold in the mean (its total sample weight).
    mean, se : ndarray of shape (n_lams,)
    metric : str
        Name of the score (``"mse"``, ``"deviance"``, ``"auc"``, ...).
    greater_is_better : bool
    index_min : int
        Index of the best mean (``selection.best``).
    index_chosen : int
        Index chosen by ``rule``.
    rule : str
        The rule in a few words, e.g. ``"1se"`` or ``"min"``.
    nnz : ndarray of int, shape (n_lams,) or None
        Non-zeros of the full-data path at each strength.
    fold_ids : ndarray of int, shape (n_samples,) or (n_repeats, n_samples), or None
    random_state : int or None
    """

    lams: np.ndarray
    fold_scores: np.ndarray
    fold_weights: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    metric: str
    greater_is_better: bool
    index_min: int
    index_chosen: int
    rule: str
    nnz: np.ndarray | None = None
    fold_ids: np.ndarray | None = None
    random_state: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def lam_min(self) -> float:
        """The strength with the best mean score, ``lams[index_min]`` (glmnet's
        ``lambda.min``)."""
        return float(self.lams[self.index_min])

    @property
    def lam_chosen(self) -> float:
        """The strength chosen by ``rule``, ``lams[index_chosen]`` (glmnet's
        ``lambda.1se`` under the default rule); never weaker than :attr:`lam_min`."""
        return float(self.lams[self.index_chosen])


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Validation scores of a network trained once per (seed, knob value).

    Attributes
    ----------
    knob : str
        The swept setting (``"weight_decay"``, ``"dropout"``, ``"epochs"``, ...).
    values : ndarray of shape (n_values,)
    stronger : {"larger", "smaller"}
        Which direction of ``values`` regularizes more.
    seed_scores : ndarray of shape (n_seeds, n_values)
    mean, se : ndarray of shape (n_values,)
    metric : str
    greater_is_better : bool
    index_min, index_chosen : int
    rule : str
    seeds : ndarray of int
    curves : dict
        Optional learning curves, e.g. ``{"train": array (n_seeds, n_values, n_epochs),
        "val": ...}``.
    """

    knob: str
    values: np.ndarray
    stronger: str
    seed_scores: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    metric: str
    greater_is_better: bool
    index_min: int
    index_chosen: int
    rule: str
    seeds: np.ndarray
    curves: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def value_min(self) -> float:
        """The knob value with the best mean score, ``values[index_min]``."""
        return float(self.values[self.index_min])

    @property
    def value_chosen(self) -> float:
        """The knob value chosen by ``rule``, ``values[index_chosen]``; never weaker than
        :attr:`value_min`."""
        return float(self.values[self.index_chosen])
