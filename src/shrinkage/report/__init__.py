"""A self-contained HTML report of a cross-validated regularization path.

:func:`build_report` renders one HTML page from a :class:`~shrinkage.results.Path` and its
:class:`~shrinkage.results.CVResult` with a Jinja2 template shipped inside the package:
a data summary, the path plot, the CV plot with the chosen strength and the rule in one
sentence, the overfitting gap, the selected coefficients (ranked on the standardized
scale, shown on both), the Bayesian reading of the chosen ``lam``, for a Cox fit its
risk groups (``.survival_section``), and what is needed to reproduce it. Images are
inline PNGs (base64 ``data:`` URIs), so the file needs no network and no companion files.
Nothing is refitted.
"""

from __future__ import annotations

import base64
import datetime as _dt
import platform

import numpy as np

from ..results import CVResult, Path
from .figures import png_bytes
from .groups import group_sentence
from .inference_section import inference_section, render_inference_figure
from .penalty_section import penalty_figures, penalty_section
from .penalty_words import penalty_kind
from .prior_section import prior_sentence

__all__ = ["build_report", "render_figures", "render_inference_figure", "write_report",
           "rule_sentence", "overfit_demo", "feature_sds"]

_MAX_COEF_ROWS = 100  # the largest non-zero coefficients listed (all are in the model file)


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def render_figures(path, cv, X=None, y=None, *, overfit=False, offset=None, sample_weight=None,
                   feature_sd=None):
    """PNG bytes of the report's figures.

    Parameters
    ----------
    path, cv : Path, CVResult
    X, y : arrays, optional
        The training data, for the overfitting gap.
    overfit : bool
        Add the bundled 1-D demo.
    offset, sample_weight : arrays of shape (n,), optional
        The offset and weights of the fit: the gap plot's training error adds the offset
        to the linear predictor and weights the rows, as cross-validation does.
    feature_sd : array of shape (n_features,), optional
        For the path plot's selection rule and label order (default
        ``path.extra["feature_sd"]``).

    Returns
    -------
    dict
        ``"path"``, ``"cv"``, ``"penalty"`` (MCP, SCAD), ``"gap"`` (with ``X``, ``y``) and
        ``"overfit"`` (the bundled 1-D demo, when ``overfit`` is true).
    """
    from .. import plotting

    _check_pair(path, cv)
    figs = {
        "path": png_bytes(lambda ax: plotting.plot_path(path, ax, cv=cv, feature_sd=feature_sd)),
        "cv": png_bytes(lambda ax: plotting.plot_cv(cv, ax)),
        **penalty_figures(path),  # MCP, SCAD: the penalty's shape next to the lasso's
    }
    if X is not None and y is not None and path.family != "cox":  # cox: survival_section
        figs["gap"] = png_bytes(lambda ax: plotting.plot_gap(
            path, X, y, ax, cv=cv, sample_weight=sample_weight, offset=offset))
    if overfit:
        figs["overfit"] = png_bytes(lambda ax: plotting.plot_overfit(overfit_demo(), ax))
    return figs


def _with_section_images(images, inference, survival):
    if survival is not None and "survival" not in images:
        images = {**images, "survival": survival["image"]}
    if inference is None or "inference" in images:
        return images
    return {**images, "inference": render_inference_figure(inference)}


def overfit_demo():
    """The bundled noisy curve fitted without and with ridge (the report's first picture)."""
    from ..datasets import make_noisy_curve
    from ..tuning.curves import compare_fits

    demo = make_noisy_curve()
    return compare_fits(demo.x, demo.y, truth=(demo.x_grid, demo.f_grid))


def _check_pair(path, cv):
    if not isinstance(path, Path):
        raise TypeError(f"path must be a Path, got {type(path).__name__}")
    if not isinstance(cv, CVResult):
        raise TypeError(f"cv must be a CVResult, got {type(cv).__name__}")
    if path.n_lams != len(cv.lams) or not np.allclose(path.lams, cv.lams, rtol=1e-12):
        raise ValueError(
            "path and cv are on different lam grids: cross-validate the path you report "
            "(cross_validate(..., return_path=True))"
        )


def rule_sentence(cv):
    """The CV rule in words, e.g. "the strongest lam whose mean CV mse is within 1 SE of
    the best" (:func:`shrinkage.tuning.selection.describe_rule`)."""
    from ..tuning.selection import describe_rule

    return describe_rule(cv.rule, cv.metric)


