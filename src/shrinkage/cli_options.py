"""The ``shrinkage fit`` options: their declarations, their checks, and ``--inference``.

Every option is checked before any work is done, with a one-line :class:`CLIError` that
names the option; :func:`check_fit_options` turns them into the arguments of the fit.
"""

from __future__ import annotations

import click

__all__ = ["CLIError", "FIT_OPTIONS", "PENALTIES", "SURVIVAL_OPTIONS", "check_fit_options",
           "fit_options", "run_inference"]

#: the l1_ratio of each --penalty (elasticnet: --l1-ratio, default 0.5)
PENALTIES = {"lasso": 1.0, "ridge": 0.0, "elasticnet": None, "mcp": 1.0, "scad": 1.0,
             "adaptive": 1.0}


class CLIError(Exception):
    """An error to report in one line."""


def _parse_rule(rule):
    """The canonical rule text (the grammar of :func:`shrinkage.tuning.selection.parse_rule`)."""
    from .tuning.selection import parse_rule

    try:
        return parse_rule(rule).text
    except ValueError:
        raise CLIError(
            f"--rule must be min, Kse (e.g. 1se, 1.5se), a number K of standard errors or "
            f"R% (e.g. 1%), got {rule!r}"
        ) from None


def _l1_ratio(penalty, l1_ratio):
    if penalty == "elasticnet":
        value = 0.5 if l1_ratio is None else l1_ratio
        if not 0.0 < value < 1.0:
            raise CLIError(f"--l1-ratio must be strictly between 0 and 1, got {value}")
        return value
    if l1_ratio is not None:
        raise CLIError(f"--l1-ratio applies to --penalty elasticnet, not {penalty}")
    return PENALTIES[penalty]


#: the options of a Cox fit only
SURVIVAL_OPTIONS = ("time", "event", "start", "strata", "ties")


def _check_family_options(opts):
    """The target or the survival columns, as the family needs; the cox grid."""
    if opts.get("family") != "cox":
        given = [f"--{k}" for k in SURVIVAL_OPTIONS if opts.get(k) is not None]
        if given:
            raise CLIError(f"{given[0]} applies to --family cox only (got --family "
                           f"{opts.get('family', 'auto')}); add --family cox")
        if not opts.get("target"):
            raise CLIError("--target is required (for survival data: --family cox --time "
                           "COL --event COL)")
        return {}
    if opts.get("target"):
        raise CLIError("--target does not apply to --family cox: name the survival columns "
                       "with --time and --event")
    missing = [f"--{k}" for k in ("time", "event") if not opts.get(k)]
    if missing:
        raise CLIError(f"--family cox needs {' and '.join(missing)} (the columns of survival "
                       "times and of event indicators)")
    penalties = "use --penalty lasso, ridge or elasticnet"
    refused = {"--penalty mcp": (opts["penalty"] == "mcp", penalties),
               "--penalty scad": (opts["penalty"] == "scad", penalties),
               "--penalty adaptive": (opts["penalty"] == "adaptive", penalties),
               "--factor-groups": (bool(opts.get("factor_groups")),
                                   "leave it out: each indicator of a factor is then "
                                   "penalised on its own"),
               f"--inference {opts.get('inference')}": (
                   opts.get("inference", "none") != "none", "leave --inference out")}
    for option, (given, instead) in refused.items():
        if given:
            raise CLIError(f"{option} does not apply to --family cox yet ({instead})")
    return {"ties": opts.get("ties") or "efron"}


