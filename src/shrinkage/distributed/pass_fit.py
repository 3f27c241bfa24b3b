"""The pass protocol shared by the blocked path fits.

A blocked fit is a generator: it yields the evaluation it needs from the next pass over
the blocks, and the driver (``run_fits``) sends it the pass's sums. Several fits (the
folds of a cross-validation) wait on the same pass, so none of them reads the data
itself. ``PassFit`` holds the bookkeeping every such fit shares: the pending
``request``, the pass count, and the :class:`~shrinkage.results.Path` once done.
"""

from __future__ import annotations

from ..engine.grid import strength_grid
from ..model.penalties import PenaltyArrays

__all__ = ["PassFit"]


class PassFit:
    """Base of the blocked path fits (gaussian-free Newton, multinomial, Cox).

    Subclasses set their state, then call :meth:`start`; they implement ``_run`` (the
    generator of pass requests, returning the path) and may override :meth:`_wrap`,
    which turns what ``_run`` yields into the ``request`` the block function receives
    (by default ``(fold, W, *points)``: the fold whose training rows are summed, the
    fold weights and the points to evaluate).
    """

    def start(self):
        """Run the fit up to its first pass request."""
        self.result = None
        self.passes = 0
        # work done, reported in ``result.extra``: points evaluated, curvature sums taken
        self.points = self.curvatures = 0
        self._gen = self._run()
        self.request = self._wrap(next(self._gen))

    def _run(self):
        raise NotImplementedError

    def path_grid(self, gradient, mask, ends):
        """``(lam_max, grid, early_stop)`` of the path from the gradient magnitudes at the
        null model (features in ``mask`` penalised candidates); ``ends``: the ridge
        grid's ``(first, last)`` strengths, or None."""
        st, options = self.st, self.options
        lam_max = st.penalty.lam_max(gradient, PenaltyArrays(st.l1u, st.l2u, st.lo, st.hi),
                                     mask, st.scale)
        lam_max = lam_max if ends is None else ends[0]
        grid, user_grid = strength_grid(options, lam_max, self.n, st.scale.size, st.n_lams,
                                        ends)
        early_stop = (not user_grid) if options.early_stop is None else options.early_stop
        return lam_max, grid, early_stop

    def _wrap(self, points):
        return (self.fold, self.mom.W, *points)

    def send(self, stats):
        """Resume with the sums of the requested pass."""
        self.passes += 1
        try:
            self.request = self._wrap(self._gen.send(stats))
        except StopIteration as stop:
            self.result = stop.value
            self.result.extra["passes"] = self.passes
