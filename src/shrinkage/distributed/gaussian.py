"""Gaussian paths from one pass of sums: the engine's covariance-mode driver on ``p x p``.

The gaussian objective depends on the data only through the weighted moments: with
``W = sum w``, ``xm = E_w[x]``, ``rbar = E_w[y - offset]``::

    G  = E_w[(x - xm)(x - xm)^T]       c = E_w[(x - xm)(r - rbar)]     yw = E_w[(r - rbar)^2]

(uncentred moments without an intercept), the objective at ``b`` is
``1/2 (yw - 2 b.c + b^T G b) + lam * penalty(b)``, and the duality gap is computed from
the same inner products. So one pass over the blocks (``moment_block``) gives
everything, and the whole path is solved locally by ``covariance_path`` of
``shrinkage.engine.covariance`` (the in-memory solver for ``n >> p``) with the whole
Gram cached: the same objective, standardization, grid, duality-gap certificate and
early stop as :func:`shrinkage.regularization_path`.
"""

from __future__ import annotations

import numpy as np

from ..engine.covariance import NEED_COLUMNS, GaussianCovariance, covariance_path
from ..engine.grid import strength_grid
from ..engine.kernels.cd import cd_covariance
from ..engine.kernels.gap import covariance_residual_terms
from ..engine.problem import start_objective_reference
from ..engine.stopping import RULES
from ..model.penalties import RIDGE_LAM_MAX_RATIO, PenaltyArrays
from .problem import finish_path, fit_setup, free_arrays, gram_ridge_ends

__all__ = ["gaussian_path", "Y_MAGNITUDE"]

#: ``|y - offset|`` must lie in this range (as the in-memory fit, which rescales beyond).
Y_MAGNITUDE = (1e-30, 1e30)


def _check_response_scale(mom):
    m = float(mom.sums["max_absr"])
    if m != 0.0 and not (Y_MAGNITUDE[0] <= m <= Y_MAGNITUDE[1]):
        raise ValueError(f"max |y - offset| is {m:.3g}: outside [1e-30, 1e30]; rescale y "
                         "before fitting on blocked data")


def gram_problem(mom, st):
    """``(G, c, yw)`` with the excluded (constant) columns zeroed."""
    G, c, yw = mom.gram(st.fit_intercept)
    G[~st.cand, :] = 0.0
    G[:, ~st.cand] = 0.0
    c = np.where(st.cand, c, 0.0)
    return G, c, yw


def gaussian_path(mom, options, n):
    """The gaussian path of ``options`` on the rows summarised by ``mom`` (``n`` rows).

    Minimises ``1/2 E_w[(r - b0 - x.b)^2] + lam * sum_j pf_j (l1_ratio s_j |b_j| +
    (1 - l1_ratio) / 2 s_j^2 b_j^2)`` along the grid, from the moments alone.

    Returns
    -------
    Path
    """
    _check_response_scale(mom)
    st = fit_setup(mom, options, mom.shift.size)
    p = mom.shift.size
    G, c, yw = gram_problem(mom, st)
    # Fortran order, as the in-memory Gram cache holds it: the covariance kernels then
    # compile one specialisation for both routes, not two
    G = np.asfortranarray(G)
    ybar = mom.rbar if st.fit_intercept else 0.0
    obj_scale = 0.5 * yw if yw > 0 else 1.0
    h = st.xsq
    b = np.zeros(p)
    g = c.copy()
    free = free_arrays(G, c, st, st.cand)
    col = np.arange(p, dtype=np.int64)
    thr_start, thr_shrink = GaussianCovariance.thr_start, GaussianCovariance.thr_shrink
    if np.any(st.unpen):
        ws = np.flatnonzero(st.unpen)
        zeros = np.zeros(p)
        cd_covariance(G, col, g, h, zeros, zeros, st.lo, st.hi, b, ws, ws.size,
                      thr_start * st.tol * obj_scale * 1e-6, st.max_iter)
        # the gap relative to the unpenalised fit's objective (Solver.rebase_reference)
        obj_scale = start_objective_reference(obj_scale,
                                              0.5 * covariance_residual_terms(b, c, g, yw)[1])
    lam_max = st.penalty.lam_max(np.abs(g), PenaltyArrays(st.l1u, st.l2u, st.lo, st.hi),
                                 st.cand & ~st.unpen, st.scale)
    ends = None
    if st.l1_ratio < RIDGE_LAM_MAX_RATIO and options.lams is None:
        ends = gram_ridge_ends(G, st, mom.n_live)
        lam_max = lam_max if ends is None else ends[0]
    grid, user_grid = strength_grid(options, lam_max, n, p, st.n_lams, ends)
    early_stop = (not user_grid) if options.early_stop is None else options.early_stop
    L = grid.size
    out = (np.zeros((L, p)), np.zeros(L), np.zeros(L), np.zeros(L),
           np.zeros(L, dtype=np.int64))
    done, code, _ = covariance_path(
        G, col, p, c, yw, h, st.l1u, st.l2u, st.lo, st.hi, st.cand, st.scale, grid, 0, L,
        st.tol, obj_scale, st.max_iter, thr_start, thr_shrink, st.fit_intercept, ybar,
        st.xm, float(yw), bool(early_stop), *RULES, *free, b, g,
        np.empty(p, dtype=np.int64), *out)
    if code == NEED_COLUMNS:  # every column is cached: cannot happen
        raise RuntimeError("the covariance driver asked for Gram columns it holds")
    if done and grid[done - 1] == 0.0:
        out[3][done - 1] = least_squares_gap(G, c, out[0][done - 1], st, obj_scale)
    return finish_path(st, grid, out, done, code, yw, lam_max, "duality_gap",
                       extra={"passes": 1})


def least_squares_gap(G, c, b, st, obj_scale):
    """Relative duality gap at ``lam = 0`` without bounds: the exact suboptimality
    ``1/2 g_F^T G_FF^+ g_F / obj_scale`` with ``g = c - G b`` over the candidates ``F``
    (NaN when a bound is finite: the in-memory certificate then needs the rows)."""
    if np.any(np.isfinite(st.lo[st.cand])) or np.any(np.isfinite(st.hi[st.cand])):
        return np.nan
    idx = np.flatnonzero(st.cand)
    g = (c - G @ b)[idx]
    z = np.linalg.pinv(G[np.ix_(idx, idx)], rcond=np.finfo(float).eps * idx.size) @ g
    return max(0.5 * float(g @ z), 0.0) / obj_scale
