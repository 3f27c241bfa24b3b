"""Many strengths per pass: the moving window of the blocked proximal Newton path.

Solving the path one strength after the other costs a pass per Newton step, about two
per ``lam``. Here the ``WINDOW`` strengths after the last certified one are solved
together: one pass evaluates the next trial point of each (``m`` points cost ``X B^T``
and ``X^T R``, ``n x m`` products) and, at up to ``ANCHORS`` of them (the anchors, the
first of the window among them), the ``O(n p^2)`` curvature sums. Every strength ``l``
of the window, at its iterate ``x_l`` (with the exact gradient there and the curvature
of the anchor it was evaluated with), in each round:

1. computes the certificate ``kkt_l`` (the largest standardized KKT violation from the
   exact gradient at ``x_l``); at or below ``tol`` the strength is done;
2. otherwise minimises the quadratic model (exact gradient at ``x_l``, the anchor's
   curvature) plus the penalty locally, giving the step ``d_l``; the next pass evaluates
   ``x_l + t d_l`` (``t = 1`` first);
3. keeps the step if the pass confirms the Armijo test ``F(t) - F(0) <= 1e-4 t
   min(decrease, 0)`` (Lee, Sun & Saunders 2014; ``F(t) - F(0)`` summed from accurate
   per-row loss changes, or within the rounding of its own terms); otherwise ``t`` is
   halved and tried in the next pass.

A strength entering the window starts at the latest iterate of the strength before it
(the nearest warm start), so the window's strengths advance together. An anchor's own
step is a true Newton step; the points after it take a quasi-Newton step with its
curvature, which converges linearly at a rate that shrinks with their distance (a few
strengths). A fit whose curvature is *lagged* (``fit.lagged_curvature``: the Cox
partial likelihood's, computed with the risk-set weights of the point a trial stepped
from) has no exact curvature at a trial point, even an anchor's.

Far from a solution such a model can mislead: on a Cox path with ``p ~ n`` the lagged
curvature was indefinite, and the steps it gave were thousands of units long or, once
accepted, took a hundred Newton steps without closing the certificate. So a strength
whose model has misled it (its full step rejected, or no descent found) or that has taken
``REFRESH_AFTER`` steps re-evaluates its own iterate as an anchor first (a *refresh*:
a zero step, with that point as its own base, so the curvature is the exact one there)
and steps from that model; a strength stepping from an exact model halves as above.
The certificate is never assumed: a strength is reported converged only when the KKT
violation from the exact gradient at its returned point is below ``tol``.
"""

from __future__ import annotations

import numpy as np

from ..engine.newton import ProximalNewton

__all__ = ["Strength", "window_solve", "anchors", "WINDOW", "ANCHORS", "ANCHOR_ENTRIES",
           "MAX_HALVINGS", "REFRESH_AFTER"]

#: Strengths solved together, each evaluated once per pass.
WINDOW = 16
#: Points of a pass that get the curvature at their own point (the rest share theirs)...
ANCHORS = 4
#: ... while their ``ANCHORS p^2`` curvature sums stay within this many entries per fit
#: (2 MB: ``p <= 256``); fewer past it, at least one, so that a pass's partial sums stay
#: ``O(p^2)`` as before (the ``O(n p^2)`` products are the costly part of a pass).
ANCHOR_ENTRIES = 4 * 256 * 256
#: A step is halved at most this many times (``t >= 2^-MAX_HALVINGS``).
MAX_HALVINGS = 30
#: Newton steps after which a strength steps only from the exact curvature at its iterate.
REFRESH_AFTER = 8
_EPS = float(np.finfo(float).eps)


