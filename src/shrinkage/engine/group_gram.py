"""The group solver's Gram mode: gaussian group penalties on tall dense designs.

For ``n >> p`` a block move that updates the residual costs O(n) per coordinate, one
that updates every feature's gradient through the Gram matrix O(p) (glmnet's covariance
mode, :mod:`shrinkage.engine.covariance`, for single coefficients). :class:`GroupGramSolver`
computes the weighted, centred, standardized Gram ``C = Z^T W Z`` once per fit (one
symmetric BLAS product, shared across cross-validation folds through the same
:class:`~shrinkage.engine.gram.SharedGram` hint), and then never touches X: block
coordinate descent keeps ``G = c0 - C beta`` exact, the group Hessians are blocks of C,
and the duality gap needs only inner products::

    ||r||_W^2 = y_c^T W y_c - <beta, c0> - <beta, G>,    <r, y_c>_W = y_c^T W y_c - <beta, c0>

Everything else (strong rules, working sets, the certificate's dual point) is
:class:`~shrinkage.engine.groups.GroupSolver`'s.
"""

from __future__ import annotations

import numpy as np

from .covariance import gram_centring_safe
from .gram import dense_gram
from .groups import GroupSolver
from .kernels.group_blocks import group_features
from .kernels.group_gram import gram_bcd, gram_blocks

#: the Gram mode is chosen when ``n >= TALL_RATIO * p`` (and p is at most GRAM_MAX_P)
TALL_RATIO = 2
#: the largest p whose p x p Gram the mode builds (32 MB)
GRAM_MAX_P = 2000


def prefers_gram(prob):
    """Whether a dense gaussian group problem is tall enough (``n >= TALL_RATIO p``,
    ``p <= GRAM_MAX_P``) for the Gram matrix to pay, and centring it is safe."""
    tall = prob.n >= TALL_RATIO * prob.p and prob.p <= GRAM_MAX_P
    return tall and gram_centring_safe(prob.xm, prob.xsq, prob.excluded)


class GroupGramSolver(GroupSolver):
    """Block coordinate descent on the Gram matrix (see the module docstring)."""

    name = "group_gram"
    secant = False  # its sweeps keep the Gram-mode gradient, not the residual

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        if (penalty.block != "group" or penalty.shape != "elasticnet" or not family.quadratic
                or prob.sparse):
            return False
        return setup.hints.solver == cls.name or prefers_gram(prob)

    def __init__(self, prob, setup):
        super().__init__(prob, setup)
        C = dense_gram(prob.X, prob.w, prob.uniform_w, setup.hints.shared_gram,
                       setup.held_block)
        C -= np.outer(prob.xm, prob.xm)  # weights sum to one; xm = 0 without intercept
        C *= self.inv_s[:, None]
        C *= self.inv_s[None, :]
        self.C = np.ascontiguousarray(C)
        self.c0 = self.G.copy()  # beta = 0: the gradient is Z^T W y_c
        self.c0t = np.ascontiguousarray(self.c0.T)
        yc = self.centred_target()
        self.yw = float(np.sum(prob.w @ (yc * yc)))
        self.b0 = np.zeros(self.K)
        if prob.fit_intercept:  # Z is centred: the intercept is the target's mean
            # (of y - offset: yc is that target centred)
            target = self.y2 if prob.offset is None else (
                self.y2 - prob.offset.reshape(prob.n, self.K))
            self.b0 = prob.w @ (target - yc) / np.sum(prob.w)

    def deviance(self):
        return self._terms()[0]

    def _terms(self):
        """``(||r||_W^2, <r, y_c>_W)`` from inner products (the residual is never formed)."""
        bc = float(np.sum(self.beta * self.c0))
        return self.yw - bc - float(np.sum(self.beta * self.G)), self.yw - bc

    def _hessians(self, groups):
        todo = groups[~self.fresh[groups]].astype(np.int64)
        if todo.size:
            gram_blocks(self.C, self.starts, self.order, self.eoff, todo, self.H, self.Q,
                        self.D)
            self.fresh[todo] = True

    def _bcd(self, ws, lam, thr, budget):
        l1g, l1in, l2g = self._arrays(lam)
        sgl_tol = 1e-3 * self.prob.tol * self.block_scale
        Gt = np.ascontiguousarray(self.G.T)  # the kernel's layout: one row per response
        sweeps = gram_bcd(self.C, self.starts, self.order, self.eoff, self.H, self.Q, self.D,
                          ws, l1g, l1in, l2g, self.beta, Gt, self.c0t, thr, max(budget, 1),
                          sgl_tol, self.anderson)
        self.G = Gt.T
        return sweeps

    def _settle(self):
        # the running updates accumulate rounding: the certificate reads the exact G
        self.G = self.c0 - self.C @ self.beta

    def _free_pieces(self):
        # the Gram matrix holds them all: Z^T W Z_u is C's columns, Z_u^T W y_c is c0's rows
        idx = group_features(self.starts, self.order,
                             np.flatnonzero(self.unpen_g).astype(np.int64))
        gall = self.C[:, idx]
        Zu = self._free_columns(idx)
        pinv, ill = self._pinv(Zu, idx)
        return idx, pinv, gall, self.c0[idx], (Zu if ill else None)

    def _gap(self, lam):
        rr, ryc = self._terms()
        return self.relative_gap(lam, rr, ryc)
