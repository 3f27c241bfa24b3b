"""The one result object of every inference method: a table with a row per feature."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["InferenceResult"]

_COLUMNS = ("estimate", "lower", "upper", "pvalue", "probability")


@dataclass(frozen=True, eq=False)
class InferenceResult:
    """Estimates, intervals, p-values or selection probabilities, one row per feature.

    Every column is an array of shape ``(n_features,)`` on the original scale of the
    features; NaN where a method says nothing about a feature (a feature the lasso did
    not select has no selective interval; stability selection gives probabilities, not
    intervals).

    Attributes
    ----------
    method : str
        ``"stability"``, ``"selective"``, ``"data_splitting"``, ``"debiased"`` or
        ``"bootstrap"``.
    feature_names : ndarray of str, shape (n_features,)
    estimate, lower, upper, pvalue, probability : ndarray of shape (n_features,)
        ``lower``/``upper`` bound a two-sided interval of level ``level``; ``pvalue``
        tests ``coefficient = 0``; ``probability`` is a selection probability or frequency.
    selected : ndarray of bool, shape (n_features,)
        The features the method reports on: the lasso's selection (selective), the stable
        set (stability), the chosen model's support (bootstrap), all (debiased).
    level : float
        Interval level, e.g. 0.9.
    family : str
    details : dict
        Method-specific extras (strengths, bounds, sigma, the per-strength probabilities).
    """

    method: str
    feature_names: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    pvalue: np.ndarray
    probability: np.ndarray
    selected: np.ndarray
    level: float
    family: str
    details: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        """Number of features (rows of the table)."""
        return int(self.estimate.shape[0])

    def to_dict(self, only_selected=False) -> dict:
        """The table as ``{"feature": names, "estimate": ..., ...}`` (arrays).

        Parameters
        ----------
        only_selected : bool
            Keep only the rows of :attr:`selected`.
        """
        keep = self.selected if only_selected else np.ones(self.n_features, dtype=bool)
        table = {"feature": self.feature_names[keep]}
        for name in _COLUMNS:
            table[name] = getattr(self, name)[keep]
        table["selected"] = self.selected[keep]
        return table

    def summary(self, only_selected=False):
        """The table as a pandas DataFrame indexed by feature name.

        Columns ``estimate``, ``lower``, ``upper``, ``pvalue``, ``probability`` and
        ``selected``. Needs pandas (``pip install pandas``).

        Parameters
        ----------
        only_selected : bool
            Keep only the rows of :attr:`selected`.
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is in the dev extra
            raise ImportError("InferenceResult.summary needs pandas (pip install pandas); "
                              "to_dict() gives the same table without it") from exc
        table = self.to_dict(only_selected)
        names = table.pop("feature")
        return pd.DataFrame(table, index=pd.Index(names, name="feature"))

    def __repr__(self) -> str:
        return (f"InferenceResult(method={self.method!r}, family={self.family!r}, "
                f"n_features={self.n_features}, selected={int(np.sum(self.selected))}, "
                f"level={self.level:g})")


def empty_columns(p):
    """Five NaN columns of length ``p`` (estimate, lower, upper, pvalue, probability)."""
    return [np.full(p, np.nan) for _ in _COLUMNS]