def feature_sds(X, sample_weight=None):
    """The (weighted) standard deviation of each column of ``X``, as the path's
    standardization computes it: ``sd_j = sqrt(sum_i w_i (x_ij - m_j)^2)`` with weights
    normalised to sum to one and ``m_j`` the weighted mean (no copy of ``X``; sparse
    ``X`` in CSC form)."""
    import scipy.sparse as sp

    from ..engine.problem import column_moments

    n = X.shape[0]
    w = np.full(n, 1.0 / n) if sample_weight is None else np.asarray(sample_weight, float)
    w = w / w.sum()
    if sp.issparse(X):
        X = sp.csc_matrix(X)
    else:
        X = np.asarray(X, dtype=float)
    mean = np.asarray(X.T @ w, dtype=float).ravel()
    return np.sqrt(np.maximum(column_moments(X, w, mean), 0.0))


def _class_labels(path, cv, n_classes):
    """Class labels: cross_validate keeps the user's labels in ``cv.extra["classes"]``
    (the path itself is fitted on class codes)."""
    for labels in (cv.extra.get("classes"), path.classes):
        if labels is not None and len(labels) == n_classes:
            return [str(c) for c in labels]
    return [str(k) for k in range(n_classes)]


def _coef_table(path, cv, index, names, sd):
    """Columns, rows (selected features, largest first), number selected, intercept text.

    Selection and order follow :func:`shrinkage.plotting.paths.selected_features`: sizes
    on the standardized scale when ``sd`` is known (else the original scale)."""
    from ..plotting.paths import selected_features, standardized_sizes

    coefs = np.asarray(path.coefs[index])
    if coefs.ndim == 1:
        columns = ["log hazard ratio" if path.family == "cox" else "coefficient"]
        mat = coefs[:, None]
    else:
        columns = [f"class {c}" for c in _class_labels(path, cv, coefs.shape[1])]
        mat = coefs
    size = standardized_sizes(coefs, sd)
    keep = selected_features(coefs, sd, path.tol)
    order = [j for j in np.argsort(-size, kind="stable") if keep[j]]
    if sd is not None:
        columns = columns + (["standardized"] if coefs.ndim == 1 else ["standardized size"])
    rows = []
    for j in order[:_MAX_COEF_ROWS]:
        values = list(mat[j])
        if sd is not None:
            values.append(mat[j, 0] * sd[j] if coefs.ndim == 1 else size[j])
        rows.append({"name": names[j], "values": values})
    inter = np.atleast_1d(path.intercepts[index])
    return columns, rows, len(order), ", ".join(_fmt(v) for v in inter)


def _resolve_sd(path, X, feature_sd, sample_weight):
    """The features' standard deviations: given, stored with the path, or from X."""
    if feature_sd is not None:
        return np.asarray(feature_sd, dtype=float)
    if path.extra.get("feature_sd") is not None:
        return np.asarray(path.extra["feature_sd"], dtype=float)
    if X is not None:
        return feature_sds(X, sample_weight)
    return None


def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shrinkage.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def _data_rows(path, n_samples, data):
    rows = [("family", path.family)]
    if n_samples is not None:
        rows.append(("samples", n_samples))
    rows.append(("features (after encoding)", path.n_features))
    rows.extend((str(key), value) for key, value in (data or {}).items())
    return rows


def _model_notes(path, cv, target):
    """Sentences under the headline: what the model predicts, how it is penalised."""
    notes = [t for t in (_class_sentence(path, cv, target), group_sentence(path, cv)) if t]
    if path.family == "multinomial" and path.l1_ratio > 0:
        notes.append("The multinomial penalty is grouped: each feature's coefficients for "
                      "all classes form one group, which enters or leaves the model as a "
                      "whole.")
    return notes


def _class_sentence(path, cv, target):
    """Which label a binomial model gives the probability of."""
    if path.family != "binomial":
        return None
    labels = _class_labels(path, cv, 2)
    return (f"The model gives the probability that {target} is {labels[1]!r} (the second "
            f"class in sorted order; {labels[0]!r} is the other).")


