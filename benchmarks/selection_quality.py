"""How good is the chosen strength? Simulations with known truth.

In the style of Hastie, Tibshirani & Tibshirani (2020, "Best subset, forward stepwise or
lasso?"): rows of X are N(0, Sigma) with ``Sigma_ij = rho^|i-j|``; the true coefficients
are "beta-type 2" (the first ``s`` equal to 1, the rest 0); the noise variance is set by
the signal-to-noise ratio ``SNR = beta' Sigma beta / sigma^2``. For each setting and seed
we fit one gaussian lasso path (shrinkage's default grid, standardize=True) and choose
``lam`` by every rule:

* ``min``, ``1se``, ``5%`` -- 10-fold :func:`shrinkage.cross_validate` with that rule;
* ``aic``, ``bic``, ``ebic`` -- :mod:`shrinkage.information` on the full-data path;
* ``relaxed-1se`` -- :func:`shrinkage.relaxed.cross_validate_relaxed` (gamma x lam);
* ``mcp-min``, ``mcp-1se``, ``scad-min``, ``scad-1se`` -- the folded-concave penalties
  (default gamma 3 and 3.7) cross-validated on their own paths;
* ``adaptive-min``, ``adaptive-1se`` -- the adaptive lasso (ridge first stage, refitted
  in every fold, :func:`shrinkage.tuning.adaptive.cross_validate_adaptive`);
  ``adaptivelasso-1se`` the same with a lasso first stage (``initial="lasso"``, its
  strength at the CV minimum).
* ``mcp-grid-1se``, ``scad-grid-1se`` -- gamma cross-validated with lam (default gamma
  grids, :func:`shrinkage.tuning.gamma_cv.cross_validate_gamma`);
  ``adaptive-grid-min``, ``adaptive-grid-1se`` -- the exponent (0.5, 1, 2)
  cross-validated with lam
  (:func:`shrinkage.tuning.adaptive.cross_validate_adaptive_grid`);
  ``adaptivelasso-grid-1se`` the same with a lasso first stage.

Reported per rule, averaged over seeds:

* ``err/oracle`` -- test error at the chosen ``lam`` divided by the best test error over
  the path (the oracle ``lam``, the best one for a large independent test set); 1 is
  perfect (the relaxed fit can go below 1: the oracle is the lasso path's). Test error
  is ``E (x0' b_hat - x0' beta)^2 + sigma^2``, computed exactly from
  ``Sigma``, so no test sample noise enters.
* ``prec``, ``rec``, ``F1`` -- support precision, recall and F1 against ``beta != 0``.
* ``nnz`` -- number of non-zero coefficients chosen.

Usage::

    python benchmarks/selection_quality.py            # 4 settings x 10 seeds, ~minutes
    python benchmarks/selection_quality.py --reps 3   # faster
    python benchmarks/selection_quality.py --rules 1se,mcp-1se,scad-1se,adaptive-1se

Seeds are fixed (seed = 1000 * setting + rep), so the table is reproducible.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

SETTINGS = [
    # n, p, s, rho, snr
    (100, 50, 5, 0.35, 0.5),
    (100, 50, 5, 0.35, 2.0),
    (100, 500, 5, 0.35, 2.0),
    (500, 100, 10, 0.7, 1.0),
]
RULES = ["min", "1se", "5%", "aic", "bic", "ebic", "relaxed-1se", "mcp-min", "mcp-1se",
         "scad-min", "scad-1se", "adaptive-min", "adaptive-1se", "adaptivelasso-1se",
         "mcp-grid-1se", "scad-grid-1se", "adaptive-grid-min", "adaptive-grid-1se",
         "adaptivelasso-grid-1se"]
_OWN_PATH = tuple(r for r in RULES if r not in ("min", "1se", "5%", "aic", "bic", "ebic"))
# the adaptive rules' first stage, by the rule's name
_INITIAL = {"adaptive": "ridge", "adaptivelasso": "lasso"}


def simulate(n, p, s, rho, snr, seed):
    rng = np.random.default_rng(seed)
    idx = np.arange(p)
    sigma = rho ** np.abs(idx[:, None] - idx[None, :])
    chol = np.linalg.cholesky(sigma)
    X = rng.standard_normal((n, p)) @ chol.T
    beta = np.zeros(p)
    beta[:s] = 1.0
    noise_var = beta @ sigma @ beta / snr
    y = X @ beta + np.sqrt(noise_var) * rng.standard_normal(n)
    return X, y, beta, sigma, noise_var


def test_error(coef, intercept, beta, sigma, noise_var):
    """E (y0 - b0 - x0'b)^2 for x0 ~ N(0, Sigma): (b - beta)' Sigma (b - beta) + b0^2 + s^2."""
    d = coef - beta
    return float(d @ sigma @ d + intercept**2 + noise_var)


def support_scores(coef, beta):
    sel, true = coef != 0, beta != 0
    tp = np.sum(sel & true)
    prec = tp / sel.sum() if sel.sum() else 1.0
    rec = tp / true.sum()
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, int(sel.sum())


def own_path_fit(rule, X, y, folds, seed):
    """``(coef, intercept)`` chosen by a rule that fits its own path (not the lasso's)."""
    import warnings

    from shrinkage import cross_validate, cross_validate_relaxed
    from shrinkage.tuning.adaptive import cross_validate_adaptive

    if rule == "relaxed-1se":
        return cross_validate_relaxed(X, y, cv=folds, random_state=seed, rule="1se").coef()
    if "-grid-" in rule:
        return grid_fit(rule, X, y, folds, seed)
    name, how = rule.split("-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NonconvexWarning: p > n paths are nonconvex
        if name in _INITIAL:
            res, path = cross_validate_adaptive(X, y, initial=_INITIAL[name], cv=folds,
                                                random_state=seed, rule=how,
                                                return_path=True)
        else:
            res, path = cross_validate(X, y, cv=folds, random_state=seed, rule=how,
                                       penalty=name, return_path=True)
    i = res.index_chosen
    return path.coefs[i], path.intercepts[i]


def grid_fit(rule, X, y, folds, seed):
    """``(coef, intercept)`` of a two-axis rule (gamma or the adaptive exponent x lam)."""
    import warnings

    from shrinkage.tuning.adaptive import cross_validate_adaptive_grid
    from shrinkage.tuning.gamma_cv import cross_validate_gamma
    from shrinkage.tuning.grid_choice import grid_choice

    name, _, how = rule.split("-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NonconvexWarning: p > n paths are nonconvex
        if name in _INITIAL:
            res, paths = cross_validate_adaptive_grid(X, y, initial=_INITIAL[name],
                                                      exponents=(0.5, 1.0, 2.0),
                                                      cv=folds, random_state=seed, rule=how,
                                                      return_path=True)
        else:
            res, paths = cross_validate_gamma(X, y, penalty=name, cv=folds,
                                              random_state=seed, rule=how, return_path=True)
    cv, path = grid_choice(res, paths)
    return path.coefs[cv.index_chosen], path.intercepts[cv.index_chosen]


def run_setting(k, setting, reps, folds, rules=RULES):
    from shrinkage import cross_validate, selection
    from shrinkage.tuning.information import select_by_criterion

    n, p, s, rho, snr = setting
    rows = {r: [] for r in rules}
    for rep in range(reps):
        seed = 1000 * k + rep
        X, y, beta, sigma, nv = simulate(n, p, s, rho, snr, seed)
        res, path = cross_validate(X, y, cv=folds, random_state=seed, rule="1se",
                                   return_path=True)
        errs = np.array([test_error(path.coefs[i], path.intercepts[i], beta, sigma, nv)
                         for i in range(path.n_lams)])
        oracle = errs.min()
        picks = {
            "min": res.index_min,
            "1se": res.index_chosen,
            "5%": selection.strongest_within_tolerance(res.lams, res.mean, rel=0.05),
        }
        for crit in ("aic", "bic", "ebic"):
            picks[crit] = select_by_criterion(path, X, y, crit)
        for rule, i in picks.items():
            if rule in rows:
                c = path.coefs[i]
                rows[rule].append((errs[i] / oracle, *support_scores(c, beta)))
        for rule in (r for r in _OWN_PATH if r in rows):
            c, b = own_path_fit(rule, X, y, folds, seed)
            rows[rule].append(
                (test_error(c, b, beta, sigma, nv) / oracle, *support_scores(c, beta)))
    return {r: np.mean(np.array(v, dtype=float), axis=0) for r, v in rows.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description="selection quality of each rule")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--settings", default=None,
                    help="comma-separated indices into SETTINGS (default: all), e.g. 2 "
                         "for the p > n one")
    ap.add_argument("--rules", default=",".join(RULES),
                    help="comma-separated subset of: " + ", ".join(RULES))
    args = ap.parse_args(argv)
    rules = [r for r in args.rules.split(",") if r]
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        ap.error(f"unknown rules {unknown}")
    print("| n | p | s | rho | SNR | rule | err/oracle | prec | rec | F1 | nnz |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    keep = (range(len(SETTINGS)) if args.settings is None
            else [int(i) for i in args.settings.split(",")])
    for k, setting in enumerate(SETTINGS):
        if k not in keep:
            continue
        table = run_setting(k, setting, args.reps, args.folds, rules)
        n, p, s, rho, snr = setting
        for rule in rules:
            e, pr, rc, f1, nz = table[rule]
            print(f"| {n} | {p} | {s} | {rho} | {snr} | {rule} | {e:.3f} | {pr:.2f} | "
                  f"{rc:.2f} | {f1:.2f} | {nz:.1f} |", flush=True)
    print(f"\n{args.reps} seeds per setting, {args.folds}-fold CV; "
          f"{time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
