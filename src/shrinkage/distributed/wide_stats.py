"""Passes over a wide design: column moments and gradients of many fits at once.

A pass reads every column once, a block of columns at a time
(``ColumnSource.blocks``), and serves every fit
that asks (the full-data fit and each cross-validation fold, whose weights differ):

* ``stats_pass`` -- per fit ``f`` with weights ``w_f`` (summing to one) the weighted
  means ``xw_fj = sum_i w_fi x_ij``, the centred second moments ``var_fj = sum_i w_fi
  (x_ij - xw_fj)^2``, the uncentred ones ``sum_i w_fi x_ij^2`` (fits without intercept),
  the live range (smallest and largest value over rows with ``w_fi > 0``) and the
  gradient at the null model ``g_fj = sum_i (x_ij - xm_fj) u_fi``, ``u_f = w_f yc_f``
  (``xm_f = xw_f`` with an intercept, else 0). Every value is checked finite here, so
  a NaN in any block is named by its column before any fit starts;
* ``gradient_pass`` -- the same ``g_f`` for new vectors ``u_f`` (one product
  ``X_B^T U`` per block for all fits): the exact KKT check of every column.
"""

from __future__ import annotations

import numpy as np

from ..engine.problem import column_moments, column_spread

__all__ = ["stats_pass", "gradient_pass", "check_block"]


def check_block(j0, block):
    """Refuse a block holding NaN or infinity, naming its first bad column."""
    finite = np.isfinite(block)
    if not finite.all():
        j = j0 + int(np.flatnonzero(~finite.all(axis=0))[0])
        raise ValueError(f"X column {j} holds NaN or infinity (column block starting at "
                         f"{j0}); a wide design must be finite")


def stats_pass(source, W, yc, intercept):
    """Column moments and null-model gradients of ``F`` fits in one pass.

    Parameters
    ----------
    source : ColumnSource
    W : ndarray of shape (n, F)
        Each fit's weights, summing to one.
    yc : ndarray of shape (n, F)
        Each fit's centred response (``y - offset``, minus its weighted mean with an
        intercept).
    intercept : bool

    Returns
    -------
    dict of ndarrays of shape (F, p)
        ``xw``, ``var``, ``xsq`` (``var`` with an intercept, else ``sum w x^2``), ``lo``,
        ``hi``, ``g``.
    """
    n, p = source.shape
    F = W.shape[1]
    out = {k: np.empty((F, p)) for k in ("xw", "var", "xsq", "lo", "hi", "g")}
    U = W * yc
    su = U.sum(axis=0)
    zeros = None
    for j0, block in source.blocks():
        if not block.flags.writeable:  # the compiled moment kernels take plain arrays
            block = block.copy(order="F")
        check_block(j0, block)
        j1 = j0 + block.shape[1]
        xw = (block.T @ W).T
        prod = (block.T @ U).T
        for f in range(F):
            w = np.ascontiguousarray(W[:, f])
            out["xw"][f, j0:j1] = xw[f]
            out["var"][f, j0:j1] = column_moments(block, w, xw[f])
            if intercept:
                out["xsq"][f, j0:j1] = out["var"][f, j0:j1]
                out["g"][f, j0:j1] = prod[f] - xw[f] * su[f]
            else:
                if zeros is None or zeros.size != block.shape[1]:
                    zeros = np.zeros(block.shape[1])
                out["xsq"][f, j0:j1] = column_moments(block, w, zeros)
                out["g"][f, j0:j1] = prod[f]
            lo, hi = column_spread(block, w)
            out["lo"][f, j0:j1] = lo
            out["hi"][f, j0:j1] = hi
    return out


def gradient_pass(source, U, XM):
    """``g_fj = sum_i (x_ij - XM_fj) U_if`` for every column and fit, in one pass.

    Parameters
    ----------
    source : ColumnSource
    U : ndarray of shape (n, F)
        The weighted residuals ``w_f * r_f``.
    XM : ndarray of shape (F, p)
        Each fit's column centres.

    Returns
    -------
    ndarray of shape (F, p)
    """
    F = U.shape[1]
    p = source.shape[1]
    g = np.empty((F, p))
    su = U.sum(axis=0)
    for j0, block in source.blocks():
        j1 = j0 + block.shape[1]
        g[:, j0:j1] = (block.T @ U).T - XM[:, j0:j1] * su[:, None]
    return g
