"""The report's section on a Cox fit: risk groups against Kaplan-Meier, the C-index.

``survival_report`` takes the cross-validated path of a Cox model and its training
data, and gives what the report shows and what a model file keeps: the baseline hazard
of the chosen fit (Breslow's or Efron's estimate), Harrell's C-index of the chosen fit on
the training data, a table of facts and the risk-group figure
(:func:`shrinkage.plotting.plot_risk_groups`) as PNG bytes. Nothing is refitted: the
linear predictor is that of the chosen point of the path.
"""

from __future__ import annotations

import numpy as np

from .figures import png_bytes

__all__ = ["survival_report", "chosen_linear_predictor"]

_N_GROUPS = 4


def _fmt(v):
    return f"{float(v):.4g}"


def chosen_linear_predictor(path, index, X, offset=None):
    """``X @ b (+ offset)`` at point ``index`` of ``path`` (a Cox model has no intercept).

    Returns
    -------
    ndarray, shape (n_samples,)
    """
    eta = np.asarray(X @ np.asarray(path.coefs[index], dtype=float), dtype=float).ravel()
    return eta if offset is None else eta + np.asarray(offset, dtype=float)


def _caption(entry_times, stratified):
    text = (f"Solid steps: Kaplan-Meier curves of {_N_GROUPS} risk groups of the training "
            "rows (quartiles of the linear predictor at the chosen lam; group 1 has the "
            "lowest risk). Dashed: the mean predicted survival curve of each group, from "
            "the fitted log hazard ratios and the baseline hazard"
            + (" of each row's stratum" if stratified else "")
            + ". Where the dashed lines follow the steps the model is calibrated; the "
            "spread between the groups shows how well it separates risks.")
    if entry_times:
        text += (" The Kaplan-Meier curves ignore the entry times (left truncation), so "
                 "they are only a rough guide here.")
    return text


def survival_report(path, cv, X, y, *, ties="efron", sample_weight=None, offset=None,
                    strata_name=None):
    """What the report says about a Cox fit at ``cv``'s chosen strength.

    Parameters
    ----------
    path, cv : Path, CVResult
        A ``family="cox"`` path and its cross-validation.
    X : array of shape (n_samples, n_features)
        The training design.
    y : array-like
        The survival response (``shrinkage.model.cox.survival_response``'s encoding,
        whose strata are kept, or any form it accepts).
    ties : {"efron", "breslow"}
        How the baseline hazard treats tied event times (as the fit did).
    sample_weight, offset : array of shape (n_samples,), optional
        As in the fit.
    strata_name : str, optional
        The name of the strata column, for the facts table.

    Returns
    -------
    dict
        ``baseline`` (``BaselineHazard``), ``c_index`` (Harrell's,
        training data), ``rows`` (``(name, value)`` facts), ``caption`` and ``image``
        (PNG bytes of the risk-group figure).
    """
    from ..model.cox import survival_response
    from ..plotting.survival import plot_risk_groups
    from ..survival import breslow_baseline, concordance_index

    if path.family != "cox":
        raise ValueError(f"survival_report needs a cox path, got family {path.family!r}")
    yv = survival_response(y)
    i = cv.index_chosen
    eta = chosen_linear_predictor(path, i, X, offset)
    event = yv["event"] == 1.0
    codes = yv["stratum"] if np.any(yv["stratum"] != 0) else None
    entry = np.isfinite(yv["start"])
    baseline = breslow_baseline(yv["stop"], event, eta, sample_weight=sample_weight,
                                start=yv["start"] if entry.any() else None, strata=codes,
                                ties="breslow" if ties == "breslow" else "efron")
    c_index = float(concordance_index(yv["stop"], event, eta, sample_weight=sample_weight,
                                      strata=codes))
    image = png_bytes(lambda ax: plot_risk_groups(yv["stop"], event, eta, baseline,
                                                  n_groups=_N_GROUPS, ax=ax, strata=codes),
                      figsize=(6.4, 4.8))
    rows = [("events / rows", f"{int(event.sum())} / {event.size}"),
            ("ties", ties)]
    if codes is not None:
        rows.append(("strata", f"{strata_name or 'given'} ({baseline.n_strata} levels)"))
    rows += [("C-index, training data (chosen lam)", _fmt(c_index)),
             (f"CV {cv.metric} at the chosen lam", f"{_fmt(cv.mean[i])} +- {_fmt(cv.se[i])}")]
    return {"baseline": baseline, "c_index": c_index, "rows": rows,
            "caption": _caption(entry.any(), codes is not None), "image": image}
