"""Survival mathematics on plain arrays: concordance, Kaplan-Meier, baseline hazards.

Pure functions of ``time`` (event or censoring times, ``>= 0``), ``event`` (booleans or
0 / 1), and optionally ``start`` (entry times: counting-process intervals
``(start, time]``, left truncation), ``strata`` (integer codes) and ``sample_weight``
(``>= 0``). Nothing here fits a model: the baseline hazard takes the linear predictor of
a fitted one.

May import: NumPy, numba, :mod:`shrinkage.validation`, :mod:`shrinkage.results`.
"""

from .baseline import BaselineHazard, breslow_baseline
from .checks import SurvivalData, check_survival
from .concordance import concordance_index, uno_concordance
from .nonparametric import at_risk_sums, censoring_survival, kaplan_meier

__all__ = [
    "concordance_index",
    "uno_concordance",
    "kaplan_meier",
    "breslow_baseline",
    "BaselineHazard",
    "at_risk_sums",
    "censoring_survival",
    "check_survival",
    "SurvivalData",
]