class Strength:
    """One ``lam`` of the window: index ``k``, its iterate ``(b0, b)`` and the pass's
    stats ``s`` there, the pending step ``(d0, d)`` with length ``t``, the Newton steps
    and inner sweeps spent, and the last certificate. ``exact`` says whether ``s`` holds
    the curvature computed at the iterate itself; ``refresh`` marks a pending zero step
    that re-evaluates the iterate as an anchor (module docstring)."""

    def __init__(self, k, lam, b, b0, s):
        self.k, self.lam = k, float(lam)
        self.b, self.b0, self.s = b, b0, s
        self.fresh = True  # stats at the iterate not yet used for a step
        self.ready = False  # a trial point waits for its pass
        self.d = self.d0 = self.dec = None
        self.t = 1.0
        self.steps = self.sweeps = 0
        self.cert = np.inf
        self.done = False
        self.exact = self.refresh = self.misled = False

    def plan(self, fit, cand):
        """Certify or make the next trial point; True when the strength is done."""
        st = fit.st
        if self.ready:
            return False
        self.ready = True
        if self.fresh:
            self.cert = fit.kkt(self.s, self.b, self.lam, cand)
            if (self.cert <= st.tol or self.steps >= ProximalNewton.max_newton
                    or self.sweeps >= st.max_iter):
                return True
            if not self.exact and (self.misled or self.steps >= REFRESH_AFTER
                                   or not self.s.get("trusted", True)):
                return self._ask_refresh()
            bn, b0n, k = fit.solve_model(self.s, self.b, self.b0, self.lam, cand, self.cert)
            self.sweeps += k
            self.d, self.d0 = bn - self.b, b0n - self.b0
            if not np.any(self.d) and self.d0 == 0.0:
                if not self.exact:  # the model may be wrong, not the point optimal
                    return self._ask_refresh()
                return True  # the model sees no descent: reported as it stands
            self.dec = fit.decrease(self.s, self.b, self.d, self.d0, self.lam)
            self.t = 1.0
            self.fresh = False
            return False
        if self.t == 1.0 and not self.exact:
            return self._ask_refresh()  # the full step failed: the model misled
        self.t *= 0.5
        return self.t < 0.5 ** MAX_HALVINGS  # no descent along the step: unconverged

    def _ask_refresh(self):
        self.refresh, self.fresh = True, False
        self.d, self.d0, self.t = np.zeros_like(self.b), 0.0, 1.0
        return False

    def trial(self):
        """``(b, b0, t d, t d0)``: the trial point as a step from the iterate."""
        return self.b, self.b0, self.t * self.d, self.t * self.d0

    def update(self, fit, s, exact):
        """Keep the trial point if the pass's loss change passes the Armijo test;
        ``exact``: the pass computed the trial's curvature at the trial itself."""
        self.ready = False
        if self.refresh:  # the iterate again: keep its stats if they are now exact
            self.refresh = False
            self.fresh = True
            if exact:
                self.s, self.exact, self.misled = s, True, False
            return
        p0 = fit.penalty(self.b, self.lam)
        bt = self.b + self.t * self.d
        pt = fit.penalty(bt, self.lam)
        change = float(s["dloss"]) + pt - p0
        noise = 4.0 * _EPS * (float(s["dmag"]) + abs(pt) + abs(p0))
        # a trial whose loss overflowed (change inf or NaN) is never kept, whatever the
        # noise level its magnitudes (inf too) would allow
        if np.isfinite(change) and (change <= 1e-4 * self.t * min(self.dec, 0.0)
                                    or abs(change) <= noise):
            self.b, self.b0, self.s = bt, self.b0 + self.t * self.d0, s
            self.steps += 1
            self.fresh = True
            self.exact = exact
        elif self.t == 1.0 and not self.exact:
            self.misled = True


def anchors(m, p, forced=()):
    """The anchor of each of ``m`` window points (``p`` features): the ``a`` points at
    positions ``0, s, 2 s, ...`` (``s = ceil(m / a)``, ``a = min(ANCHORS, m,
    ANCHOR_ENTRIES // p^2)``, at least 1) serve themselves and the points after them.
    The positions ``forced`` (refreshes, in order) take the first of the ``a`` anchors;
    each other point is served by the nearest anchor before it (the first after it if
    none)."""
    a = max(1, min(ANCHORS, m, ANCHOR_ENTRIES // (p * p)))
    s = -(-m // a)
    if not len(forced):
        return np.arange(m) // s * s
    chosen = list(dict.fromkeys(int(f) for f in forced))[:a]
    for q in range(0, m, s):
        if len(chosen) >= a:
            break
        if q not in chosen:
            chosen.append(q)
    chosen = np.sort(np.array(chosen, dtype=np.int64))
    at = np.searchsorted(chosen, np.arange(m), side="right") - 1
    return chosen[np.maximum(at, 0)]


def window_solve(fit, grid, cand, start, record, width=WINDOW):
    """Solve ``fit`` at every strength of ``grid`` over the features ``cand`` (a
    generator yielding ``fit.evaluate`` passes), starting from ``start = (b, b0,
    stats)``; each finished ``Strength`` goes to ``record`` in the order of ``grid``,
    and a true return from ``record`` ends the path there; at most ``width`` strengths
    share a pass."""
    window, finished = [], {}
    nxt = reported = 0
    tip = start
    while True:
        moved = True
        while moved:
            while nxt < grid.size and len(window) < width:
                window.append(Strength(nxt, grid[nxt], *tip))
                nxt += 1
            moved = False
            for e in window:
                if e.plan(fit, cand):
                    e.done = moved = True
                    finished[e.k] = e
            window = [e for e in window if not e.done]
            while reported in finished:
                if record(finished.pop(reported)):
                    return
                reported += 1
        if not window:
            return
        forced = [q for q, e in enumerate(window) if e.refresh]
        which = anchors(len(window), cand.size, forced)
        stats = yield from fit.evaluate([e.trial() for e in window], which)
        lagged = getattr(fit, "lagged_curvature", False)
        for q, (e, s) in enumerate(zip(window, stats)):
            e.update(fit, s, which[q] == q and (e.refresh or not lagged))
        last = window[-1]
        tip = (last.b, last.b0, last.s)