def _numbers(text, option):
    """The comma-separated numbers of ``option`` (a tuple), or None when not given."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise CLIError(f"{option} must be a number or a comma-separated list of numbers "
                       f"(e.g. 2,3,5), got {text!r}") from None
    if len(set(values)) != len(values):
        raise CLIError(f"{option} lists a value twice: {text!r}")
    return values


def _one_or_list(values):
    return values[0] if len(values) == 1 else tuple(values)


def _check_axes(opts, grid):
    """--gamma (mcp, scad) and --adaptive-exponent (adaptive): one value, or a list that
    is cross-validated with lam (``shrinkage.cli_tuning``)."""
    penalty = opts["penalty"]
    gammas = _numbers(opts.get("gamma"), "--gamma")
    exps = _numbers(opts.get("adaptive_exponent"), "--adaptive-exponent")
    if penalty in ("mcp", "scad"):
        from .model.concave import check_penalty

        try:
            checked = [check_penalty(penalty, g)[1] for g in (gammas or (None,))]
        except ValueError as exc:
            raise CLIError(f"--gamma: {exc}") from None
        grid["penalty"], grid["gamma"] = penalty, _one_or_list(checked)
    elif penalty == "adaptive":
        if opts.get("weights") or opts.get("offset"):
            raise CLIError("--penalty adaptive does not take --weights or --offset")
        grid["adaptive"] = True
        if exps is not None:
            if min(exps) < 0 or not all(e < float("inf") for e in exps):
                raise CLIError(f"--adaptive-exponent must be finite numbers >= 0, got "
                               f"{opts['adaptive_exponent']!r}")
            grid["adaptive_exponent"] = _one_or_list(exps)
    if penalty not in ("mcp", "scad") and gammas is not None:
        raise CLIError(f"--gamma applies to --penalty mcp or scad, not {penalty}")
    if penalty != "adaptive" and exps is not None:
        raise CLIError(f"--adaptive-exponent applies to --penalty adaptive, not {penalty}")


def check_fit_options(opts):
    """Validate the numeric options before any work; returns (rule text, l1_ratio, grid)."""
    grid = _check_family_options(opts)
    rule = _parse_rule(opts["rule"])
    l1_ratio = _l1_ratio(opts["penalty"], opts.get("l1_ratio"))
    for name in ("folds", "repeats"):
        if opts[name] < (2 if name == "folds" else 1):
            raise CLIError(f"--{name} must be >= {2 if name == 'folds' else 1}, got {opts[name]}")
    _check_axes(opts, grid)
    if opts.get("n_lams") is not None:
        if opts["n_lams"] < 1:
            raise CLIError(f"--n-lams must be >= 1, got {opts['n_lams']}")
        grid["n_lams"] = opts["n_lams"]
    if opts.get("lam_min_ratio") is not None:
        if not 0.0 < opts["lam_min_ratio"] < 1.0:
            raise CLIError(f"--lam-min-ratio must be strictly between 0 and 1, got "
                           f"{opts['lam_min_ratio']:g}")
        grid["lam_min_ratio"] = opts["lam_min_ratio"]
    return rule, l1_ratio, grid


#: the options of ``shrinkage fit`` (and of the demo's fit), in the order --help lists them
FIT_OPTIONS = [
    click.option("--target", "-t", default=None,
                 help="Column to predict (every family but cox, which takes --time and "
                      "--event)."),
    click.option("--family", default="auto", show_default=True,
                 type=click.Choice(["auto", "gaussian", "binomial", "poisson", "multinomial",
                                    "cox"]),
                 help="auto: class labels -> binomial/multinomial, 2 numeric values -> "
                      "binomial, other numbers -> gaussian; cox: proportional hazards "
                      "(survival times in --time, events in --event)."),
    click.option("--time", default=None,
                 help="--family cox: column of survival (or censoring) times."),
    click.option("--event", default=None,
                 help="--family cox: column of event indicators (1/true = event, "
                      "0/false = censored)."),
    click.option("--start", default=None,
                 help="--family cox: column of entry times (at risk on (start, time]: "
                      "left truncation, time-varying covariates)."),
    click.option("--strata", default=None,
                 help="--family cox: column of strata, each with its own baseline hazard "
                      "(not a feature)."),
    click.option("--ties", default=None, type=click.Choice(["efron", "breslow"]),
                 help="--family cox: handling of tied event times (default efron)."),
    click.option("--penalty", default="lasso", show_default=True,
                 type=click.Choice(["lasso", "ridge", "elasticnet", "mcp", "scad",
                                    "adaptive"]),
                 help="mcp, scad: folded-concave penalties (ncvreg's; less bias on large "
                      "coefficients than the lasso); adaptive: the adaptive lasso (weights "
                      "from a cross-validated ridge fit, refitted inside every fold)."),
    click.option("--gamma", default=None,
                 help="Concavity of --penalty mcp (> 1, default 3) or scad (> 2, default "
                      "3.7); a list such as 2,3,5 is cross-validated with lam (the "
                      "sparsest cell within the rule, ties to the larger gamma; writes "
                      "tuning.csv and tuning.png)."),
    click.option("--adaptive-exponent", default=None,
                 help="Exponent of --penalty adaptive's weights |b|^-exponent (default 1); "
                      "a list such as 0.5,1,2 is cross-validated with lam (ties to the "
                      "smaller exponent), the first stage refitted in every fold."),
    click.option("--l1-ratio", type=float, default=None,
                 help="Mix of L1 in (0, 1) for --penalty elasticnet (default 0.5)."),
    click.option("--folds", default=10, show_default=True, type=int),
    click.option("--repeats", default=1, show_default=True, type=int),
    click.option("--rule", default="1se", show_default=True,
                 help="min, Kse or a number K (the strongest lam within K standard errors of "
                      "the best, e.g. 1se, 1.5se), or R% (within R percent of the best)."),
    click.option("--metric", default=None,
                 help="CV metric (mse, mae, deviance, log_loss, misclassification, accuracy, "
                      "auc, poisson_deviance; for cox: deviance, c_index, uno_c); default: "
                      "the family's deviance."),
    click.option("--n-lams", type=int, default=None,
                 help="Number of lam values on the path (default 100)."),
    click.option("--lam-min-ratio", type=float, default=None,
                 help="Weakest lam as a fraction of lam_max (default 1e-4, 1e-2 when there "
                      "are more features than rows)."),
    click.option("--groups", default=None, help="Column of groups kept within one fold."),
    click.option("--weights", default=None,
                 help="Column of sample weights (>= 0); not a feature."),
    click.option("--offset", default=None,
                 help="Column added to the linear predictor with coefficient 1, e.g. "
                      "log(exposure) for poisson rates; not a feature, and `shrinkage "
                      "predict` needs it in the data too."),
    click.option("--exclude", multiple=True,
                 help="Column(s) to leave out (repeatable, or comma-separated)."),
    click.option("--keep", multiple=True,
                 help="Use this identifier column as a feature (repeatable): columns with "
                      "a different value in every row are left out by default."),
    click.option("--impute", is_flag=True,
                 help="Fill missing values (numeric: mean, categorical: most frequent level) "
                      "and drop rows with a missing target."),
    click.option("--inference", default="none", show_default=True,
                 type=click.Choice(["none", "stability", "selective", "debiased"]),
                 help="Uncertainty of the selection, in the report and inference.csv: "
                      "stability selection, selective inference (by data splitting, as lam "
                      "comes from CV) or debiased-lasso intervals."),
    click.option("--seed", default=0, show_default=True, type=int, help="Seed of the folds."),
    click.option("--factor-groups", is_flag=True,
                 help="Penalise each categorical column's indicators as one group (the "
                      "group lasso): a factor enters or leaves the model as a whole, and "
                      "the lasso no longer depends on which level is the reference."),
    click.option("--force", is_flag=True, help="Overwrite files in --out."),
]


def run_inference(console, enc, opts, rule):
    """The ``--inference`` result on the encoded data, or None."""
    method = opts.get("inference", "none")
    if method == "none":
        return None
    if enc.weights is not None or enc.offset is not None:
        raise CLIError("--inference does not take --weights or --offset")
    from . import inference as inf

    console.print(f"computing {method} inference...")
    X, y, family, seed = enc.X, enc.y, enc.family, opts["seed"]
    if method == "stability":
        return inf.stability_selection(X, y, family, random_state=seed,
                                       feature_names=enc.feature_names)
    if family not in ("gaussian", "binomial", "poisson"):
        raise CLIError(f"--inference {method} covers gaussian, binomial and poisson models; "
                       f"use --inference stability for {family}")
    if method == "selective":
        return inf.selective_lasso(X, y, "cv", family, rule=rule, cv=opts["folds"],
                                   random_state=seed, feature_names=enc.feature_names)
    return inf.debiased_lasso(X, y, family, cv=opts["folds"], random_state=seed,
                              feature_names=enc.feature_names)


def fit_options(f):
    """Decorate the click command ``f`` with every option of :data:`FIT_OPTIONS`."""
    for option in reversed(FIT_OPTIONS):
        f = option(f)
    return f