def _cv_rows(path, cv, sd=None):
    """``(n_folds, n_repeats, rows for lam_min and the chosen lam, repeats sentence)``;
    the feature counts follow :func:`shrinkage.plotting.paths.selected_features`."""
    from ..plotting.paths import selected_features

    i = cv.index_chosen
    n_folds = int(cv.extra.get("n_folds", cv.fold_scores.shape[0]))
    n_repeats = int(cv.extra.get("n_repeats", 1))

    def selected(k):
        return int(selected_features(path.coefs[k], sd, path.tol).sum())

    cv_rows = [
        {"name": "lam_min", "lam": cv.lam_min, "mean": cv.mean[cv.index_min],
         "se": cv.se[cv.index_min], "nnz": selected(cv.index_min)},
        {"name": f"chosen ({cv.rule})", "lam": cv.lam_chosen, "mean": cv.mean[i],
         "se": cv.se[i], "nnz": selected(i)},
    ]
    repeat_note = None
    rep = cv.extra.get("repeat_lam_chosen")
    if rep is not None and n_repeats > 1:
        rep = np.asarray(rep, dtype=float)
        repeat_note = (
            f"Across the {n_repeats} repeats the rule chose lam between {_fmt(rep.min())} "
            f"and {_fmt(rep.max())} (median {_fmt(np.median(rep))})."
        )

    return n_folds, n_repeats, cv_rows, " ".join(filter(None, [repeat_note, _grid_note(cv)]))


def _grid_note(cv):
    """What the grid extension (:mod:`shrinkage.tuning.extension`) and the folds' held-out
    stop (:mod:`shrinkage.tuning.held_out_stop`) did, in words."""
    from ..tuning.extension import extension_note
    from ..tuning.held_out_stop import stop_note

    note = " ".join(filter(None, [extension_note(cv.extra), stop_note(cv)]))
    warning = cv.extra.get("edge_warning")
    return f"{note} Note: {warning}." if warning else note


def _path_summary(path):
    """Sentences under the path figure: an early stop and strengths left unconverged."""
    parts = [f"The path stopped early: {path.stop_reason}."] if path.stop_reason else []
    failed = np.flatnonzero(~np.asarray(path.converged, dtype=bool))
    if failed.size:
        cert = np.asarray(path.certificate, dtype=float)[failed]
        known = np.isfinite(cert)
        detail = []
        if known.any():
            worst = failed[known][np.argmax(cert[known])]
            detail.append(f"the largest {path.certificate_kind}, "
                          f"{_fmt(path.certificate[worst])}, at lam = {_fmt(path.lams[worst])}, "
                          f"against the tolerance {_fmt(path.tol)}")
        if not known.all():
            detail.append(f"{int(np.sum(~known))} without a computed certificate")
        parts.append(f"Warning: {failed.size} of {path.n_lams} strengths did not converge "
                     f"({'; '.join(detail)}): their coefficients are not certified optimal.")
    return " ".join(parts)


