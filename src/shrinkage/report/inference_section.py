"""The report's section on uncertainty after selection (from an InferenceResult)."""

from __future__ import annotations

import numpy as np

from .figures import png_bytes

__all__ = ["inference_section", "inference_figure", "inference_csv_rows",
           "render_inference_figure"]

_MAX_ROWS = 50

_SENTENCES = {
    "stability": (
        "Stability selection: the path was refitted on {n_pairs} complementary pairs of "
        "random halves of the rows. A feature's probability is the largest share of half "
        "samples that selected it over the strengths down to lam = {lam_end}; the {k} "
        "features at or above the threshold {threshold:g} are stable. The expected number "
        "of noise features among them is at most {bound:.2g} (Meinshausen & Buhlmann's bound, "
        "which assumes noise features are exchangeable)."),
    "data_splitting": (
        "Data splitting: lam and the features were chosen by cross-validation on one random "
        "half of the rows; the selected model was then fitted without penalty on the other "
        "half, where the intervals and p-values are classical and valid whatever chose the "
        "features. They describe the coefficients of the selected model."),
    "selective": (
        "Selective inference at the fixed lam = {lam}: intervals and p-values condition on "
        "the lasso having selected these features with these signs (Lee et al. 2016){exact}."),
    "debiased": (
        "Debiased lasso: each coefficient's shrinkage is removed with a nodewise lasso "
        "regression (Zhang & Zhang 2014; van de Geer et al. 2014), giving asymptotic "
        "intervals for every feature, also those the lasso left out. Listed: the features "
        "with the smallest p-values."),
}


def _fmt(v):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "" if v is None or np.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.4g}"


def inference_section(result):
    """``{"title", "sentence", "columns", "rows", "level"}`` for the report template."""
    d = result.details
    level = f"{100 * result.level:.0f}%" if np.isfinite(result.level) else ""
    if result.method == "stability":
        order = np.argsort(-result.probability, kind="stable")
        order = order[result.probability[order] > 0]
        columns = ["feature", "selection probability", "stable"]
        rows = [[str(result.feature_names[j]), _fmt(float(result.probability[j])),
                 "yes" if result.selected[j] else ""] for j in order[:_MAX_ROWS]]
        sentence = _SENTENCES["stability"].format(
            n_pairs=d["n_pairs"], lam_end=_fmt(float(d["lams"][d["region"] - 1])),
            k=int(result.selected.sum()), threshold=d["threshold"], bound=d["pfer_bound"])
    else:
        if result.method == "debiased":
            order = np.argsort(np.where(np.isfinite(result.pvalue), result.pvalue, 2.0),
                               kind="stable")
        else:
            order = np.flatnonzero(result.selected)
        columns = ["feature", "estimate", f"{level} lower", f"{level} upper", "p-value"]
        rows = [[str(result.feature_names[j]), _fmt(float(result.estimate[j])),
                 _fmt(float(result.lower[j])), _fmt(float(result.upper[j])),
                 _fmt(float(result.pvalue[j]))] for j in order[:_MAX_ROWS]]
        exact = ("; exact under gaussian errors" if d.get("exact")
                 else "; asymptotic for this family")
        sentence = _SENTENCES[result.method].format(lam=_fmt(d.get("lam")), exact=exact)
    title = {"stability": "Stability of the selection", "selective": "Selective inference",
             "data_splitting": "Inference by data splitting",
             "debiased": "Debiased lasso intervals"}[result.method]
    return {"title": title, "sentence": sentence, "columns": columns, "rows": rows}


def inference_figure(result, ax):
    """Draw the method's picture on ``ax``: the stability path or the interval plot."""
    from ..plotting import plot_selection_intervals, plot_stability_path

    if result.method == "stability":
        return plot_stability_path(result, ax)
    if result.method == "debiased":
        keep = np.argsort(np.where(np.isfinite(result.pvalue), result.pvalue, 2.0))[:20]
        mask = np.zeros(result.n_features, dtype=bool)
        mask[keep] = True
        import dataclasses

        result = dataclasses.replace(result, selected=mask)
    return plot_selection_intervals(result, ax)


def inference_csv_rows(result):
    """``(header, rows)`` of the whole table (every feature)."""
    header = ["feature", "estimate", "lower", "upper", "pvalue", "probability", "selected"]
    rows = []
    for j in range(result.n_features):
        rows.append([str(result.feature_names[j])] + [
            "" if not np.isfinite(v) else repr(float(v))
            for v in (result.estimate[j], result.lower[j], result.upper[j], result.pvalue[j],
                      result.probability[j])] + [int(result.selected[j])])
    return header, rows


def render_inference_figure(result):
    """PNG bytes of an InferenceResult's picture (stability path or intervals)."""
    return png_bytes(lambda ax: inference_figure(result, ax))
