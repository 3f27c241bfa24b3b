"""``shrinkage fit`` on many files, block by block (:mod:`shrinkage.distributed`).

``shrinkage fit 'data/*.parquet' --target y`` takes a glob or a folder of Parquet or CSV
files. When their data (rows x columns x 8 bytes, from the Parquet footers, or the CSV
text) fit in ``--memory-share`` of this machine's memory, they are read into one table
and fitted in memory, as a single file is. Otherwise, or whenever ``--scheduler`` is
given, they are fitted block by block (one block per file) by
:func:`shrinkage.distributed.cross_validate`: a first pass finds the columns' kinds and
levels (:mod:`shrinkage.tabular_blocked`), then each pass over the files is one
reduction, on a ``LocalCluster`` of this machine by default, on the scheduler at
``--scheduler ADDRESS``, or in this process (``synchronous``, ``threads``). A counter on
standard error follows the blocks of each pass. The outputs are those of the in-memory
route (model file, coefficients, path and CV plots, report), except the overfitting-gap
plot, which needs the rows in memory.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path as FilePath

import click
import numpy as np

from .cli_options import CLIError

__all__ = ["blocked_options", "fit_blocked", "memory_bytes", "BlockCounter"]

#: Schedulers that run in this process (anything else is a scheduler's address).
IN_PROCESS = ("synchronous", "threads")

BLOCKED_OPTIONS = [
    click.option("--scheduler", default=None,
                 help="Fit many files block by block on this Dask scheduler: an ADDRESS "
                      "(tcp://host:8786), local (a LocalCluster here), synchronous or "
                      "threads. Default: local when the data exceed --memory-share of "
                      "memory, else the files are read and fitted in memory."),
    click.option("--memory-share", type=float, default=0.5, show_default=True,
                 help="Share of this machine's memory that data read in memory may take "
                      "(also the memory of a local cluster's workers, together)."),
]


def blocked_options(f):
    """Decorate ``shrinkage fit`` with ``--scheduler`` and ``--memory-share``."""
    for option in reversed(BLOCKED_OPTIONS):
        f = option(f)
    return f


def memory_bytes():
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def fit_blocked(console, data, opts):
    """Fit ``data`` block by block when it should be (module docstring) and return True;
    return False to leave it to the in-memory route. Removes ``scheduler`` and
    ``memory_share`` from ``opts``."""
    from .tabular_blocked import data_bytes, is_many, list_files

    scheduler = opts.pop("scheduler", None)
    share = opts.pop("memory_share", 0.5)
    if not 0.0 < share <= 1.0:
        raise CLIError(f"--memory-share must be in (0, 1], got {share:g}")
    if scheduler is None and not is_many(data):
        return False
    files = list_files(data) if is_many(data) else [os.fspath(data)]
    if not os.path.isfile(files[0]):
        raise CLIError(f"no such file: {data}")
    if scheduler is None:
        size, memory = data_bytes(files), memory_bytes()
        if size <= share * memory:
            return False
        console.print(f"note: the data ({size / 2**30:.3g} GiB as float64) exceed "
                      f"{share:g} of memory ({memory / 2**30:.3g} GiB): fitting block by "
                      "block on a local Dask cluster")
        scheduler = "local"
    _check_options(opts)
    with _scheduler(scheduler, share) as sched:
        _run(console, data, files, opts, sched, scheduler)
    return True


def _check_options(opts):
    refused = {f"--penalty {opts['penalty']}": opts["penalty"] in ("mcp", "scad", "adaptive"),
               "--groups": bool(opts.get("groups")),
               "--repeats": opts.get("repeats", 1) != 1,
               "--factor-groups": bool(opts.get("factor_groups")),
               f"--inference {opts.get('inference')}": opts.get("inference", "none") != "none"}
    for option, given in refused.items():
        if given:
            raise CLIError(f"{option} is not supported when fitting files block by block "
                           "(gaussian, binomial, poisson, multinomial and cox with lasso, "
                           "ridge or elasticnet are); fit a sample of the data in memory")


@contextlib.contextmanager
def _scheduler(name, share):
    """The ``scheduler`` argument of the passes: a name in this process, or None with a
    client connected (a ``LocalCluster`` started here, or the scheduler at an address)."""
    if name in IN_PROCESS:
        yield name
        return
    try:
        import distributed
    except ImportError:
        raise CLIError("--scheduler needs dask.distributed: pip install "
                       "'shrinkage[dask]'") from None
    if name == "local":
        workers = max(1, min(os.cpu_count() or 1, 4))
        limit = int(share * memory_bytes() / workers)
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                      memory_limit=limit, dashboard_address=None,
                                      processes=True) as cluster, \
                distributed.Client(cluster) as client:
            with client.as_current():
                yield None
        return
    try:
        client = distributed.Client(name, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CLIError(f"could not connect to the Dask scheduler at {name!r}: {exc}") \
            from None
    with client, client.as_current():
        yield None


class BlockCounter:
    """``progress(pass_number, blocks_done, n_blocks)``: on a terminal one line per pass,
    rewritten as blocks finish; otherwise (a log) a line when one of the first three
    passes, or every tenth, completes (a binomial path takes a few hundred passes)."""

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, pass_number, done, total):
        text = f"pass {pass_number}: {done}/{total} blocks"
        if self.live:
            self.stream.write("\r" + text + ("\n" if done == total else ""))
        elif done == total and (pass_number <= 3 or pass_number % 10 == 0):
            self.stream.write(text + "\n")
        self.stream.flush()


def _compute(scheduler):
    import dask

    def compute(tasks):
        return list(dask.compute(*tasks, scheduler=scheduler))

    return compute


def _run(console, data, files, opts, scheduler, scheduler_name):
    from .cli_options import check_fit_options
    from .cli_output import (
        OUTPUTS,
        check_out,
        command_line,
        staged_output,
        summary_tables,
        write_run,
    )
    from .tabular_blocked import blocked_design

    rule, l1_ratio, grid = check_fit_options(opts)
    opts = {**opts, "l1_ratio": l1_ratio}
    out = check_out(opts["out"], opts["force"], OUTPUTS)
    console.print(f"reading {len(files)} files block by block ({scheduler_name} "
                  "scheduler); first pass: column kinds and levels")
    if opts["family"] == "cox":  # the survival columns: a second block per file
        from .tabular_blocked_survival import survival_design as blocked_design
    design = blocked_design(files, opts, _compute(scheduler))
    for note in design.notes:
        console.print(f"note: {note}")
    if opts["family"] == "auto":
        console.print(f"note: family auto -> {design.family}")
    if opts["metric"] is not None:
        from .tuning.metrics import check_metric

        check_metric(opts["metric"], design.family)
    cv, path = _cross_validate(design, opts, rule, l1_ratio, grid, scheduler)
    name = FilePath(data)
    command = command_line(name, opts)
    if scheduler_name != "local":
        command = command.replace(" --out ", f" --scheduler {shlex.quote(scheduler_name)}"
                                  " --out ", 1)
    model = _model(design, path, cv, opts, command, name)
    n_used = int(design.X.shape[0])
    summary_tables(console, model, n_used, name.name)
    html, images = _report(design, path, cv, command, name, n_used, opts)
    with staged_output(out, opts["force"], OUTPUTS) as stage:
        write_run(stage, model, images, html)
    written = [n for n in OUTPUTS if (out / n).exists()]
    console.print(f"wrote {', '.join(written)} to {out}", soft_wrap=True)
    return model


def _cross_validate(design, opts, rule, l1_ratio, grid, scheduler):
    import dataclasses
    import warnings

    from . import distributed as dist

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cv, path = dist.cross_validate(
            design.X, design.y, design.family, l1_ratio=l1_ratio, cv=opts["folds"],
            metric=opts["metric"], rule=rule, random_state=opts["seed"], return_path=True,
            scheduler=scheduler, progress=BlockCounter(), feature_names=design.feature_names,
            sample_weight=design.weights, offset=design.offset, **grid,
            **({"strata": design.strata} if design.family == "cox" else {}))
    for w in {str(w.message) for w in caught}:
        click.echo(f"warning: {w}", err=True)
    if design.classes is not None:
        classes = np.asarray(design.classes, dtype=str)
        path = dataclasses.replace(path, classes=classes)
        cv.extra["classes"] = classes
    return cv, path


def _model(design, path, cv, opts, command, name):
    from .tabular import TabularModel

    n_used = int(design.X.shape[0])
    return TabularModel(
        path=path, cv=cv, target=opts["target"] or opts.get("time"), family=design.family,
        columns=design.columns,
        classes=None if design.classes is None else np.asarray(design.classes, dtype=str),
        notes=list(design.notes), command=command,
        extra={"source": name.name, "n_rows": n_used, "n_rows_read": design.n_read,
               "files": len(design.files), "passes": int(path.extra.get("passes", 0)),
               **_survival_extra(design, opts)},
        weights=opts.get("weights"), offset=opts.get("offset"))


def _survival_extra(design, opts):
    """What the model file keeps of a Cox fit: its survival columns and ties (no
    baseline hazard: that needs the rows in memory)."""
    if design.family != "cox":
        return {}
    keep = {role: opts.get(role) for role in ("time", "event", "start", "strata")}
    return {"survival": {**keep, "ties": opts.get("ties") or "efron",
                         "strata_levels": list(design.strata_levels)}}


def _report(design, path, cv, command, name, n_used, opts):
    from .report import build_report, render_figures

    images = render_figures(path, cv)
    facts = {"source": name.name, "target": opts["target"] or opts.get("time"),
             "files": len(design.files),
             "rows read": design.n_read, "rows used": n_used,
             "passes over the data": int(path.extra.get("passes", 0))}
    for role in ("weights", "offset"):
        if opts.get(role):
            facts[f"{role} column"] = opts[role]
    notes = list(design.notes) + ["fitted block by block (one block per file); the "
                                  "overfitting-gap plot needs the rows in memory and is "
                                  "left out"]
    html = build_report(path, cv, title=f"{name.stem}: shrinkage report", images=images,
                        notes=notes, columns=design.describe, data=facts, command=command)
    return html, images
