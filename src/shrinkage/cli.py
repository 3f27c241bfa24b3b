"""The ``shrinkage`` command: fit, predict, show and demo from the terminal.

``shrinkage fit DATA --target COL`` reads a CSV or Parquet table, encodes it (one-hot for
categorical columns, saying so), cross-validates a regularization path with
:func:`shrinkage.cross_validate`, prints a summary and writes the model file (see
:mod:`shrinkage.io`), the plots and a self-contained ``report.html`` to ``--out``; with
``--family cox --time COL --event COL`` it fits a penalized Cox model to survival data
(``shrinkage.tabular_survival``) and the report shows its risk groups.
``shrinkage predict MODEL DATA`` applies a saved model, ``shrinkage show MODEL`` describes
any shrinkage file, and ``shrinkage demo`` runs the whole workflow on bundled data.

Errors print one line (``error: ...``) and exit with status 1; ``--debug`` shows the
traceback instead. Nothing is ever overwritten without ``--force``, and a run is written
into a temporary folder and swapped in whole (:mod:`shrinkage.cli_output`), so ``--out``
holds one complete run even when a run is interrupted.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from pathlib import Path as FilePath

import click
import numpy as np

from .cli_blocked import blocked_options, fit_blocked
from .cli_options import CLIError, check_fit_options, fit_options, run_inference
from .cli_output import OUTPUTS, OutputError
from .version import __version__


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

    if isinstance(exc, (CLIError, DataError, ModelFileError, FileExistsError, OutputError)):
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
def _cross_validate(console, enc, *, l1_ratio, folds, repeats, rule, metric, seed, grid,
                    factor_groups=False):
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .cli_output import kernels_need_compiling
    from .cli_tuning import choose_fit

    if kernels_need_compiling():
        click.echo("compiling numerical kernels (first run only)...", err=True)

    if factor_groups:
        from .tabular_encode import factor_labels

        grid = {**grid, "feature_groups": np.asarray(factor_labels(enc.columns))}
    what = f"{folds}-fold CV" + (f" x {repeats} repeats" if repeats > 1 else "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # cross_validate reports no per-fold progress, so the bar pulses (indeterminate)
        # while the folds run, and completes when they are done.
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task(f"fitting the path and {what}", total=None)
            fit, grid = choose_fit(grid, l1_ratio)  # the lam axis, or a 2-D grid
            cv, path = fit(
                enc.X, enc.y, family=enc.family, cv=folds,
                repeats=repeats, groups=enc.groups, metric=metric, rule=rule,
                random_state=seed, return_path=True, feature_names=enc.feature_names,
                sample_weight=enc.weights, offset=enc.offset, **grid,
            )
            progress.update(task, total=1, completed=1)
    for w in {str(w.message) for w in caught}:
        console.print(f"warning: {w}")
    from .tuning.extension import extension_note

    extended = extension_note(getattr(cv, "extra", None))
    if extended:  # the path reaches beyond the --lam-min-ratio the user gave
        console.print(f"note: {extended} The path runs from lam = {_fmt(path.lams.max())} "
                      f"to {_fmt(path.lams.min())}.", soft_wrap=True)
    from .tuning.held_out_stop import stop_note

    cut = stop_note(cv) if hasattr(cv, "metric") else ""  # (a CVResult: one lam axis)
    if cut:
        console.print(f"note: {cut}", soft_wrap=True)
    return cv, path


def _codes(enc, classes):
    if classes is None:
        return np.asarray(enc.y, dtype=float)
    return np.searchsorted(np.asarray(classes), enc.y).astype(float)


def _write_bytes(target, data, force):
    from .io import atomic_write

    atomic_write(target, lambda fh: fh.write(data), overwrite=force)


def _fmt(v):
    return f"{float(v):.4g}"


def _encode(console, data, opts):
    """Read and encode the table; returns (encoding, column summary). The table itself is
    dropped here: only the design matrix is kept through the fit."""
    from .tabular import describe_columns, encode_for_fit, read_table

    table = read_table(data)
    columns = describe_columns(table)
    roles = dict(exclude=opts["exclude"], groups=opts["groups"], impute=opts["impute"],
                 keep=opts.get("keep", ()), weights=opts.get("weights"),
                 offset=opts.get("offset"))
    if opts["family"] == "cox":
        from .tabular_survival import SurvivalColumns, encode_survival

        cols = SurvivalColumns(opts["time"], opts["event"], opts.get("start"),
                               opts.get("strata"))
        enc = encode_survival(table, cols, **roles)
    else:
        enc = encode_for_fit(table, opts["target"], family=opts["family"], **roles)
    del table
    for note in enc.notes:
        console.print(f"note: {note}")
    if opts["family"] == "auto":
        console.print(f"note: family auto -> {enc.family}")
    if opts["metric"] is not None:
        from .tuning.metrics import check_metric

        check_metric(opts["metric"], enc.family)  # fail before anything is written
    return enc, columns


def _survival(enc, opts, path, cv, grid):
    """For a Cox fit: the report's survival facts and figure, and what the model file
    keeps (the survival columns, the baseline hazard of the chosen fit); else Nones."""
    if enc.family != "cox":
        return None, {}
    from .report.survival_section import survival_report

    surv = survival_report(path, cv, enc.X, enc.y, ties=grid["ties"],
                           sample_weight=enc.weights, offset=enc.offset,
                           strata_name=opts.get("strata"))
    keep = {role: opts.get(role) for role in ("time", "event", "start", "strata")}
    return surv, {"survival": {**keep, "ties": grid["ties"], "c_index": surv["c_index"],
                               "strata_levels": list(enc.strata_levels),
                               "baseline_hazard": surv["baseline"]}}


def _facts(name, enc, opts, n_used):
    """The data rows of the report: source, the target or survival columns, rows."""
    if enc.family == "cox":
        roles = {role: opts[role] for role in ("time", "event", "start", "strata")
                 if opts.get(role)}
    else:
        roles = {"target": opts["target"]}
    facts = {"source": name.name, **roles, "rows read": enc.n_read, "rows used": n_used}
    for role in ("weights", "offset"):
        if opts.get(role):
            facts[f"{role} column"] = opts[role]
    return facts


def _run_fit(console, data, opts, *, title=None, overfit=False, extra_files=None,
             data_name=None):
    """Fit, summarise and write one run; ``extra_files`` (name -> bytes) join the outputs
    and ``data_name`` is how the command line names the data (the demo's copy)."""
    import dataclasses

    from .cli_output import check_out, command_line, staged_output, summary_tables, write_run
    from .cli_tuning import tuning_outputs
    from .report import build_report, feature_sds, render_figures
    from .tabular import TabularModel

    rule, l1_ratio, grid = check_fit_options(opts)
    opts = {**opts, "l1_ratio": l1_ratio}
    known = OUTPUTS + tuple(extra_files or ())
    out = check_out(opts["out"], opts["force"], known)
    enc, columns = _encode(console, data, opts)
    name = FilePath(data_name or data)
    command = command_line(name, opts)
    cv, path = _cross_validate(console, enc, l1_ratio=l1_ratio, folds=opts["folds"],
                               repeats=opts["repeats"], rule=rule, metric=opts["metric"],
                               seed=opts["seed"], grid=grid,
                               factor_groups=bool(opts.get("factor_groups")))
    sd = feature_sds(enc.X, enc.weights)
    path = dataclasses.replace(path, extra={**path.extra, "feature_sd": sd})
    classes = cv.extra.get("classes")
    n_used = int(enc.X.shape[0])
    survival, survival_extra = _survival(enc, opts, path, cv, grid)
    model = TabularModel(
        path=path, cv=cv, target=opts.get("target") or opts.get("time"), family=enc.family,
        columns=enc.columns, classes=None if classes is None else np.asarray(classes, dtype=str),
        notes=list(enc.notes), command=command,
        extra={"source": name.name, "n_rows": n_used, "n_rows_read": enc.n_read,
               **survival_extra},
        weights=opts.get("weights"), offset=opts.get("offset"),
    )
    summary_tables(console, model, n_used, name.name)

    y_codes = None if survival else _codes(enc, model.classes)
    images = render_figures(path, cv, enc.X, y_codes, overfit=overfit, offset=enc.offset,
                            sample_weight=enc.weights)
    images, extra_files = tuning_outputs(cv, images, extra_files)  # --gamma 2,3,5
    if survival:
        images["survival"] = survival["image"]
    inference = run_inference(console, enc, opts, rule)
    if inference is not None:
        from .cli_output import csv_bytes
        from .report import render_inference_figure
        from .report.inference_section import inference_csv_rows

        images["inference"] = render_inference_figure(inference)
        extra_files = {**(extra_files or {}), "inference.csv": csv_bytes(
            *inference_csv_rows(inference))}
    html = build_report(
        path, cv, X=enc.X, y=y_codes, title=title or f"{name.stem}: shrinkage report",
        images=images, notes=enc.notes, columns=columns,
        data=_facts(name, enc, opts, n_used), command=command, offset=enc.offset,
        sample_weight=enc.weights, inference=inference, survival=survival,
    )
    with staged_output(out, opts["force"], known) as stage:
        write_run(stage, model, images, html, extra_files)
    written = [n for n in known if (out / n).exists()]
    console.print(f"wrote {', '.join(written)} to {out}", soft_wrap=True)
    return model, out

@cli.command(short_help="Cross-validate a regularized GLM on a CSV or Parquet file.")
@click.argument("data")
@fit_options
@click.option("--out", default="shrinkage-out", show_default=True,
              help="Directory for model.npz, plots and report.html.")
@blocked_options
@_debug_option
def fit(data, **opts):
    """Cross-validate a regularized GLM on DATA (a CSV or Parquet file, or a glob or
    folder of them) and write the results."""
    exclude = []
    for item in opts["exclude"]:
        exclude.extend(c.strip() for c in item.split(",") if c.strip())
    opts["exclude"] = exclude
    opts["keep"] = list(opts["keep"])
    if not fit_blocked(_console(), data, opts):  # many files larger than memory
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
    from .cli_output import predictions_csv
    from .tabular import read_table

    m = _load_model(model)
    # a categorical column is read as text even where every cell looks like a number
    as_text = {c["name"] for c in m.columns if c.get("kind") == "categorical"}
    preds = m.predict_table(read_table(data, as_text), impute=impute)
    text = predictions_csv(preds)
    if out_file is None:
        click.echo(text.decode("utf-8"), nl=False)
        return
    target = FilePath(out_file)
    if target.is_dir():  # (--force cannot replace a folder by a file)
        raise CLIError(f"--out {target} is a directory; give a file name for the "
                       f"predictions (for instance {target / 'predictions.csv'})")
    if target.exists() and not force:
        raise CLIError(f"{target} already exists; pass --force to overwrite")
    _write_bytes(target, text, force)
    _console(stderr=True).print(
        f"wrote {len(next(iter(preds.values())))} predictions to {target}", soft_wrap=True)


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
    # soft_wrap: a path or a command broken by an inserted newline cannot be copied back
    console.print(f"{model}: {meta['kind']} (file format {meta['format_version']}, written by "
                  f"shrinkage {meta['library_version']})", soft_wrap=True)
    if isinstance(obj, TabularModel):
        from .cli_output import summary_tables

        summary_tables(console, obj, obj.extra.get("n_rows", "?"),
                       obj.extra.get("source", "data"))
        for note in obj.notes:
            console.print(f"note: {note}")
        if obj.offset is not None:
            console.print(f"offset column: {obj.offset} (the data to predict must have it)")
        if obj.weights is not None:
            console.print(f"weights column: {obj.weights}")
        console.print(f"command: {obj.command}", soft_wrap=True)
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
    from .cli_output import check_out, csv_bytes
    from .datasets import load_diabetes

    console = _console()
    out = _free_dir("shrinkage-demo") if out is None else FilePath(out)
    check_out(out, force, OUTPUTS + ("diabetes.csv",))
    d = load_diabetes()
    csv_text = csv_bytes(list(d.feature_names) + [d.target_name],
                         ([float(v) for v in row] + [float(t)] for row, t in zip(d.X, d.y)))
    console.print(d.description)
    console.print(f"the data go to {out / 'diabetes.csv'}", soft_wrap=True)
    opts = {"target": d.target_name, "family": "gaussian", "penalty": "lasso",
            "l1_ratio": None, "folds": folds, "repeats": 1, "rule": "1se", "metric": None,
            "groups": None, "exclude": [], "impute": False, "seed": 0, "force": force,
            "out": out}
    # The fit reads a private copy; the data file joins the other outputs in one swap.
    scratch = FilePath(tempfile.mkdtemp(prefix="shrinkage-demo-"))
    try:
        (scratch / "diabetes.csv").write_bytes(csv_text)
        model, out = _run_fit(console, scratch / "diabetes.csv", opts,
                              title="shrinkage demo: diabetes progression", overfit=True,
                              extra_files={"diabetes.csv": csv_text},
                              data_name=out / "diabetes.csv")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    console.print(f"open {out / 'report.html'} in a browser; the same fit from the "
                  f"command line (add --force or change --out to run it again):\n"
                  f"  {model.command}", soft_wrap=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
