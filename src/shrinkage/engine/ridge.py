"""Exact ridge from one decomposition: every ``lam`` is a diagonal filter.

Ridge minimises (``l1_ratio = 0``)::

    1/(2W) sum_i w_i (y_i - b0 - x_i . b)^2 + lam/2 sum_j pf_j (s_j b_j)^2

with ``W = sum(w)``, ``s_j`` the weighted population sd of feature ``j`` when
``standardize`` (else 1) and ``pf_j > 0`` penalty factors. Write ``Z`` for the weighted,
centred and scaled design ``Z_ij = sqrt(w_i / W) (x_ij - xbar_j) / (s_j sqrt(pf_j))`` and
``z = sqrt(w / W) (y - ybar)``. With the thin SVD ``Z = U diag(d) V^T``:

* coefficients ``c(lam) = V diag(d / (d^2 + lam)) U^T z`` (``b_j = c_j / (s_j sqrt(pf_j))``),
* hat-matrix diagonal ``h_i = w_i / W + sum_k U_ik^2 d_k^2 / (d_k^2 + lam)`` (the first
  term is the unpenalised intercept),
* effective degrees of freedom ``df = tr H = 1 + sum_k d_k^2 / (d_k^2 + lam)``.

The decomposition comes from ``eigh(Z^T Z)`` when ``n > p`` and from ``eigh(Z Z^T)``
otherwise, so its cost is ``O(n p min(n, p))``; each ``lam`` then costs ``O(n min(n, p))``.
``lam = 0`` is allowed: the minimum-norm least-squares fit (null directions dropped).
Used by :func:`shrinkage.ridge_path` (leave-one-out, GCV and the choice of ``lam``), by the
evidence of :class:`shrinkage.bayes.EvidenceRidge` and by the overfitting picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import check_column_means, column_spread, constant_columns

__all__ = ["ExactRidge", "RidgeFilters", "decompose"]


def decompose(Z, return_gram=False, need_u=True):
    """Thin SVD ``Z = U diag(d) V^T`` via the smaller Gram matrix; drops null directions.

    With ``return_gram`` also returns that Gram matrix (``Z^T Z`` when ``n > p``, else
    ``Z Z^T``). With ``need_u=False`` and ``n > p``, ``U`` is None (saves ``O(n p r)``).
    """
    n, p = Z.shape
    if n > p:
        gram = Z.T @ Z
        evals, V = np.linalg.eigh(gram)
        evals, V = evals[::-1], V[:, ::-1]
        keep = evals > max(n, p) * np.finfo(float).eps * max(evals[0], 0.0)
        d = np.sqrt(evals[keep])
        V = V[:, keep]
        U = (Z @ V) / d if need_u else None
    else:
        gram = Z @ Z.T
        evals, U = np.linalg.eigh(gram)
        evals, U = evals[::-1], U[:, ::-1]
        keep = evals > max(n, p) * np.finfo(float).eps * max(evals[0], 0.0)
        d = np.sqrt(evals[keep])
        U = U[:, keep]
        V = (Z.T @ U) / d
    return (U, d, V, gram) if return_gram else (U, d, V)


@dataclass(frozen=True, eq=False)
class RidgeFilters:
    """Ridge at each of ``L`` strengths, for ``q`` targets.

    ``coefs`` (L, p, q) and ``intercepts`` (L, q) on the original scale; ``resid`` (n, L, q)
    original-scale residuals ``y - yhat``; ``hat`` (n, L) the hat-matrix diagonal
    (intercept included); ``df`` (L,) its trace; ``certificate`` (L,) the relative KKT
    residual ``||Z^T(z - Z c) - lam c||_inf / ||Z^T z||_inf``, computed independently of
    the eigendecomposition.
    """

    lams: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    resid: np.ndarray
    hat: np.ndarray
    df: np.ndarray
    certificate: np.ndarray


@dataclass(frozen=True, eq=False)
class ExactRidge:
    """A weighted, centred, scaled design and its thin SVD, ready to filter.

    Build with :meth:`fit`; ``filters(lams)`` gives every quantity along a grid.
    """

    xbar: np.ndarray
    ybar: np.ndarray
    scale: np.ndarray
    const: np.ndarray
    wn: np.ndarray
    Z: np.ndarray
    z: np.ndarray
    U: np.ndarray
    d: np.ndarray
    V: np.ndarray
    gram: np.ndarray
    fit_intercept: bool

    @classmethod
    def fit(cls, X, Y, w, pf, *, standardize=True, fit_intercept=True):
        """Decompose ``X`` (n, p) for targets ``Y`` (n, q), weights ``w > 0``, factors ``pf > 0``.

        Constant columns get scale 1 and an exactly-zero column, so their coefficient is
        exactly 0 (as in :func:`~shrinkage.engine.path.regularization_path`, and glmnet,
        with or without an intercept). Constant is decided as there, on the column's
        values relative to their magnitude (:func:`~.problem.constant_columns`), so a
        column of tiny or huge scale is fitted, and one whose sums of squares leave
        double precision is refused by name. The scale ``s_j`` is the column's weighted
        population standard deviation, about its weighted mean, with or without an
        intercept (the library's standardization).
        """
        n, p = X.shape
        wn = w / w.sum()
        mean = wn @ X
        check_column_means(mean)
        Xc = X - mean  # one copy of X: the decomposition needs the centred matrix anyway
        with np.errstate(over="ignore", under="ignore"):
            var = wn @ (Xc * Xc)
        const = constant_columns(*column_spread(X, wn), var,
                                 centre=mean if fit_intercept else None,
                                 intercept=fit_intercept)
        s = np.sqrt(var)
        if fit_intercept:
            xbar = mean
            ybar = wn @ Y
        else:  # the model is in the raw columns: the same copy takes X back
            xbar = np.zeros(p)
            ybar = np.zeros(Y.shape[1])
            np.copyto(Xc, X)
        s = np.where(const | (not standardize), 1.0, s)
        Xc[:, const] = 0.0
        scale = s * np.sqrt(pf)  # c_j = scale_j * b_j
        sw = np.sqrt(wn)
        Z = Xc
        Z *= sw[:, None]
        Z /= scale
        z = sw[:, None] * (Y - ybar)
        U, d, V, gram = decompose(Z, return_gram=True)
        return cls(xbar, ybar, scale, const, wn, Z, z, U, d, V, gram, bool(fit_intercept))

    def lam_max(self):
        """glmnet's ridge ``lam_max``: the lasso one divided by 1e-3 (1 for a constant y)."""
        lam_max = float(np.max(np.abs(self.Z.T @ self.z))) / 1e-3
        return lam_max if lam_max > 0 else 1.0

    def filters(self, lams):
        """:class:`RidgeFilters` at ``lams`` (non-negative)."""
        lams = np.asarray(lams, dtype=float)
        U, d, V, Z, z = self.U, self.d, self.V, self.Z, self.z
        n, p = Z.shape
        L, q = lams.size, z.shape[1]
        d2 = d * d
        Utz = U.T @ z  # (r, q)
        filt = d2[:, None] / (d2[:, None] + lams[None, :])  # (r, L): shrinkage factors
        # every product below is one BLAS matrix multiply over all (lam, target) pairs
        G = (filt / d[:, None])[:, :, None] * Utz[:, None, :]  # (r, L, q)
        coef_c = (V @ G.reshape(d.size, L * q)).reshape(p, L, q).transpose(1, 0, 2)
        coef_c[:, self.const, :] = 0.0  # eigenvectors carry rounding noise in a zero column
        coefs = coef_c / self.scale[None, :, None]
        intercepts = self.ybar[None, :] - np.einsum("j,ljq->lq", self.xbar, coefs)
        # residuals in the z space: r = z - U diag(filt) U^T z (outside-span part included)
        fit = U @ (filt[:, :, None] * Utz[:, None, :]).reshape(d.size, L * q)
        resid = z[:, None, :] - fit.reshape(n, L, q)
        hat = (U * U) @ filt  # (n, L) hat-matrix diagonal of the penalised part
        if self.fit_intercept:
            hat += self.wn[:, None]
        df = filt.sum(axis=0) + (1.0 if self.fit_intercept else 0.0)
        cert = self._certificate(coef_c, resid, lams)
        sw = np.sqrt(self.wn)
        return RidgeFilters(lams, coefs, intercepts, resid / sw[:, None, None], hat, df, cert)

    def _certificate(self, coef_c, resid, lams):
        """KKT residual through the Gram matrix ``Z^T Z`` (n > p) or through the residuals
        themselves (p >= n); either way it checks the eigendecomposition's output."""
        Z, z = self.Z, self.z
        n, p = Z.shape
        L, q = lams.size, z.shape[1]
        Ztz = Z.T @ z
        if n > p:
            Gc = self.gram @ coef_c.transpose(1, 0, 2).reshape(p, L * q)
            grad = Ztz[None] - Gc.reshape(p, L, q).transpose(1, 0, 2)
        else:
            grad = (Z.T @ resid.reshape(n, L * q)).reshape(p, L, q).transpose(1, 0, 2)
        grad = grad - lams[:, None, None] * coef_c
        denom = max(float(np.max(np.abs(Ztz))), np.finfo(float).tiny)
        return np.max(np.abs(grad), axis=(1, 2)) / denom


# ------------------------------------------------------------ the ridge end of a grid
# the spectrum is computed from the smaller Gram side up to this size (an eigh of about a
# second on 2 cores); larger designs keep glmnet's convention for the ridge grid
_SPECTRUM_MAX_SIDE = 2000
_SPECTRUM_MAX_ENTRIES = 5e7  # entries of the dense copy of the penalised columns


def effective_df(e, lams):
    """``df(lam) = sum_k e_k / (e_k + lam)`` at each ``lam`` (``e`` the Gram eigenvalues)."""
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    return np.sum(e[None, :] / (e[None, :] + lams[:, None]), axis=1)


def lam_for_df(e, df):
    """The ``lam`` at which the effective degrees of freedom equal ``df`` (``0 < df <
    rank``), by bisection on ``log lam`` (df decreases monotonically in ``lam``)."""
    lo, hi = np.log(np.min(e) * 1e-12), np.log(np.sum(e) * 1e12)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if effective_df(e, np.exp(mid))[0] > df:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return float(np.exp(0.5 * (lo + hi)))


def penalised_spectrum(prob, v):
    """Eigenvalues of ``Z^T Z`` with ``Z = V^(1/2) Xc_P diag(l2u_P)^(-1/2)`` over the
    ridge-penalised candidates ``P`` (``v`` the rows' curvature weights), or None when
    the design is too large for a dense decomposition."""
    idx = np.flatnonzero(prob.candidates & (prob.l2u > 0))
    m = min(prob.n, idx.size)
    if m == 0 or m > _SPECTRUM_MAX_SIDE or prob.n * idx.size > _SPECTRUM_MAX_ENTRIES:
        return None
    cols = prob.X[:, idx]
    cols = cols.toarray() if hasattr(cols, "toarray") else np.array(cols, dtype=float)
    cols -= prob.xm[idx]
    cols *= np.sqrt(v)[:, None]
    cols /= np.sqrt(prob.l2u[idx])
    gram = cols.T @ cols if prob.n >= idx.size else cols @ cols.T
    e = np.linalg.eigvalsh(gram)
    return e[e > max(e.max(), 0.0) * max(gram.shape) * np.finfo(float).eps]


def ridge_grid_ends(e, n):
    """``(lam_max, lam_min)`` of a ridge grid spanning 0.5 to ``min(n, rank) - 1``
    effective degrees of freedom (the useful range: from nearly the intercept alone to
    nearly least squares), or None when the rank is below 2."""
    top = min(n, e.size) - 1
    if top < 1:
        return None
    return lam_for_df(e, 0.5), lam_for_df(e, top)
