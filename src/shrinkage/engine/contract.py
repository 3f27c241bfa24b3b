"""The solver contract: what the path driver asks of a solver, and how one is chosen.

The path driver (:mod:`shrinkage.engine.path`) knows nothing about any family, penalty or
solver by name. It builds a :class:`~shrinkage.engine.problem.Problem` (a family object, a
penalty lowered to arrays, the data) and asks :func:`choose_solver` for the first solver
of :data:`shrinkage.engine.registry.SOLVERS` whose :meth:`Solver.accepts` takes the
family's and the penalty's declared attributes (``family.quadratic``,
``family.response``, ``family.kernel_code``, ``penalty.block``, ...). Then, for any
solver:

1. ``solver = Cls(prob, setup)``, at the null model (:class:`SolverSetup`);
2. ``solver.fit_unpenalized()`` when some features carry no penalty, then
   ``solver.rebase_reference()`` (certificates relative to that start);
3. ``solver.feature_gradient()``: the gradient magnitude per feature, from which the
   penalty's dual norm gives ``lam_max``;
4. ``solver.run_path(grid, lam_prev, null_dev, early_stop, out)``: the whole grid, warm
   started, each point with its certificate (:meth:`Solver.run_path` walks the grid with
   :meth:`Solver.solve`; a solver may replace the whole loop by a compiled one).

Adding a penalty on groups of coefficients means: a penalty class declaring
``block = "group"`` with its arrays, dual norm and KKT distance (``shrinkage.model``); its
proximal step and certificate kernels (``engine/kernels``); and a solver, or an existing
one extended, whose ``accepts`` takes ``block == "group"`` -- listed in the registry.
A family whose loss couples observations (Cox) is likewise a family class with its
declared attributes plus a solver that accepts them. No existing family, penalty or
solver changes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .problem import movable_penalised, start_gradient_reference, start_objective_reference
from .stopping import MONITOR, RULES, SEPARATED, path_stop_code

__all__ = ["FitHints", "Solver", "SolverSetup", "choose_solver"]


@dataclass(frozen=True)
class FitHints:
    """What a caller fitting one design many times (cross-validation) may tell the engine.

    Attributes
    ----------
    solver : str
        ``"auto"``, or the ``name`` of a solver to use (tests and benchmarks).
    shared_gram : SharedGram or None
        Where ``X^T X`` and full-data moments of a dense design are cached across fits.
    held_out : tuple or None
        ``(rows, X[rows])``: the held-out rows of a cross-validation fold, already
        gathered, whose weights are zero in this fit.
    tie_projection : callable or None
        Returns the tie search's projection ``(X^T U, sum U)`` over this fit's rows with
        weight (:meth:`shrinkage.engine.ties.SharedProjections.live`, bound to the fold).
    monitor : callable or None
        ``monitor(k, coef, intercept) -> bool``, called after each path point ``k`` but
        the last with its coefficients and intercept on the original scale; true ends
        the path there (code :data:`~shrinkage.engine.stopping.MONITOR`). Heeded by every
        solver: those that walk the grid in Python ask it in :meth:`Solver.run_path`, and
        the compiled gaussian drivers are then run a strength at a time, or ``batch``
        strengths where the monitor has that attribute: a monitor that judges its
        points in batches (:meth:`Solver.drive_watched`). Cross-validation stops a fold's path
        by it once the held-out loss has risen well past its best
        (:mod:`shrinkage.tuning.held_out_stop`).
    on_grid : callable or None
        ``on_grid(grid)``, called with the path's strength grid (on y's own scale) once it
        is known, before the first strength is fitted. Cross-validation starts the folds'
        paths on it while the full-data path runs.
    rays_decided : bool
        The caller has already decided that the unpenalised features admit no ray of
        descent (the relaxed lasso's refits: :mod:`shrinkage.tuning.relaxed`), so the
        path does not test them again (:func:`~shrinkage.engine.free.warn_separating_free`).
    """

    solver: str = "auto"
    shared_gram: object = None
    held_out: tuple | None = None
    tie_projection: object = None
    monitor: object = None
    on_grid: object = None
    rays_decided: bool = False


@dataclass(frozen=True)
class SolverSetup:
    """The starting point a solver is built at.

    ``eta`` and ``b0`` are the null model's linear predictor and intercept, ``n_lams`` the
    length of the path to come, ``g0`` a starting gradient the driver already has and
    ``held_block`` the gathered held-out rows (a fold fitted from shared sums), ``hints``
    the caller's :class:`FitHints`.
    """

    eta: np.ndarray
    b0: object
    n_lams: int
    g0: np.ndarray | None = None
    hints: FitHints = FitHints()
    held_block: np.ndarray | None = None


class Solver:
    """Base class of the solvers: the contract with the path driver.

    Subclasses set ``name`` and ``certificate_kind`` and implement :meth:`accepts`,
    ``__init__(prob, setup)``, :meth:`feature_gradient`, :meth:`fit_unpenalized`,
    :meth:`solve` (or override :meth:`run_path`), :meth:`intercept` and
    :meth:`deviance`; the coefficients live in ``self.b`` (shape (p,) or (p, K)).
    """

    name = "solver"
    certificate_kind = "kkt_violation"
    # whether the solver can certify the curvature-weighted KKT violation (a family's
    # weighted_tol then applies where the caller gives no tolerance: Problem.weighted)
    weighted_certificate = False
    separated_class = None
    null_dev = 0.0  # set by run_path
    stop_rules = RULES  # (min_lams, dev_max, dev_change) of early_stop_code
    monitor = None  # FitHints.monitor, set by the path driver

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        """Whether this solver can minimise ``family`` + ``penalty`` on ``prob``."""
        return False

    def feature_gradient(self):
        """Gradient magnitude per feature at the current point (group norm for blocks)."""
        raise NotImplementedError

    def fit_unpenalized(self):
        """Fit the features without penalty (the rest stay at zero): the path's start."""
        raise NotImplementedError

    def rebase_reference(self):
        """After :meth:`fit_unpenalized`: measure the certificates against that fit, the
        path's start, instead of the intercept-only model they were set up with.

        A large unpenalised effect (``y = 1e4 x_0 + signal`` with ``x_0`` unpenalised)
        makes the null model's objective and gradients huge next to what the penalised
        features explain, and a certificate relative to them passed with penalised
        coefficients several percent off. A duality gap is then relative to the
        objective at the start (``deviance() / 2``), a KKT violation to the largest
        gradient per unit of column spread there (as ``lam_max`` is read);
        either is kept above the null model's rounding
        (:func:`~shrinkage.engine.problem.start_objective_reference`, ``start_gradient_reference``).
        """
        prob = self.prob
        if self.certificate_kind == "duality_gap":
            self.obj_scale = start_objective_reference(self.obj_scale, 0.5 * self.deviance())
        else:
            self.grad_scale = start_gradient_reference(
                self.grad_scale, self.feature_gradient(), prob.cert_scale,
                movable_penalised(prob.candidates, prob.unpenalized, prob.lo, prob.hi))

    def solve(self, lam, lam_prev):
        """Solve at ``lam`` warm-started from the solution at ``lam_prev``.

        Returns ``(certificate, sweeps)``.
        """
        raise NotImplementedError

    def intercept(self):
        """The unpenalised intercept ``b0`` at the current point, on the original scale
        (a float, or shape (K,) for the multinomial family; 0.0 without an intercept)."""
        raise NotImplementedError

    def deviance(self):
        """The weighted deviance at the current point (weights normalised to sum to 1),
        on the scale of the null deviance the path's ``dev_ratio = 1 - deviance /
        null_dev`` divides by: ``sum_i w_i r_i^2`` for the gaussian solvers, the family's
        ``deviance(y, eta, w)`` for the others."""
        raise NotImplementedError

    def diagnostics(self):
        """``(extra, warning)``: entries for ``Path.extra`` and a sentence to warn with (or
        None). The default: nothing."""
        return {}, None

    def cap_note(self):
        """A clause naming a limit of the solver's own, other than ``max_iter`` sweeps,
        at which strengths stopped unconverged (say, a cap on Newton steps), for the
        path's convergence warning; "" (the default) when there is none."""
        return ""

    def separated(self):
        """The index of a class fitted perfectly (separated), or None (the default)."""
        return None

    def run_path(self, grid, lam_prev, null_dev, early_stop, out):
        """Fill ``out = (coefs, intercepts, dev_ratio, cert, n_iter)`` along ``grid``.

        Returns ``(n_done, stop_code)`` with the codes of
        :func:`~shrinkage.engine.stopping.early_stop_code`,
        :data:`~shrinkage.engine.stopping.SEPARATED` with ``self.separated_class``, or
        :data:`~shrinkage.engine.stopping.MONITOR` where ``self.monitor`` (the fit's
        :attr:`FitHints.monitor`) ended the path.
        """
        coefs, intercepts, dev_ratio, cert, n_iter = out
        L = grid.size
        monitor = self.monitor
        self.null_dev = null_dev  # (a solver may read the deviance explained mid-strength)
        for k, lam in enumerate(grid):
            cert[k], n_iter[k] = self.solve(float(lam), float(lam_prev))
            coefs[k] = self.b
            intercepts[k] = self.intercept()
            dev_ratio[k] = 1.0 - self.deviance() / null_dev if null_dev > 0 else 0.0
            lam_prev = lam
            if monitor is not None and k + 1 < L and monitor(k, coefs[k], intercepts[k]):
                return k + 1, MONITOR
            if early_stop:
                prob = self.prob
                code = path_stop_code(dev_ratio, k, L, self.stop_rules, self.b, prob.lo,
                                      prob.hi, prob.l1u, prob.l2u, prob.family.flat_relative)
                if code:
                    return k + 1, code
                self.separated_class = self.separated()
                if self.separated_class is not None and k + 1 < L:
                    return k + 1, SEPARATED
        return L, 0


    def drive_watched(self, grid, out, drive):
        """Run a compiled path driver under ``self.monitor``.

        ``drive(k0, k1) -> (n_done, stop_code)`` fills the points ``k0 .. k1 - 1`` of
        ``out`` (the tuple of :meth:`run_path`), warm-started from point ``k0 - 1``.
        Without a monitor it is called once over the whole grid. With one it is called
        for ``monitor.batch`` strengths at a time (1 where the monitor has no such
        attribute), and the monitor is asked about each: a driver runs without the GIL
        and cannot ask Python between strengths, and a call costs microseconds against
        the milliseconds of the strengths worth watching
        (:func:`shrinkage.tuning.held_out_stop.worth_watching`). Returns ``(n_done,
        stop_code)``, the code :data:`~.stopping.MONITOR` where the monitor ended the
        path.
        """
        L = grid.size
        monitor = self.monitor
        if monitor is None:
            return drive(0, L)
        k = 0
        while k < L:
            k0 = k
            step = max(1, int(getattr(monitor, "batch", 1)))  # (a monitor may adapt it)
            k, code = drive(k0, min(k0 + step, L))
            if code:
                return k, code
            for j in range(k0, min(k, L - 1)):  # (not asked about the last point)
                if monitor(j, out[0][j], out[1][j]):
                    return j + 1, MONITOR
        return L, 0


class ScaledHints:
    """The :class:`FitHints` hooks of a path fitted to ``y / scale``, shown the
    coefficients, intercepts and grid times ``scale``: ``monitor`` (its ``batch`` read
    through) and ``on_grid``."""

    def __init__(self, hints, scale):
        self.hints, self.scale = hints, scale

    def __call__(self, k, coef, b0):  # the scaled monitor
        return self.hints.monitor(k, coef * self.scale, b0 * self.scale)

    @property
    def batch(self):
        return getattr(self.hints.monitor, "batch", 1)

    def on_grid(self, grid):
        self.hints.on_grid(grid * self.scale)

    def scaled(self):
        """The hints to fit ``y / scale`` with."""
        h = self.hints
        return dataclasses.replace(
            h, monitor=None if h.monitor is None else self,
            on_grid=None if h.on_grid is None else self.on_grid)


def choose_solver(solvers, family, penalty, prob, setup):
    """The first class of ``solvers`` that accepts the problem (or the one named in
    ``setup.hints.solver``); a clear error when none does."""
    wanted = setup.hints.solver
    for cls in solvers:
        if wanted not in ("auto", cls.name):
            continue
        if cls.accepts(family, penalty, prob, setup):
            return cls
    what = f"solver {wanted!r}" if wanted != "auto" else "no solver"
    raise ValueError(
        f"{what} accepts the {family.name} family with a {type(penalty).__name__} penalty "
        f"acting on {penalty.block}s"
    )
