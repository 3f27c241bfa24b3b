"""Ending cross-validation's fold paths once their held-out loss has risen well past its best.

A lasso path is dearest at its weak end: there the active set is largest, the fit nearly
interpolates and the solver needs the most sweeps per strength. Cross-validation pays
that end once per fold, yet its curve there has long risen past the minimum and no rule
(``"min"``, ``"1se"``, which always moves toward the stronger side) can choose it. On
power-law text (binomial, 20,000 x 45,000) the held-out deviance of a fold is lowest
near the 10th of 100 strengths, and the 26 strengths up to where this rule stops hold
about 4 % of the path's sweeps.

**A fold's rule.** After each path point ``k`` the fold scores its held-out rows with the
cross-validation's own metric: ``s_k`` (the weighted mean loss, lower is better; a
greater-is-better metric is negated) and the standard error of that mean,
``se_k = sqrt(sum_i w_i (l_i - s_k)^2 / sum_i w_i / (n_eff - 1))`` with ``n_eff = (sum w)^2 /
sum w^2``. With ``k*`` the best point so far, the fold's path ends after ``k`` when
``k - k* >= PAST`` and each of the last ``PAST`` scores exceeds ``s_k* + RISE * se_k*``.

**The curve's rule.** The folds stop where their own curves say, and the cross-validated
curve is defined only where every fold has a score (:func:`shrinkage.cross_validate`), up to
the first fold's stop ``S``. A fold that stopped early on a noisy curve could end it
before the mean's minimum, so the mean curve is checked the same way
(:func:`curve_has_risen`: its best point ``i*`` at least ``PAST`` points before ``S``,
each of its last ``PAST // 2`` points above ``mean_i* + RISE * se_i*``, ``se`` the
curve's standard error). Where it is not, the folds that stopped are fitted again, told not to
stop before the furthest any fold reached (at least ``PAST`` points past ``S``), and at
the third try to the end of the grid. The result records ``S`` in
``extra["held_out_stop"]``; ``extra["n_folds_reached"]`` shows where the folds ended.

Only the metrics that are means of per-sample losses can be scored this way (not
``auc``, nor the Cox concordance indices), and every family but Cox (whose held-out
deviance couples the rows through their risk sets) is watched; the compiled gaussian
drivers, whose whole path is otherwise one call, are then run a few strengths per call.
Where a strength costs fewer than :data:`BATCH_RATIO` scores (each fold times its own
strengths), a fold scores up to :data:`BATCH_MAX` points in one product
(:func:`score_batch`), and its path ends at the end of that batch; its curve is kept to
the point the rule fired at, so the result does not depend on the batches.

A design of more than ``SMALL_DESIGN`` entries (``shrinkage.engine.blas``) is watched
where it has at least one feature per :data:`ROWS_PER_FEATURE` rows (:func:`may_overfit`,
decided by its shape). A smaller design's full-data path runs first, timed: where a
strength took less than :data:`STRENGTH_PER_SCORE` times as long as scoring a fold's
held-out rows once, the folds are not watched, since scoring them would cost more than
it could save.
``cross_validate(..., held_out_stop=False)`` fits every fold to the end of the grid.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .metrics import row_losses

__all__ = ["BATCH_MAX", "BATCH_RATIO", "HeldOutStop", "PAST", "RISE", "ROWS_PER_FEATURE",
           "STRENGTH_PER_SCORE", "curve_has_risen", "may_overfit", "monitored", "past_limit",
           "reached", "score_batch", "score_seconds", "stop_note", "worth_watching"]

#: How far above its best a held-out score must lie, in standard errors of the best.
RISE = 3.0
#: For how many consecutive points past the best.
PAST = 10

#: A fold is watched where a strength of the full-data path takes at least this many
#: times as long as scoring the held-out rows once (about 20 us for a 44-row fold of the
#: diabetes data; watching its quick CV, where a strength takes about 60 us, doubled it,
#: 0.059 -> 0.110 s, for no strength saved). At 20, watching costs at most about 5 % of
#: a fold's path where it stops nothing. At 10 the quick uniform sparse binomial case was
#: watched (about 12 times; 40 % saved, 0.20 -> 0.12 s), but so were, by the noise of
#: one timed path, the quick tall and diabetes cases, 20-70 % slower for nothing.
STRENGTH_PER_SCORE = 20.0

#: A design of more than ``SMALL_DESIGN`` entries is watched where it has at least one
#: feature per this many rows (:func:`may_overfit`): with far more rows than features the
#: weak end of the path still generalises (its held-out loss does not rise 3 standard
#: errors) and its strengths are cheap next to scoring many held-out rows. Decided by the
#: shape, not by a timing, so that the curve kept does not change from run to run.
ROWS_PER_FEATURE = 20

#: Where a strength costs fewer than this many held-out scores, a fold scores several
#: points in one product (:func:`score_batch`): one score of eight points costs about
#: 2.5 of one (the product's and the losses' fixed costs dominate on a fold's rows), and
#: a compiled gaussian driver is called once per batch, not once per strength. Scored
#: one at a time, watching the quick gaussian text CV (a strength about 44 scores) cost
#: 14 % of its CPU time.
BATCH_RATIO = 160.0
#: The most points a batch holds: a fold's path ends at most this many points less one
#: after its rule fired.
BATCH_MAX = 8

_UNSCORABLE = ("auc", "c_index", "uno_c")


def monitored(family, metric):
    """Whether folds of ``family`` scored by ``metric`` can stop on their held-out loss."""
    return family != "cox" and metric not in _UNSCORABLE


def past_limit(limit, k):
    """Whether a path reached point ``k`` has fitted all it needs: ``k + 1 >= limit()``
    where ``limit`` (a callable, or None) knows that number."""
    n = None if limit is None else limit()
    return n is not None and k + 1 >= n


def may_overfit(n_samples, n_features):
    """Whether a large design is watched: ``n_samples <= ROWS_PER_FEATURE * n_features``."""
    return n_samples <= ROWS_PER_FEATURE * n_features


def worth_watching(seconds_per_strength, score_seconds):
    """Whether to watch the folds: where the full-data path took at least
    :data:`STRENGTH_PER_SCORE` times ``score_seconds`` (one held-out score, timed) per
    strength."""
    return seconds_per_strength >= STRENGTH_PER_SCORE * score_seconds


def score_batch(seconds_per_strength, score_seconds):
    """How many points a fold scores at once: ``ceil(BATCH_RATIO / ratio)`` within
    ``[1, BATCH_MAX]``, ``ratio`` a strength's seconds over one score's."""
    if not score_seconds > 0:
        return 1
    ratio = seconds_per_strength / score_seconds
    return int(min(BATCH_MAX, max(1.0, np.ceil(BATCH_RATIO / max(ratio, 1e-300)))))


def score_seconds(metric, family, greater, y, X_test, n_features, classes=None):
    """Seconds of one call of a fold's monitor on ``X_test`` (the fastest of three)."""
    shape = (n_features,) if classes is None else (n_features, classes)
    coef, b0 = np.zeros(shape), (0.0 if classes is None else np.zeros(classes))
    mon = HeldOutStop(metric, family, greater, y, X_test, None, None)
    best = np.inf
    for k in range(3):
        start = time.perf_counter()
        mon(k, coef, b0)
        best = min(best, time.perf_counter() - start)
    return best


