"""The report's penalty section for MCP, SCAD and the adaptive lasso: a picture and words.

``penalty_figures`` draws the folded-concave penalty and its threshold function next
to the lasso's (:func:`shrinkage.plotting.plot_penalty`); ``nonconvex_note``
is the Bayesian reading of these penalties -- what is true of it -- and, for MCP and
SCAD, which local solution the path reports and whether the convexity diagnostic holds
at the chosen strength.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["penalty_figures", "penalty_section", "nonconvex_note"]


def _is_concave(path):
    return getattr(path, "penalty", "elasticnet") in ("mcp", "scad")


def penalty_figures(path):
    """``{"penalty": PNG bytes}`` for an MCP or SCAD path; ``{}`` for any other."""
    if not _is_concave(path):
        return {}
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..plotting.penalty import plot_penalty

    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    plot_penalty(path.penalty, path.gamma, fig.subplots(1, 2))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return {"penalty": buf.getvalue()}


def penalty_section(path):
    """The template's penalty section (``{"title", "caption"}``) or None (no picture)."""
    if not _is_concave(path):
        return None
    name, g = path.penalty.upper(), float(path.gamma)
    return {
        "title": f"The {name} penalty next to the lasso's",
        "caption": (
            f"Left: the {name} penalty (gamma = {g:g}) and the lasso's, at lam = 1 on "
            "the standardized scale. Right: the estimate each gives from a least-squares "
            "estimate z when the features are orthonormal. The lasso moves every large "
            f"estimate lam towards zero; {name} joins the identity at |z| = gamma * lam "
            "(the grey lines) and leaves larger effects unshrunk, which is why it can keep "
            "the same features with less bias."),
    }


def _margin_sentence(path, index):
    margins = path.extra.get("convexity_margin")
    if margins is None or index >= np.size(margins):
        return ""
    m = float(np.asarray(margins)[index])
    if np.isnan(m):  # the covariance solver decides convexity without the eigenvalue
        return (" At the chosen lam the convexity diagnostic passed: restricted to the "
                "selected features the objective is convex, so this stationary point is "
                "the unique minimiser on that support (it is not certified as the minimum "
                "over all supports).")
    if m < 0:
        return (f" At the chosen lam the convexity diagnostic is negative ({m:.3g}: the "
                "loss's curvature on the selected features falls below the penalty's "
                "concavity), so the objective is not convex there and this is the "
                "stationary point reached by warm starts from lam_max; another start "
                "could reach another one.")
    return (f" At the chosen lam the convexity diagnostic is {m:.3g} >= 0: restricted to "
            "the selected features the objective is convex, so this stationary point is "
            "the unique minimiser on that support (it is not certified as the minimum over "
            "all supports).")


def nonconvex_note(path, cv):
    """The Bayesian reading of an MCP, SCAD or adaptive-lasso fit; None for the others.

    The lasso's penalty is, up to ``n / sigma^2``, the negative log-density of a Laplace
    prior, so its fit is a posterior mode. MCP and SCAD give no proper prior:
    ``exp(-n rho(|t|) / sigma^2)`` is constant beyond ``gamma lam`` and does not
    integrate. The adaptive lasso is a Laplace prior with a scale per feature, the scales
    estimated from the same data.
    """
    if _is_concave(path):
        name = path.penalty.upper()
        return (
            f"The {name} penalty has no reading as a proper prior. The lasso's penalty is, "
            "up to the factor n / sigma^2, minus the log-density of a Laplace prior, so "
            f"the lasso fit is a posterior mode. For {name} the corresponding "
            "exp(-n * penalty / sigma^2) is constant once |coefficient| passes gamma * lam "
            "(standardized): it does not integrate, so it is at best an improper prior "
            "(a Laplace-like peak at zero on a flat floor). The fit is formally a "
            "stationary point of the log-posterior under that improper prior, but the "
            "path returns a local stationary point, not necessarily the global mode, and "
            "gamma and lam were chosen from the same data by cross-validation: read "
            f"{name} as a device that removes the lasso's bias on large effects, not as "
            "a statement of belief about the coefficients."
            + _margin_sentence(path, cv.index_chosen))
    if "adaptive_weights" in path.extra:
        return ("The adaptive lasso reads as independent Laplace priors whose scales differ "
                "by feature (the lasso's scale divided by each feature's weight): an "
                "empirical-Bayes prior, its weights estimated from the same data by the "
                "first-stage fit, so the fit is a posterior mode under a prior that was "
                "itself chosen by the data.")
    return None
