"""Stability selection: how often each feature is selected on random halves of the data.

Meinshausen & Buhlmann (2010) with the complementary pairs of Shah & Samworth (2013):
for ``b = 1..B`` the rows are split at random into two disjoint halves and the path is
fitted on each, on one grid of strengths. A feature's selection probability at ``lam``
is the share of the ``2B`` half-sample paths that select it there; over a region
``Lambda`` of the grid (from ``lam_max`` down), its stability is the largest of those
probabilities, and the stable set is the features whose stability reaches the threshold
``pi``. With ``q`` the average number of features a half-sample path selects anywhere in
``Lambda``, the expected number of noise features in the stable set is at most

    E[V] <= q^2 / ((2 pi - 1) p)

(Meinshausen & Buhlmann, Theorem 1, under their exchangeability assumption; Shah &
Samworth show it holds for complementary pairs with the same assumptions). The region is
chosen to meet a target ``pfer``: ``Lambda`` runs down the grid while the average union of
selections stays at most ``q = sqrt(pfer (2 pi - 1) p)``.
"""

from __future__ import annotations

import math

import numpy as np
from joblib import delayed

from ..engine.gram import take_rows
from ..engine.path import fit_path, regularization_path
from ..tuning.cv import path_options
from ..tuning.parallel import parallel_map
from ..validation import check_design
from .design import check_response, names_of
from .result import InferenceResult, empty_columns

__all__ = ["stability_selection", "complementary_pairs"]

# the half-sample paths run down the grid until the full-data path selects this many
# times the target q (plus a margin): far enough for the region (half samples select
# fewer features than the full data at one strength), no further
_REACH = 1.25
_MARGIN = 5
# the half-sample grid: at most this many strengths down to that point (selection
# probabilities need no finer steps, and a path's cost grows with its strengths)
_MAX_STEPS = 40
# halves in the pilot run on the whole grid; the rest stop this many strengths after the
# pilot's average union of selections passes _PILOT_SLACK times q
_PILOT = 4
_PILOT_MARGIN = 2
_PILOT_SLACK = 1.0


def complementary_pairs(n, n_pairs, random_state=0, labels=None):
    """``n_pairs`` random splits of ``range(n)`` into two disjoint halves of ``n // 2``.

    With ``labels`` (class labels) each class is split evenly between the halves, so
    that both halves keep the class balance. Returns a list of ``(first, second)`` pairs
    of sorted index arrays.
    """
    rng = np.random.default_rng(random_state)
    half = n // 2
    pairs = []
    for _ in range(n_pairs):
        if labels is None:
            order = rng.permutation(n)
        else:
            # classes interleaved: alternating positions go to the two halves
            order = np.concatenate([rng.permutation(np.flatnonzero(labels == c))
                                    for c in np.unique(labels)])
            order = np.concatenate([order[0::2], order[1::2]])
        pairs.append((np.sort(order[:half]), np.sort(order[half:2 * half])))
    return pairs