class HeldOutStop:
    """The path monitor of one fold (the engine's ``FitHints.monitor``).

    Parameters
    ----------
    metric, family : str
        The cross-validation's metric (a mean of per-sample losses) and family.
    greater : bool
        Whether a greater score is better (``accuracy``).
    y : ndarray of shape (n_test,) or (n_test, K)
        The held-out responses, as the engine encodes them.
    X : ndarray or sparse matrix of shape (n_test, n_features)
        The held-out rows of the design.
    weight : ndarray of shape (n_test,) or None
        Their sample weights.
    offset : ndarray of shape (n_test,) or (n_test, K), or None
        Their offset.
    start : int
        The path may not stop before this many points.
    score_cost : float or None
        Seconds of one score (:func:`score_seconds`). Where given, the number of points
        scored at once (``batch``, 1 at first) follows the strengths' cost: after each
        scoring, ``score_batch(seconds per strength since the last, score_cost)``. The
        rule is applied to each point of a batch, in order, once the last has come, and
        the path ends there; ``fired_at`` keeps the point it fired at, so that the
        points kept do not hang on the batches (nor on the timings they follow). A
        compiled driver runs ``batch`` strengths per call (``Solver.drive_watched`` in
        ``shrinkage.engine.contract``). The coefficients are held by reference until
        then (the engine does not write over a point it has passed on).
    limit : callable or None
        ``limit()``: the number of strengths the path needs at most, or None while not
        known (the full-data path's length, where folds run beside it); the path ends
        there without counting as stopped.
    """

    clock = staticmethod(time.perf_counter)

    def __init__(self, metric, family, greater, y, X, weight, offset, start=0,
                 score_cost=None, limit=None):
        self.metric, self.family = metric, family
        self.sign = -1.0 if greater else 1.0
        # rows: a product costs the rows' entries, not a pass over every column
        self.X = X.tocsr() if sp.issparse(X) else X
        self.y, self.offset = y, offset
        self.w = np.ones(y.shape[0]) if weight is None else np.asarray(weight, dtype=float)
        self.sw, sw2 = float(np.sum(self.w)), float(np.sum(self.w * self.w))
        self.n_eff = self.sw * self.sw / sw2 if sw2 > 0 else 0.0
        self.start = int(start)
        self.score_cost, self.limit = score_cost, limit
        self.batch = 1
        self._held = []
        self._since = None  # when the last scoring ended
        self.scores = []
        self.best = 0
        self.best_se = np.inf
        self.fired_at = None  # the point the rule fired at (a batch may end further on)

    def _scores(self, coefs, intercepts):
        """``(means, ses)``, arrays over the points ``coefs`` (a list of coefficient arrays)
        and ``intercepts``, scored in one product with the held-out rows."""
        if np.ndim(coefs[0]) == 1:  # (p,) each: eta of shape (n, B)
            eta = np.asarray(self.X @ np.column_stack(coefs), dtype=float)
            eta = eta + np.asarray(intercepts, dtype=float)
        else:  # (p, K) each: eta of shape (n, B, K)
            eta = np.stack([np.asarray(self.X @ c, dtype=float) + b0
                            for c, b0 in zip(coefs, intercepts)], axis=1)
        if self.offset is not None:  # (n,) or (n, K): the same for every point
            eta = eta + np.asarray(self.offset, dtype=float)[:, None]
        loss = self.sign * row_losses(self.metric, self.family, self.y, eta)
        w = self.w
        mean = w @ loss / self.sw
        se = np.full(mean.shape, np.inf)
        if self.n_eff > 1.0:
            se = np.sqrt(w @ (loss - mean) ** 2 / self.sw / (self.n_eff - 1.0))
        return mean, se

    def _score(self, coef, intercept):
        """``(mean, se)`` of one point."""
        mean, se = self._scores([coef], [intercept])
        return float(mean[0]), float(se[0])

    def __call__(self, k, coef, intercept):
        self._held.append((k, coef, intercept))
        if len(self._held) < self.batch:
            return past_limit(self.limit, k)
        n_held, start = len(self._held), self.clock()
        if self.flush():
            return True
        if self.score_cost is not None and self._since is not None:
            self.batch = score_batch((start - self._since) / n_held, self.score_cost)
        self._since = self.clock()
        return past_limit(self.limit, k)

    @property
    def fired(self):
        """Whether the rule has fired (at ``fired_at``)."""
        return self.fired_at is not None

    def flush(self):
        """Score the points held and apply the rule to each in order (also where the path
        ended before a batch was full); whether it fired."""
        if not self._held or self.fired:
            return self.fired
        ks, coefs, intercepts = zip(*self._held)
        self._held = []
        for j, mean, se in zip(ks, *self._scores(coefs, intercepts)):
            if self._judge(j, float(mean), float(se)):
                self.fired_at = j
                break
        return self.fired

    def _judge(self, k, mean, se):
        """Take point ``k``'s score; whether the path should end after it."""
        self.scores.append(mean)
        if not mean >= self.scores[self.best]:  # (a NaN never becomes the best)
            if np.isfinite(mean):
                self.best, self.best_se = k, se
        elif k == 0:
            self.best_se = se
        if k + 1 < self.start or k - self.best < PAST:
            return False
        bar = self.scores[self.best] + RISE * self.best_se
        return all(s > bar for s in self.scores[k - PAST + 1:k + 1])