def _repro_rows(path, cv, n_folds, n_repeats):
    """What is needed to reproduce the report, as (name, value) rows."""
    from ..version import __version__

    return [
        ("shrinkage", __version__),
        ("numpy", np.__version__),
        ("python", platform.python_version()),
        ("created (UTC)", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")),
        ("seed (fold assignment)", cv.random_state),
        ("folds", n_folds),
        ("repeats", n_repeats),
        ("rule", cv.rule),
        ("metric", cv.metric),
        ("penalty", path.penalty + ("" if path.penalty == "elasticnet"
                                    else f", gamma = {path.gamma:g}")),
        ("l1_ratio", _fmt(path.l1_ratio)),
        ("standardize", path.standardize),
        ("lams fitted", path.n_lams),
        ("solver tolerance", _fmt(path.tol)),
        (f"max {path.certificate_kind}", _fmt(np.max(path.certificate))),
        ("all path points converged", bool(np.all(path.converged))),
    ]


def build_report(
    path,
    cv,
    *,
    X=None,
    y=None,
    title="shrinkage report",
    data=None,
    notes=(),
    columns=None,
    command=None,
    images=None,
    overfit=False,
    feature_sd=None,
    sample_weight=None,
    offset=None,
    inference=None,
    survival=None,
):
    """Render the HTML report.

    Parameters
    ----------
    path : Path
        The full-data path whose grid ``cv`` cross-validated.
    cv : CVResult
    X, y : arrays, optional
        The (encoded) training data; enables the overfitting-gap plot and, for gaussian
        paths, the noise estimate behind the Bayesian reading.
    title : str
    data : dict, optional
        Extra rows for the data summary (e.g. ``{"source": "data.csv", "target": "y"}``).
    notes : sequence of str
        Remarks about the data preparation (one-hot encoding, imputation, exclusions).
    columns : sequence of (name, type, missing, summary), optional
        One row per input column for the data summary table.
    command : str, optional
        The exact command that produced the report.
    images : dict, optional
        PNG bytes from :func:`render_figures` (computed when omitted).
    overfit : bool
        Include the bundled overfitting demo picture.
    feature_sd : array of shape (n_features,), optional
        Standard deviation of each feature in the training design, for the
        standardized scale (default: ``path.extra["feature_sd"]``, else computed from
        ``X`` and ``sample_weight``). Coefficients are ranked and selected on that scale
        (:func:`shrinkage.plotting.paths.selected_features`).
    sample_weight, offset : arrays of shape (n_samples,), optional
        The weights and offset of the fit: for the sds computed from ``X``, the gap plot
        and the Bayesian reading (``report.prior_section``).
    inference : InferenceResult, optional
        Adds a section on the uncertainty of the selection
        (:mod:`shrinkage.inference`) with its table and picture.
    survival : dict, optional
        For a Cox fit: ``shrinkage.report.survival_section.survival_report``'s facts
        (the training C-index, the CV metric) and its risk-group figure.

    Returns
    -------
    str
        The HTML document.
    """
    from ..version import __version__

    _check_pair(path, cv)
    sd = _resolve_sd(path, X, feature_sd, sample_weight)
    if images is None:
        images = render_figures(path, cv, X, y, overfit=overfit, offset=offset, feature_sd=sd,
                                sample_weight=sample_weight)
    images = _with_section_images(images, inference, survival)
    encoded = {k: base64.b64encode(v).decode("ascii") for k, v in images.items()}
    i = cv.index_chosen
    names = ([str(n) for n in path.feature_names] if path.feature_names is not None
             else [f"x{j}" for j in range(path.n_features)])
    n_samples = None if X is None else int(np.shape(X)[0])
    if n_samples is None and cv.fold_ids is not None:
        n_samples = int(np.shape(cv.fold_ids)[-1])
    data_rows = _data_rows(path, n_samples, data)
    n_folds, n_repeats, cv_rows, repeat_note = _cv_rows(path, cv, sd)
    coef_columns, coef_rows, n_nonzero, intercept_text = _coef_table(path, cv, i, names, sd)
    prior_text = prior_sentence(path, cv, X, y, n_samples, offset, sample_weight)
    repro_rows = _repro_rows(path, cv, n_folds, n_repeats)
    headline = (f"A {path.family} {penalty_kind(path)} path cross-validated over {n_folds} "
                f"folds: the chosen lam = {_fmt(cv.lam_chosen)} keeps {n_nonzero} of "
                f"{path.n_features} features.")
    model_notes = _model_notes(path, cv, (data or {}).get("target", "y"))
    return _template().render(
        title=title,
        headline=headline,
        version=__version__,
        fmt=_fmt,
        images=encoded,
        data_rows=data_rows,
        notes=list(notes),
        columns=[tuple(c) for c in (columns or ())],
        path_summary=_path_summary(path),
        lam_max_fitted=float(np.max(path.lams)),
        lam_min_fitted=float(np.min(path.lams)),
        cv=cv,
        rule_sentence=rule_sentence(cv),
        n_folds=n_folds,
        n_repeats=n_repeats,
        cv_rows=cv_rows,
        repeat_note=repeat_note,
        coef_columns=coef_columns,
        coef_rows=coef_rows,
        n_nonzero=n_nonzero,
        coef_scale=("ranked by size on the standardized scale (|coefficient| times the "
                    "feature's standard deviation; the last column)" if sd is not None
                    else "ranked by size"),
        model_notes=model_notes,
        n_features=path.n_features,
        intercept_text=intercept_text,
        prior_sentence=prior_text,
        repro_rows=repro_rows,
        command=command,
        inference=None if inference is None else inference_section(inference),
        survival=survival, penalty=penalty_section(path) if "penalty" in images else None,
    )


def write_report(html, out, *, overwrite=False):
    """Write ``html`` to ``out`` atomically (temporary file + rename).

    Raises
    ------
    FileExistsError
        If ``out`` exists and ``overwrite`` is false.
    """
    from ..io import atomic_write

    data = html.encode("utf-8")
    return atomic_write(out, lambda fh: fh.write(data), overwrite=overwrite)
