"""Rules that choose one setting on a strength axis from validation scores.

These are small pure functions over plain arrays. They serve every strength knob in the
library -- the penalty ``lam``, weight decay, dropout rate, input-noise level, number of
training epochs -- because the caller states which direction is *stronger*:

* ``stronger="larger"``: a larger value regularizes more (``lam``, weight decay, dropout).
* ``stronger="smaller"``: a smaller value regularizes more (epochs, ``C``, prior variance).

Scores are errors (lower is better) unless ``greater_is_better=True``. Each rule returns
the *index* of the chosen setting, so it can be applied to any parallel array.

The central rule is :func:`strongest_within`, the one-standard-error rule of Breiman et
al. (1984) and glmnet's ``lambda.1se`` generalised to any axis and any multiple ``k``::

    best   = argmin_i mean_i
    chosen = the strongest i with mean_i <= mean_best + k * se_best

By construction the chosen setting is never weaker than ``best``: ``best`` itself is a
candidate, and the rule takes the strongest candidate.

**The rule grammar.** Everywhere a rule is named (``cross_validate(rule=...)``, the
estimators, the relaxed lasso, the report, ``shrinkage fit --rule``) it is one of
``"min"``, ``"<k>se"`` (``"1se"``, ``"1.5se"``: the strongest within ``k`` standard
errors), ``"<r>%"`` (the strongest within ``r`` percent of the best) or a bare number
``k`` meaning ``"<k>se"``. :func:`parse_rule` reads it, :func:`apply_rule` applies it
along one strength axis, :func:`describe_rule` says it in words.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Rule", "apply_rule", "best", "describe_rule", "parse_rule", "sparsest_within_grid",
    "strongest_within", "strongest_within_tolerance",
]

_DIRECTIONS = ("larger", "smaller")


def _as_vector(name, values, n=None):
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: there is nothing to choose from")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} entries but strengths has {n}")
    return arr


def _prepare(strengths, mean, stronger, greater_is_better):
    if stronger not in _DIRECTIONS:
        raise ValueError(f"stronger must be 'larger' or 'smaller', got {stronger!r}")
    s = _as_vector("strengths", strengths)
    if not np.all(np.isfinite(s)):
        raise ValueError("strengths contains NaN or inf")
    if np.unique(s).size != s.size:
        raise ValueError("strengths must be distinct: two settings share one strength")
    m = _as_vector("mean", mean, s.size)
    if np.any(np.isinf(m)):
        raise ValueError("mean contains inf; use NaN for a setting that failed")
    if np.all(np.isnan(m)):
        raise ValueError("every mean score is NaN: no setting was evaluated")
    # Internally lower is better.
    loss = -m if greater_is_better else m
    # Strength key: larger key = stronger.
    key = s if stronger == "larger" else -s
    return s, loss, key


# Means equal up to this many units in the last place are ties: a fold-weighted mean of
# the same counts (accuracy, misclassification) rounds differently at different strengths
_TIE_ULPS = 16.0


def _best_index(loss, key):
    valid = ~np.isnan(loss)
    lo = np.min(loss[valid])
    slack = _TIE_ULPS * np.finfo(float).eps * abs(lo)
    ties = np.flatnonzero(valid & (loss <= lo + slack))
    # Among ties prefer the strongest: it fits no worse and is simpler.
    return int(ties[np.argmax(key[ties])])


def best(strengths, mean, *, stronger="larger", greater_is_better=False):
    """Index of the setting with the best mean score (ties, equal to within 16 units in the
    last place, go to the stronger setting).

    Parameters
    ----------
    strengths : array of shape (m,)
        The settings on the strength axis (distinct values, any order).
    mean : array of shape (m,)
        Mean validation score per setting; NaN marks a setting that was not evaluated.
    stronger : {"larger", "smaller"}
        Which direction of ``strengths`` regularizes more.
    greater_is_better : bool
        True for scores such as accuracy or AUC; False for errors and losses.

    Returns
    -------
    int
        Index into ``strengths``.
    """
    _, loss, key = _prepare(strengths, mean, stronger, greater_is_better)
    return _best_index(loss, key)


def strongest_within(strengths, mean, se, *, k=1.0, stronger="larger", greater_is_better=False):
    """Index of the strongest setting whose mean is within ``k`` standard errors of the best.

    With ``i*`` the best index (:func:`best`), the candidates are all ``i`` with
    ``mean_i <= mean_{i*} + k * se_{i*}`` (for errors), and the rule returns the strongest
    candidate. For ``k = 1`` and ``stronger="larger"`` this is glmnet's ``lambda.1se``.

    Parameters
    ----------
    strengths, mean : array of shape (m,)
        As in :func:`best`.
    se : array of shape (m,)
        Standard error of each mean (non-negative; NaN only where ``mean`` is NaN).
    k : float, default 1.0
        How many standard errors of slack to allow (``k >= 0``; ``k = 0`` gives ``best``).
    stronger : {"larger", "smaller"}
    greater_is_better : bool

    Returns
    -------
    int
        Index into ``strengths``; never a weaker setting than :func:`best` returns.
    """
    _, loss, key = _prepare(strengths, mean, stronger, greater_is_better)
    se = _as_vector("se", se, loss.size)
    k = float(k)
    if not np.isfinite(k) or k < 0:
        raise ValueError(f"k must be a finite number >= 0, got {k}")
    valid = ~np.isnan(loss)
    if np.any(np.isnan(se[valid])) or np.any(se[valid] < 0) or np.any(np.isinf(se[valid])):
        raise ValueError("se must be finite and >= 0 wherever mean is defined")
    i_best = _best_index(loss, key)
    threshold = loss[i_best] + k * se[i_best]
    candidates = np.flatnonzero(valid & (loss <= threshold))
    return int(candidates[np.argmax(key[candidates])])


def strongest_within_tolerance(
    strengths, mean, *, rel=0.01, stronger="larger", greater_is_better=False
):
    """Index of the strongest setting whose mean is within a relative tolerance of the best.

    Candidates satisfy ``mean_i <= mean_best + rel * |mean_best|`` (for errors; mirrored
    for scores where greater is better). Useful when standard errors are unavailable or
    unreliable (a single validation split).

    Parameters
    ----------
    strengths, mean : array of shape (m,)
        As in :func:`best`.
    rel : float, default 0.01
        Relative slack, ``rel >= 0``.

    Returns
    -------
    int
        Index into ``strengths``; never weaker than :func:`best`.
    """
    _, loss, key = _prepare(strengths, mean, stronger, greater_is_better)
    rel = float(rel)
    if not np.isfinite(rel) or rel < 0:
        raise ValueError(f"rel must be a finite number >= 0, got {rel}")
    valid = ~np.isnan(loss)
    i_best = _best_index(loss, key)
    threshold = loss[i_best] + rel * abs(loss[i_best])
    candidates = np.flatnonzero(valid & (loss <= threshold))
    return int(candidates[np.argmax(key[candidates])])


def sparsest_within_grid(
    strengths, mean, nnz, *, se=None, k=0.0, rel=0.0, greater_is_better=False
):
    """Cell of a two-dimensional grid (e.g. ``l1_ratio`` x ``lam``) chosen by sparsity.

    Strength is not comparable across rows (a ``lam`` means something else for each
    ``l1_ratio``), so the grid is ordered by the number of non-zeros instead. With
    ``(i*, j*)`` the best cell (lowest loss; ties to fewer non-zeros, then larger
    strength), the candidates are the cells with::

        loss_ij <= loss_best + k * se_best + rel * |loss_best|

    and the chosen cell is the candidate with the fewest non-zeros. Ties: within a row the
    larger strength wins (at equal sparsity, more shrinkage, as the 1-SE rule prefers);
    between rows the lower loss wins, then the later row (for ``l1_ratio`` rows in
    increasing order, the more lasso-like one). ``k = rel = 0`` gives the best cell.
    The chosen cell never has more non-zeros than the best one.

    Parameters
    ----------
    strengths, mean, nnz : array of shape (m, L)
        Strength, mean validation score and non-zero count of each cell; NaN marks a cell
        that does not exist or was not evaluated (rows may have different lengths).
    se : array of shape (m, L), optional
        Standard errors; needed when ``k > 0``.
    k, rel : float
        Slack in standard errors of the best cell and relative to its score (``>= 0``).
    greater_is_better : bool

    Returns
    -------
    tuple of int
        ``(i, j)``.
    """
    s = np.asarray(strengths, dtype=float)
    m = np.asarray(mean, dtype=float)
    z = np.asarray(nnz, dtype=float)
    if s.ndim != 2 or m.shape != s.shape or z.shape != s.shape:
        raise ValueError(
            f"strengths, mean and nnz must be 2-D of one shape, got {s.shape}, {m.shape}, "
            f"{z.shape}"
        )
    k, rel = float(k), float(rel)
    if not (np.isfinite(k) and k >= 0 and np.isfinite(rel) and rel >= 0):
        raise ValueError(f"k and rel must be finite numbers >= 0, got {k} and {rel}")
    loss = -m if greater_is_better else m
    valid = ~np.isnan(loss) & ~np.isnan(s) & ~np.isnan(z)
    if not np.any(valid):
        raise ValueError("every cell of the grid is NaN: no setting was evaluated")
    if np.any(np.isinf(loss[valid])):
        raise ValueError("mean contains inf; use NaN for a setting that failed")
    rows, cols = np.nonzero(valid)
    lv, zv, sv = loss[valid], z[valid], s[valid]
    # lexsort: last key is primary.
    b = np.lexsort((-rows, -sv, zv, lv))[0]
    slack = rel * abs(lv[b])
    if k > 0:
        if se is None:
            raise ValueError("se is required when k > 0")
        sev = np.asarray(se, dtype=float)
        if sev.shape != s.shape:
            raise ValueError(f"se must have shape {s.shape}, got {sev.shape}")
        se_best = sev[rows[b], cols[b]]
        if not np.isfinite(se_best) or se_best < 0:
            raise ValueError("se of the best cell must be finite and >= 0")
        slack += k * se_best
    cand = np.flatnonzero(lv <= lv[b] + slack)
    cand = cand[zv[cand] == np.min(zv[cand])]
    # Within a row, the strongest of the sparsest candidates (the 1-SE spirit: at equal
    # sparsity, more shrinkage); across rows strengths are not comparable, so the lower
    # loss decides, then the later row.
    picks = [c[np.argmax(sv[c])] for c in (cand[rows[cand] == r] for r in np.unique(rows[cand]))]
    picks = np.array(picks)
    c = picks[np.lexsort((-rows[picks], lv[picks]))[0]]
    return int(rows[c]), int(cols[c])


# ----------------------------------------------------------------------- the grammar
@dataclass(frozen=True)
class Rule:
    """A parsed rule: ``kind`` is ``"se"`` (within ``value`` standard errors; 0 is the
    minimum) or ``"tolerance"`` (within the relative ``value`` of the best)."""

    kind: str
    value: float

    @property
    def text(self):
        """The canonical spelling: ``"min"``, ``"1se"``, ``"1.5se"`` or ``"2%"``."""
        if self.kind == "se":
            return "min" if self.value == 0 else f"{_exact(self.value)}se"
        return f"{_exact(100 * self.value)}%"

    def grid_slack(self):
        """``(k, rel)`` for :func:`sparsest_within_grid`."""
        return (self.value, 0.0) if self.kind == "se" else (0.0, self.value)


_NUMBER = r"((?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)"


def _exact(value):
    """``value`` in its shortest spelling that reads back as the same float (``1``,
    ``1.5``, ``1e-05``, ``1.23456789``), so that a rule's text applies the same rule."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def parse_rule(rule):
    """Read a rule (see the module docstring) into a :class:`Rule`.

    Raises ``ValueError`` naming the accepted forms for anything else (``TypeError`` for
    a value that is neither a string nor a number).
    """
    if isinstance(rule, Rule):
        return rule
    if isinstance(rule, numbers.Real) and not isinstance(rule, bool):
        if np.isfinite(rule) and rule >= 0:
            return Rule("se", float(rule))
        text = repr(rule)
    elif isinstance(rule, str):
        text = rule.strip().lower()
    else:
        raise TypeError(f"rule must be a string such as 'min', '1se' or '1%', got {rule!r}")
    if text == "min":
        return Rule("se", 0.0)
    for pattern, kind, unit in ((_NUMBER + r"\s*se", "se", 1.0), (_NUMBER, "se", 1.0),
                                (_NUMBER + r"\s*%", "tolerance", 0.01)):
        m = re.fullmatch(pattern, text)
        if m:
            value = float(m.group(1)) * unit
            if not np.isfinite(value):
                break
            return Rule(kind, value)
    raise ValueError(
        f"rule {rule!r} not understood; use 'min', '<k>se' (e.g. '1se'), a number k of "
        "standard errors, or '<r>%' (e.g. '1%')"
    )


def apply_rule(rule, strengths, mean, se, *, stronger="larger", greater_is_better=False):
    """Index chosen by ``rule`` on one strength axis (NaN means mark settings not reached)."""
    r = parse_rule(rule)
    if r.kind == "se":
        return strongest_within(strengths, mean, np.where(np.isnan(mean), np.nan, se),
                                k=r.value, stronger=stronger,
                                greater_is_better=greater_is_better)
    return strongest_within_tolerance(strengths, mean, rel=r.value, stronger=stronger,
                                      greater_is_better=greater_is_better)


def describe_rule(rule, metric, *, knob="lam"):
    """The rule in words, e.g. "the strongest lam whose mean CV mse is within 1 SE of the
    best"."""
    r = parse_rule(rule)
    what = f"mean CV {metric}"
    if r.kind == "se" and r.value == 0:
        return f"the {knob} with the best {what}"
    if r.kind == "se":
        return f"the strongest {knob} whose {what} is within {r.value:g} SE of the best"
    return f"the strongest {knob} whose {what} is within {100 * r.value:g}% of the best"