def curve_has_risen(mean, se, greater):
    """Whether a cross-validated curve computed at its first ``len(mean)`` points has
    risen past its best for good: the best point at least :data:`PAST` points before the
    end and each of the last ``PAST // 2`` points above ``best + RISE * se[best]``.

    The folds' minima scatter (on quick power-law text, from the 15th to the 26th of
    100 strengths), so the first fold to stop has risen for ``PAST`` points past its own
    minimum but fewer past the mean's; asking the mean for its last ``PAST // 2`` points
    keeps that common case from refitting every fold."""
    v = -np.asarray(mean, dtype=float) if greater else np.asarray(mean, dtype=float)
    if v.size == 0 or np.isnan(v).all():
        return False
    i = int(np.nanargmin(v))
    if v.size - 1 - i < PAST or not np.isfinite(se[i]):
        return False
    return bool(np.all(v[-(PAST // 2):] > v[i] + RISE * se[i]))


def reached(row):
    """How many leading points of a fold's score row are scored (not NaN)."""
    missing = np.flatnonzero(np.isnan(row))
    return int(missing[0]) if missing.size else int(np.size(row))


def stop_note(result):
    """What the held-out stop did to a :class:`~shrinkage.results.CVResult`, in one
    sentence ("" where it cut nothing)."""
    S = (result.extra or {}).get("held_out_stop")
    if S is None:
        return ""
    S = int(S)
    return (f"The folds' paths ended once their held-out {result.metric} had stayed more "
            f"than {RISE:g} standard errors worse than its best for {PAST} strengths, and "
            f"the curve had too: it covers the first {S} of {len(result.lams)} strengths "
            f"(down to lam = {float(result.lams[S - 1]):.4g}); the full-data path covers "
            "them all.")
