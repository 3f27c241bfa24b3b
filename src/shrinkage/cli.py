"""The ``shrinkage`` command: fit, predict, show and demo from the terminal.

``shrinkage fit DATA --target COL`` reads a CSV or Parquet table, encodes it (one-hot for
categorical columns, saying so), cross-validates a regularization path with
:func:`shrinkage.cross_validate`, prints a summary and writes the model file (see
:mod:`shrinkage.io`), the plots and a self-contained ``report.html`` to ``--out``.
``shrinkage predict MODEL DATA`` applies a saved model, ``shrinkage show MODEL`` describes
any shrinkage file, and ``shrinkage demo`` runs the whole workflow on bundled data.

Errors print one line (``error: ...``) and exit with status 1; ``--debug`` shows the
traceback instead. Nothing is ever overwritten without ``--force``.
"""

from __future__ import annotations

import csv
import io as _io
import shlex
import sys
import warnings
from pathlib import Path as FilePath

import click
import numpy as np

from .version import __version__

_OUTPUTS = ("model.npz", "report.html", "path.png", "cv.png", "gap.png", "coefficients.csv")
_PENALTIES = {"lasso": 1.0, "ridge": 0.0, "elasticnet": None}


class CLIError(Exception):
    """An error to report in one line."""


# --------------------------------------------------------------------------- plumbing
class _Group(click.Group):
    """Turns exceptions from commands into one line on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # every failure of a command ends here
            if (ctx.obj or {}).get("debug"):
                raise
            click.echo(f"error: {_message(exc)}", err=True)
            ctx.exit(1)


def _message(exc):
    from .io import ModelFileError
    from .tabular import DataError

    if isinstance(exc, (CLIError, DataError, ModelFileError, FileExistsError)):
        return str(exc)
    if isinstance(exc, (ValueError, TypeError, OSError)):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"


def _set_debug(ctx, _param, value):
    if value:
        ctx.ensure_object(dict)["debug"] = True
    return value


_debug_option = click.option(
    "--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
    help="Show the full traceback on errors.",
)


def _console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shrinkage")
@_debug_option
@click.pass_context
def cli(ctx):
    """shrinkage: regularized GLMs with cross-validated strength, from the terminal.

    Start with `shrinkage demo`.
    """
    ctx.ensure_object(dict)


def main(argv=None):
    """Entry point of the ``shrinkage`` console script."""
    return cli.main(args=argv, prog_name="shrinkage")


# --------------------------------------------------------------------------- fit
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


def _prepare_out(out, force):
    out = FilePath(out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a directory")
    taken = [name for name in _OUTPUTS if (out / name).exists()]
    if taken and not force:
        raise CLIError(
            f"{out} already holds {', '.join(taken)}; pass --force to overwrite, or choose "
            "another --out"
        )
    return out


def _l1_ratio(penalty, l1_ratio):
    if penalty == "elasticnet":
        value = 0.5 if l1_ratio is None else l1_ratio
        if not 0.0 < value < 1.0:
            raise CLIError(f"--l1-ratio must be strictly between 0 and 1, got {value}")
        return value
    if l1_ratio is not None:
        raise CLIError(f"--l1-ratio applies to --penalty elasticnet, not {penalty}")
    return _PENALTIES[penalty]


def _command_line(data, opts):
    parts = ["shrinkage", "fit", str(data), "--target", opts["target"],
             "--family", opts["family"], "--penalty", opts["penalty"]]
    if opts["penalty"] == "elasticnet":
        parts += ["--l1-ratio", f"{opts['l1_ratio']:g}"]
    parts += ["--folds", str(opts["folds"]), "--repeats", str(opts["repeats"]),
              "--rule", str(opts["rule"]), "--seed", str(opts["seed"])]
    if opts.get("metric"):
        parts += ["--metric", opts["metric"]]
    if opts.get("groups"):
        parts += ["--groups", opts["groups"]]
    for col in opts.get("exclude", ()):
        parts += ["--exclude", col]
    if opts.get("impute"):
        parts.append("--impute")
    parts += ["--out", str(opts["out"])]
    return " ".join(shlex.quote(p) for p in parts)


def _cross_validate(console, enc, *, l1_ratio, folds, repeats, rule, metric, seed):
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .tuning.cv import cross_validate

    what = f"{folds}-fold CV" + (f" x {repeats} repeats" if repeats > 1 else "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # cross_validate reports no per-fold progress, so the bar pulses (indeterminate)
        # while the folds run, and completes when they are done.
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task(f"fitting the path and {what}", total=None)
            cv, path = cross_validate(
                enc.X, enc.y, family=enc.family, l1_ratio=l1_ratio, cv=folds,
                repeats=repeats, groups=enc.groups, metric=metric, rule=rule,
                random_state=seed, return_path=True, feature_names=enc.feature_names,
            )
            progress.update(task, total=1, completed=1)
    for w in {str(w.message) for w in caught}:
        console.print(f"warning: {w}")
    return cv, path


def _codes(enc, classes):
    if classes is None:
        return np.asarray(enc.y, dtype=float)
    return np.searchsorted(np.asarray(classes), enc.y).astype(float)


def _write_bytes(target, data, force):
    from .io import atomic_write

    atomic_write(target, lambda fh: fh.write(data), overwrite=force)


def _coef_csv(model):
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    coef = model.coef
    if coef.ndim == 1:
        w.writerow(["feature", "coefficient"])
        w.writerow(["(intercept)", repr(float(model.intercept))])
        for name, b in zip(model.feature_names, coef):
            w.writerow([name, repr(float(b))])
    else:
        w.writerow(["feature"] + [f"class_{c}" for c in model.classes])
        w.writerow(["(intercept)"] + [repr(float(v)) for v in model.intercept])
        for name, row in zip(model.feature_names, coef):
            w.writerow([name] + [repr(float(v)) for v in row])
    return buf.getvalue().encode("utf-8")


def _fmt(v):
    return f"{float(v):.4g}"


def _summary_tables(console, model, n_rows, source):
    from rich.table import Table

    cv, path = model.cv, model.path
    nnz = cv.nnz if cv.nnz is not None else path.nnz
    # Headings are printed as lines: a table title would wrap at the table's width.
    console.print(f"shrinkage fit: {model.family}, l1_ratio={path.l1_ratio:g}, {source} "
                  f"({n_rows} rows, {path.n_features} features)")
    t = Table()
    t.add_column("")
    t.add_column("lam", justify="right")
    t.add_column(f"CV {cv.metric}", justify="right")
    t.add_column("+- SE", justify="right")
    t.add_column("non-zero", justify="right")
    for label, i in (("lam_min", cv.index_min), (f"chosen ({cv.rule})", cv.index_chosen)):
        t.add_row(label, _fmt(cv.lams[i]), _fmt(cv.mean[i]), _fmt(cv.se[i]), str(int(nnz[i])))
    console.print(t)
    rep = cv.extra.get("repeat_lam_chosen")
    if rep is not None and np.size(rep) > 1:
        console.print(f"chosen lam over {np.size(rep)} CV repeats: from {_fmt(np.min(rep))} to "
                      f"{_fmt(np.max(rep))} (median {_fmt(np.median(rep))})")

    coef = model.coef
    size = np.abs(coef) if coef.ndim == 1 else np.sqrt(np.sum(coef**2, axis=1))
    order = [j for j in np.argsort(-size, kind="stable") if size[j] > 0][:10]
    c = Table()
    c.add_column("feature")
    if coef.ndim == 1:
        c.add_column("coefficient", justify="right")
        for j in order:
            c.add_row(model.feature_names[j], _fmt(coef[j]))
    else:
        for k in model.classes:
            c.add_column(f"class {k}", justify="right")
        for j in order:
            c.add_row(model.feature_names[j], *[_fmt(v) for v in coef[j]])
    if order:
        console.print("largest coefficients at the chosen lam (original scale)")
        console.print(c)
    else:
        console.print("no coefficient is non-zero at the chosen lam (intercept-only model)")


def _run_fit(console, data, opts, *, title="shrinkage report", overfit=False):
    from . import io as sio
    from .report import build_report, render_figures
    from .tabular import TabularModel, describe_columns, encode_for_fit, read_table

    rule = _parse_rule(opts["rule"])
    l1_ratio = _l1_ratio(opts["penalty"], opts.get("l1_ratio"))
    opts = {**opts, "l1_ratio": l1_ratio}
    for name in ("folds", "repeats"):
        if opts[name] < (2 if name == "folds" else 1):
            raise CLIError(f"--{name} must be >= {2 if name == 'folds' else 1}, got {opts[name]}")
    out = _prepare_out(opts["out"], opts["force"])
    table = read_table(data)
    enc = encode_for_fit(table, opts["target"], family=opts["family"],
                         exclude=opts["exclude"], groups=opts["groups"], impute=opts["impute"])
    for note in enc.notes:
        console.print(f"note: {note}")
    if opts["family"] == "auto":
        console.print(f"note: family auto -> {enc.family}")
    if opts["metric"] is not None:
        from .tuning.metrics import check_metric

        check_metric(opts["metric"], enc.family)  # fail before anything is written
    command = _command_line(data, opts)
    cv, path = _cross_validate(console, enc, l1_ratio=l1_ratio, folds=opts["folds"],
                               repeats=opts["repeats"], rule=rule, metric=opts["metric"],
                               seed=opts["seed"])
    classes = cv.extra.get("classes")
    model = TabularModel(
        path=path, cv=cv, target=opts["target"], family=enc.family, columns=enc.columns,
        classes=None if classes is None else np.asarray(classes, dtype=str),
        notes=list(enc.notes), command=command,
        extra={"source": FilePath(data).name, "n_rows": int(enc.X.shape[0])},
    )
    _summary_tables(console, model, enc.X.shape[0], FilePath(data).name)

    # Everything is rendered before the first file is written, so a failure leaves no
    # half-written output directory behind.
    force = opts["force"]
    y_codes = _codes(enc, model.classes)
    images = render_figures(path, cv, enc.X, y_codes, overfit=overfit)
    html = build_report(
        path, cv, X=enc.X, y=y_codes, title=title, images=images, notes=enc.notes,
        columns=describe_columns(table),
        data={"source": FilePath(data).name, "target": opts["target"],
              "rows used": enc.X.shape[0]},
        command=command,
    )
    out.mkdir(parents=True, exist_ok=True)
    sio.save(model, out / "model.npz", overwrite=force, info={"command": command})
    for name in ("path", "cv", "gap"):
        _write_bytes(out / f"{name}.png", images[name], force)
    _write_bytes(out / "coefficients.csv", _coef_csv(model), force)
    _write_bytes(out / "report.html", html.encode("utf-8"), force)
    console.print(f"wrote {', '.join(_OUTPUTS)} to {out}")
    return model, out


_FIT_OPTIONS = [
    click.option("--target", "-t", required=True, help="Column to predict."),
    click.option("--family", default="auto", show_default=True,
                 type=click.Choice(["auto", "gaussian", "binomial", "poisson", "multinomial"]),
                 help="auto: class labels -> binomial/multinomial, 2 numeric values -> "
                      "binomial, other numbers -> gaussian."),
    click.option("--penalty", default="lasso", show_default=True,
                 type=click.Choice(["lasso", "ridge", "elasticnet"])),
    click.option("--l1-ratio", type=float, default=None,
                 help="Mix of L1 in (0, 1) for --penalty elasticnet (default 0.5)."),
    click.option("--folds", default=10, show_default=True, type=int),
    click.option("--repeats", default=1, show_default=True, type=int),
    click.option("--rule", default="1se", show_default=True,
                 help="min, Kse or a number K (the strongest lam within K standard errors of "
                      "the best, e.g. 1se, 1.5se), or R% (within R percent of the best)."),
    click.option("--metric", default=None,
                 help="CV metric (mse, mae, deviance, log_loss, misclassification, accuracy, "
                      "auc, poisson_deviance); default: the family's deviance."),
    click.option("--groups", default=None, help="Column of groups kept within one fold."),
    click.option("--exclude", multiple=True,
                 help="Column(s) to leave out (repeatable, or comma-separated)."),
    click.option("--impute", is_flag=True,
                 help="Fill missing values (numeric: mean, categorical: most frequent level) "
                      "and drop rows with a missing target."),
    click.option("--seed", default=0, show_default=True, type=int, help="Seed of the folds."),
    click.option("--force", is_flag=True, help="Overwrite files in --out."),
]


def _fit_options(f):
    for option in reversed(_FIT_OPTIONS):
        f = option(f)
    return f


@cli.command(short_help="Cross-validate a regularized GLM on a CSV or Parquet file.")
@click.argument("data")
@_fit_options
@click.option("--out", default="shrinkage-out", show_default=True,
              help="Directory for model.npz, plots and report.html.")
@_debug_option
def fit(data, **opts):
    """Cross-validate a regularized GLM on DATA (CSV or Parquet) and write the results."""
    exclude = []
    for item in opts["exclude"]:
        exclude.extend(c.strip() for c in item.split(",") if c.strip())
    opts["exclude"] = exclude
    _run_fit(_console(), data, opts)


# --------------------------------------------------------------------------- predict
def _load_model(model_path):
    from . import io as sio
    from .tabular import TabularModel

    obj = sio.load(model_path)
    if not isinstance(obj, TabularModel):
        raise CLIError(
            f"{model_path} holds a {type(obj).__name__}, not a model written by "
            "`shrinkage fit`"
        )
    return obj


@cli.command(short_help="Predict a table with a saved model.")
@click.argument("model")
@click.argument("data")
@click.option("--out", "out_file", default=None, help="CSV file for the predictions "
              "(default: standard output).")
@click.option("--impute", is_flag=True, help="Fill missing values with the training fill values.")
@click.option("--force", is_flag=True, help="Overwrite --out.")
@_debug_option
def predict(model, data, out_file, impute, force):
    """Predict DATA (CSV or Parquet) with MODEL (a model.npz from `shrinkage fit`)."""
    from .tabular import read_table

    m = _load_model(model)
    preds = m.predict_table(read_table(data), impute=impute)
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(preds)
    w.writerow(names)
    for row in zip(*(preds[n] for n in names)):
        w.writerow([v if isinstance(v, str) else repr(float(v)) for v in row])
    text = buf.getvalue()
    if out_file is None:
        click.echo(text, nl=False)
        return
    target = FilePath(out_file)
    if target.exists() and not force:
        raise CLIError(f"{target} already exists; pass --force to overwrite")
    _write_bytes(target, text.encode("utf-8"), force)
    _console(stderr=True).print(f"wrote {len(next(iter(preds.values())))} predictions to {target}")


# --------------------------------------------------------------------------- show
@cli.command(short_help="Describe a model or result file.")
@click.argument("model")
@_debug_option
def show(model):
    """Describe MODEL: any file written by shrinkage (a fitted model or a result)."""
    from . import io as sio
    from .results import CVResult, Path, SweepResult
    from .tabular import TabularModel

    meta = sio.read_metadata(model)
    obj = sio.load(model)
    console = _console()
    console.print(f"{model}: {meta['kind']} (file format {meta['format_version']}, written by "
                  f"shrinkage {meta['library_version']})")
    if isinstance(obj, TabularModel):
        _summary_tables(console, obj, obj.extra.get("n_rows", "?"),
                        obj.extra.get("source", "data"))
        for note in obj.notes:
            console.print(f"note: {note}")
        console.print(f"command: {obj.command}")
    elif isinstance(obj, Path):
        console.print(obj.summary())
    elif isinstance(obj, CVResult):
        console.print(f"CV {obj.metric} over {len(obj.lams)} lams, rule {obj.rule}: "
                      f"lam_min = {_fmt(obj.lam_min)}, chosen lam = {_fmt(obj.lam_chosen)}")
    elif isinstance(obj, SweepResult):
        console.print(f"sweep of {obj.knob} over {len(obj.values)} values and "
                      f"{len(obj.seeds)} seeds, rule {obj.rule}: best = "
                      f"{_fmt(obj.value_min)}, chosen = {_fmt(obj.value_chosen)}")
    elif hasattr(obj, "get_params"):
        console.print(repr(obj))


# --------------------------------------------------------------------------- demo
def _free_dir(base):
    base = FilePath(base)
    if not base.exists():
        return base
    for i in range(1, 1000):
        cand = base.with_name(f"{base.name}-{i}")
        if not cand.exists():
            return cand
    raise CLIError(f"could not find a free directory name next to {base}")


@cli.command(short_help="Run the whole workflow on bundled data.")
@click.option("--out", default=None,
              help="Directory to write to (default: a fresh ./shrinkage-demo[-N]).")
@click.option("--folds", default=10, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Overwrite files in --out.")
@_debug_option
def demo(out, folds, force):
    """The whole workflow on bundled data (the diabetes study), no arguments needed."""
    from .datasets import load_diabetes
    from .io import atomic_write

    console = _console()
    out = _free_dir("shrinkage-demo") if out is None else FilePath(out)
    _prepare_out(out, force)
    out.mkdir(parents=True, exist_ok=True)
    d = load_diabetes()
    data = out / "diabetes.csv"
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(d.feature_names) + [d.target_name])
    for row, target in zip(d.X, d.y):
        w.writerow([repr(float(v)) for v in row] + [repr(float(target))])
    atomic_write(data, lambda fh: fh.write(buf.getvalue().encode("utf-8")), overwrite=True)
    console.print(f"{d.description}\nwrote the data to {data}")
    opts = {"target": d.target_name, "family": "gaussian", "penalty": "lasso",
            "l1_ratio": None, "folds": folds, "repeats": 1, "rule": "1se", "metric": None,
            "groups": None, "exclude": [], "impute": False, "seed": 0, "force": force,
            "out": out}
    model, out = _run_fit(console, data, opts, title="shrinkage demo: diabetes progression",
                          overfit=True)
    console.print(f"open {out / 'report.html'} in a browser; the same fit from the "
                  f"command line (add --force or change --out to run it again):\n"
                  f"  {model.command}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
