"""The duality gap of the group solver's gaussian fits (a mixin of
:class:`~shrinkage.engine.groups.GroupSolver`).

The primal is ``||r||_W^2 / 2 + pen(beta)`` at the centred residual ``r``; the dual point
is ``alpha W r'``, ``r'`` the residual projected off the unpenalised groups' columns and
``alpha <= 1`` the largest scaling feasible for the groups without a ridge part (the
ridge groups enter through their conjugate). The gap is reported relative to the null
objective ``||y_c||_W^2 / 2``; it is computed from the solver's exact gradient ``G`` (after
``_settle``), so it certifies the coefficients the solver returns.
"""

from __future__ import annotations

import numpy as np

from ..model.groups import group_dual_norm
from .free import FREE_CONDITION_WARN, free_columns, free_gram_pinv
from .kernels.group_blocks import group_features
from .kernels.group_dual import group_penalty_sum, group_soft_norms

__all__ = ["GroupGap", "soft_norm"]


def soft_norm(G, order, starts, thr_g):
    """``||S(G_g, thr_g)||`` per group (G of shape (p, K)), ``S`` the soft threshold."""
    return group_soft_norms(G, order, starts, np.asarray(thr_g, dtype=float))


class GroupGap:
    """The gaussian group fit's duality gap; the host provides ``prob``, ``G``, ``R``,
    ``beta``, ``order``, ``starts``, ``gcand``, ``unpen_g``, ``inv_s``, ``y2``, ``K``,
    ``obj_scale``, ``free`` and ``_arrays(lam)``."""

    def _gap(self, lam):
        """Duality gap relative to the null objective, dual point ``alpha * r``."""
        prob = self.prob
        w = prob.w
        R = self.R
        if prob.fit_intercept:
            R = R - (w @ R) / np.sum(w)
        rr = float(np.sum(w @ (R * R)))
        ryc = float(np.sum(w @ (R * self.centred_target())))
        return self.relative_gap(lam, rr, ryc)

    def relative_gap(self, lam, rr, ryc):
        """The gap from ``rr = ||r||_W^2`` and ``ryc = <r, y_c>_W`` (``r`` the centred
        residual, ``self.G`` its standardized gradient): primal ``rr / 2 + pen(beta)``,
        dual ``alpha ryc' - alpha^2 rr' / 2 - conj`` at the dual point ``alpha W r'``.

        An unpenalised group's conjugate is the indicator of ``Z_u^T W r' = 0``: ``r' = r -
        Z_u z`` with ``z = (Z_u^T W Z_u)^+ Z_u^T W r`` is ``r`` projected off those columns
        (``Z`` the centred, standardized design), so that ``rr' = rr - <z, G_u>``, ``ryc' =
        ryc - <z, Z_u^T W y_c>`` and the gradient becomes ``G' = G - Z^T W Z_u z``. Then
        ``alpha <= 1`` is the largest scaling of ``r'`` feasible for the groups without
        ridge part and ``conj`` the ridge groups' conjugate term."""
        l1g, l1in, l2g = self._arrays(lam)
        primal = 0.5 * rr + group_penalty_sum(self.beta, self.order, self.starts, l1g, l1in,
                                              l2g)
        G = self.G
        if np.any(self.unpen_g):
            if self.free is None:
                self.free = self._free_pieces()
            idx, pinv, gall, cu, Zu = self.free
            z = pinv @ G[idx]
            if Zu is not None:  # nearly collinear: the Gram products lose z's direction
                rr, ryc, G = self._projected_terms(Zu, z)
            else:
                # ||r'||^2 = rr - 2 <z, G_u> + z^T Z_u^T W Z_u z, exact for any z
                rr = max(rr + float(np.sum(z * (gall[idx] @ z - 2.0 * G[idx]))), 0.0)
                G = G - gall @ z
                ryc = ryc - float(np.sum(z * cu))
        pen = self.gcand & ~self.unpen_g
        hard = pen & (l2g == 0)
        alpha = 1.0
        if np.any(hard):
            sn = soft_norm(G, self.order, self.starts, l1in)
            over = hard & (sn > l1g)
            if np.any(over) and not np.any(l1in[over]):
                # the group norm alone: its dual norm is ||G_g|| / l1g
                alpha = min(1.0, float(np.min(l1g[over] / sn[over])))
            elif np.any(over):
                sel = np.flatnonzero(over)
                sizes = np.diff(self.starts)
                sub_order = self.order[np.repeat(over, sizes)]
                sub_starts = np.concatenate([[0], np.cumsum(sizes[sel])]).astype(np.int64)
                dn = group_dual_norm(G[sub_order], np.arange(sub_order.size),
                                     sub_starts, l1in[sel], l1g[sel])
                alpha = min(1.0, 1.0 / float(np.max(dn)))
        soft = pen & (l2g > 0)
        conj = 0.0
        if np.any(soft):
            sn = soft_norm(alpha * G, self.order, self.starts, l1in)
            ex = np.maximum(sn - l1g, 0.0)[soft]
            conj = float(np.sum(ex * ex / (2.0 * l2g[soft])))
        dual = alpha * ryc - 0.5 * alpha * alpha * rr - conj
        return max(primal - dual, 0.0) / self.obj_scale

    def _free_pieces(self):
        """``(idx, pinv, gall, cu)`` for the unpenalised groups' features ``idx``:
        ``pinv = (Z_u^T W Z_u)^+``, ``gall = Z^T W Z_u`` (p, u) and ``cu = Z_u^T W y_c``
        (u, K), in standardized units (one pass over X, once per fit)."""
        prob = self.prob
        idx = group_features(self.starts, self.order,
                             np.flatnonzero(self.unpen_g).astype(np.int64))
        Zu = self._free_columns(idx)
        WZu = prob.w[:, None] * Zu
        gall = prob.gradient(WZu) * self.inv_s[:, None]
        cu = WZu.T @ self.centred_target()
        pinv, ill = self._pinv(Zu, idx)
        return idx, pinv, gall, cu, (Zu if ill else None)

    def _free_columns(self, idx):
        """The standardized, centred columns ``Z_u`` of the features ``idx`` (n, u)."""
        # centred at prob.xm: the means with an intercept, zeros without (every family the
        # group solvers take has an intercept to fit or not)
        Zu = free_columns(self.prob, idx)
        Zu *= self.inv_s[idx]
        return Zu

    def _pinv(self, Zu, idx):
        """``((Z_u^T W Z_u)^+, ill)`` from the SVD of ``W^(1/2) Z_u`` (the Gram would
        square a near-dependence into rounding: :func:`.free.free_gram_pinv`); ``ill``
        when their condition number passes ``FREE_CONDITION_WARN``."""
        pinv, cond = free_gram_pinv(Zu * np.sqrt(self.prob.w)[:, None], idx)
        return pinv, cond > FREE_CONDITION_WARN

    def _projected_terms(self, Zu, z):
        """``(||r'||_W^2, <r', y_c>_W, G')`` of ``r' = r - Z_u z`` formed in the residual
        space (the residual recomputed from ``beta``: one pass over the active columns
        and one over X), for unpenalised columns too collinear for the Gram products."""
        prob = self.prob
        b = self.beta * self.inv_s[:, None]
        rows = np.flatnonzero(np.any(b != 0, axis=1))
        fit = np.column_stack([prob.centred_matvec(b[:, k], rows) for k in range(self.K)])
        yc = self.centred_target()
        rp = yc - fit - Zu @ z
        wr = prob.w[:, None] * rp
        G = prob.gradient(wr[:, 0].copy() if self.K == 1 else wr)
        G = G.reshape(prob.p, self.K) * self.inv_s[:, None]
        return float(np.sum(wr * rp)), float(np.sum(wr * yc)), G

    def centred_target(self):
        """``y - offset``, centred by its weighted mean with an intercept (n, K)."""
        if getattr(self, "_yc", None) is None:  # computed once per fit
            prob = self.prob
            n = prob.n
            yc = self.y2 if prob.offset is None else self.y2 - prob.offset.reshape(n, self.K)
            if prob.fit_intercept:
                yc = yc - (prob.w @ yc) / np.sum(prob.w)
            self._yc = yc
        return self._yc
