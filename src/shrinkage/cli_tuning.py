"""``shrinkage fit``'s second tuning axis: ``--gamma 2,3,5`` and ``--adaptive-exponent``.

:func:`choose_fit` picks the cross-validation a ``--penalty`` needs: the lam axis alone
(:func:`~shrinkage.tuning.cv.cross_validate`; ``--penalty adaptive`` with one exponent:
:func:`~shrinkage.tuning.adaptive.cross_validate_adaptive`), or, for a list of values,
the two-axis grid (:func:`~shrinkage.tuning.gamma_cv.cross_validate_gamma`,
:func:`~shrinkage.tuning.adaptive.cross_validate_adaptive_grid`) reduced to the chosen
cell (:func:`~shrinkage.tuning.grid_choice.grid_choice`), the grid kept in
``cv.extra["grid_cv"]`` (and so in the model file). :func:`tuning_outputs` turns that
grid into ``tuning.csv`` (every cell) and ``tuning.png``
(:func:`~shrinkage.plotting.plot_cv_grid`).
"""

from __future__ import annotations

import dataclasses
import functools

__all__ = ["choose_fit", "tuning_outputs", "TUNING_FILES"]

#: The files a two-axis run adds to ``--out``.
TUNING_FILES = ("tuning.csv", "tuning.png")


def _on_grid(fit, **axis):
    """``fit`` (a two-axis CV) as a one-axis one: returns the chosen cell's
    ``(CVResult, Path)``, the grid in ``cv.extra["grid_cv"]``."""
    from .tuning.grid_choice import grid_choice

    def run(X, y, **kwargs):
        res, paths = fit(X, y, **{**kwargs, **axis, "return_path": True})
        cv, path = grid_choice(res, paths)
        return dataclasses.replace(cv, extra={**cv.extra, "grid_cv": res}), path

    return run


def choose_fit(grid, l1_ratio):
    """``(fit, keywords)``: the cross-validation of ``check_fit_options``'s ``grid`` and the
    keywords to pass it besides the data and the fold options."""
    grid = dict(grid)
    if grid.pop("adaptive", False):  # the two stages, both inside every fold
        from .tuning import adaptive

        exps = grid.pop("adaptive_exponent", 1.0)
        if isinstance(exps, tuple):
            return _on_grid(adaptive.cross_validate_adaptive_grid, exponents=exps), grid
        return functools.partial(adaptive.cross_validate_adaptive, exponent=exps), grid
    if isinstance(grid.get("gamma"), tuple):
        from .tuning.gamma_cv import cross_validate_gamma

        gammas = grid.pop("gamma")
        return _on_grid(cross_validate_gamma, gammas=gammas, l1_ratio=l1_ratio), grid
    from .tuning.cv import cross_validate

    return cross_validate, {**grid, "l1_ratio": l1_ratio}


def tuning_outputs(cv, images, extra_files):
    """``(images, extra_files)`` with ``tuning.png`` and ``tuning.csv`` added when ``cv``
    came from a two-axis grid; unchanged otherwise."""
    res = cv.extra.get("grid_cv")
    if res is None:
        return images, extra_files
    from .cli_output import csv_bytes
    from .plotting.penalty import plot_cv_grid
    from .report.figures import png_bytes
    from .tuning.grid_choice import grid_rows

    png = png_bytes(lambda ax: plot_cv_grid(res, ax))
    files = {**(extra_files or {}), "tuning.csv": csv_bytes(*grid_rows(res)),
             "tuning.png": png}
    return {**images, "tuning": png}, files