def stability_selection(X, y, family="gaussian", *, n_pairs=50, threshold=0.75, pfer=1.0,
                        stratify=None, n_jobs=None, backend=None, random_state=0,
                        **path_kwargs):
    """Selection probabilities along the path, the stable set and its error bound.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n, p)
    y : array-like of shape (n,)
    family : {"gaussian", "binomial", "poisson", "multinomial"}
        Every family the engine has; a multinomial feature is selected when any class
        uses it.
    n_pairs : int, default 50
        ``B``: complementary pairs of half samples (``2B`` paths).
    threshold : float in (0.5, 1], default 0.75
        ``pi``: a feature is stable when its selection probability reaches it somewhere
        in the region.
    pfer : float, default 1.0
        Target bound on the expected number of falsely selected features; it sets the
        region (see the module notes). The bound actually achieved is
        ``details["pfer_bound"]``.
    stratify : bool, optional
        Split each class evenly between the halves; default True for binomial and
        multinomial.
    n_jobs : int, optional
        Parallel half-sample paths (threads; ``None`` uses every core).
    backend : str, optional
        A joblib backend (e.g. ``"dask"``), as in :func:`shrinkage.cross_validate`.
    random_state : int, default 0
    **path_kwargs
        Passed to :func:`shrinkage.regularization_path` (``l1_ratio``, ``lams``,
        ``n_lams``, ``penalty_factor``, ``standardize``, ...; not ``sample_weight`` or
        ``offset``).

    Returns
    -------
    InferenceResult
        ``probability`` is each feature's stability, ``selected`` the stable set,
        ``estimate`` the full-data coefficient at the region's weakest strength.
        ``details``: ``lams`` (the grid the half samples ran on), ``probabilities``
        (``(n_lams, p)``), ``region`` (number of leading strengths in the region),
        ``q`` (average union of selections over the region), ``pfer_bound``,
        ``threshold``, ``n_pairs``.

    Examples
    --------
    >>> import numpy as np
    >>> from shrinkage.inference import stability_selection
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 30)); y = X[:, 0] - X[:, 1] + rng.standard_normal(200)
    >>> res = stability_selection(X, y, n_pairs=20)
    >>> res.feature_names[res.selected].tolist()
    ['x0', 'x1']
    """
    n_pairs = _check_int(n_pairs, "n_pairs")
    threshold = float(threshold)
    if not 0.5 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0.5, 1], got {threshold}")
    pfer = float(pfer)
    if not (math.isfinite(pfer) and pfer > 0):
        raise ValueError(f"pfer must be a positive number, got {pfer}")
    for name in ("sample_weight", "offset"):
        if path_kwargs.get(name) is not None:
            raise ValueError(f"stability_selection does not split {name} between halves; "
                             "fit without it")
    if float(path_kwargs.get("l1_ratio", 1.0)) <= 0.0:
        raise ValueError("stability selection needs an L1 part (l1_ratio > 0): ridge "
                         "selects every feature")
    full = regularization_path(X, y, family, early_stop=False, **path_kwargs)
    n, p = np.shape(X)[0], full.n_features
    codes = check_response(y, n, family)  # the path accepts a constant y: lam_max ~ 0
    if n < 4:
        raise ValueError(f"stability selection needs at least 4 rows, got {n}")
    pf = path_kwargs.get("penalty_factor")
    penalized = np.ones(p, dtype=bool) if pf is None else np.asarray(pf, dtype=float) > 0
    p_pen = int(np.sum(penalized))
    q_target = math.sqrt(pfer * (2.0 * threshold - 1.0) * max(p_pen, 1))
    nnz = _selected(full.coefs).sum(axis=1)
    reach = np.flatnonzero(nnz >= _REACH * q_target + _MARGIN)
    grid = full.lams[: (int(reach[0]) + 1) if reach.size else full.n_lams]
    if grid.size > _MAX_STEPS:
        grid = grid[np.unique(np.linspace(0, grid.size - 1, _MAX_STEPS).round().astype(int))]
    labels = None
    if stratify is None:
        stratify = full.classes is not None
    if stratify:
        labels = np.unique(codes, return_inverse=True)[1]
    pairs = complementary_pairs(n, n_pairs, random_state, labels)
    kwargs = {k: v for k, v in path_kwargs.items() if k not in ("lams", "n_lams",
                                                                   "lam_min_ratio")}
    options = path_options(family, dict(kwargs, lams=grid, early_stop=False))
    Xc = check_design(X)
    y_fit = codes if full.classes is None else np.unique(codes, return_inverse=True)[1]
    y_fit = np.asarray(y_fit, dtype=float)
    halves = [half for pair in pairs for half in pair]

    sels, grid = _half_sample_selections(Xc, y_fit, halves, grid, options, penalized,
                                         q_target, n_jobs, backend)
    probs, union, region = _region(sels, penalized, q_target)
    q = float(union[region - 1])
    stab = probs[:region].max(axis=0)
    stable = (stab >= threshold) & penalized
    estimate, lower, upper, pvalue, _ = empty_columns(p)
    # the region's weakest strength on the full path (``grid`` is thinned from its lams)
    coef_end = full.coefs[int(np.argmin(np.abs(full.lams - grid[region - 1])))]
    estimate[:] = coef_end if coef_end.ndim == 1 else np.nan
    details = {"lams": grid, "probabilities": probs, "region": region, "q": q,
               "q_target": q_target, "pfer_bound": q * q / ((2 * threshold - 1) * p_pen),
               "threshold": threshold, "n_pairs": n_pairs, "average_selected": union}
    names = names_of(X, p, full.feature_names)
    return InferenceResult("stability", names, estimate, lower, upper, pvalue, stab, stable,
                           float("nan"), full.family, details)


def _half_sample_selections(Xc, y_fit, halves, grid, options, penalized, q_target, n_jobs,
                            backend):
    """Selection indicators of every half-sample path, ``(2B, L, p)``, and the grid
    ``L`` they share."""
    def one(rows, lams):
        # a half is fitted on a copy of its rows: with half of the rows weighted zero, a
        # sweep would spend half its work on rows that are not there
        path = fit_path(check_design(take_rows(Xc, rows)), y_fit[rows],
                        options.replace(lams=lams))
        sel = _selected(path.coefs)
        if sel.shape[0] < lams.size:  # cannot happen with early_stop=False; kept honest
            raise RuntimeError("a half-sample path stopped before the end of the grid")
        return sel

    size = int(np.prod(Xc.shape))
    # a pilot of a few halves on the whole grid shows where the halves' selections reach
    # q; the others stop a little past that point (the deep end costs the most). The
    # region is then read from every half on the shared part of the grid, so the bound
    # holds whatever the pilot saw.
    n_pilot = min(_PILOT, len(halves))
    sels = parallel_map((delayed(one)(rows, grid) for rows in halves[:n_pilot]), n_jobs,
                        backend, size=size)
    _, pilot_union, _ = _region(np.stack(sels), penalized, q_target)
    past = np.flatnonzero(pilot_union > _PILOT_SLACK * q_target)
    grid = grid[: int(past[0]) + 1 + _PILOT_MARGIN] if past.size else grid
    sels = [s[: grid.size] for s in sels] + parallel_map(
        (delayed(one)(rows, grid) for rows in halves[n_pilot:]), n_jobs, backend, size=size)
    return np.stack(sels), grid


def _region(sels, penalized, q_target):
    """``(probabilities, average union, region length)`` from the half-sample selections
    ``sels`` of shape ``(2B, n_lams, p)``: the region is the longest leading stretch of the
    grid whose average union of selections stays at most ``q_target`` (at least one)."""
    probs = sels.mean(axis=0)
    union = np.logical_or.accumulate(sels & penalized, axis=1).sum(axis=2).mean(axis=0)
    return probs, union, max(int(np.sum(union <= q_target)), 1)


def _selected(coefs):
    """Selection indicators ``(n_lams, p)`` from path coefficients (any class for
    multinomial)."""
    sel = coefs != 0
    return sel.any(axis=2) if sel.ndim == 3 else sel


def _check_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
