"""What the ``shrinkage`` command writes and prints.

* :func:`staged_output`: a run is written into a temporary folder on the file system of
  ``--out`` (inside it when it exists, else next to it) and moved in at the end, so the
  output folder always holds one complete run, the old one or the new one, whatever
  interrupts the run; files in it that are not outputs of shrinkage are never touched.
* :func:`csv_bytes`: CSV text safe to open in a spreadsheet (no formula injection).
* :func:`summary_tables`: the terminal summary of a fitted model.
* :func:`kernels_need_compiling`: whether the first fit will compile the numba kernels.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path as FilePath

import numpy as np

__all__ = ["OUTPUTS", "OutputError", "check_out", "staged_output", "command_line", "write_run",
           "spreadsheet_safe",
           "csv_bytes", "coefficients_csv", "predictions_csv", "summary_tables",
           "kernels_need_compiling"]

OUTPUTS = ("model.npz", "report.html", "path.png", "cv.png", "gap.png", "coefficients.csv",
           "inference.png", "inference.csv", "survival.png", "tuning.csv", "tuning.png")


class OutputError(Exception):
    """The output folder cannot be written as asked (stated in one line)."""


# --------------------------------------------------------------------------- folder
def check_out(out, force, known=OUTPUTS):
    """Refuse early (before any work) an ``--out`` that is a file, or that holds outputs
    of an earlier run when ``force`` is false."""
    out = FilePath(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a directory")
    folders = [name for name in known if (out / name).is_dir()]
    if folders:  # never replaced, even with --force: it is not a file we wrote
        raise OutputError(f"{out} holds a folder named {folders[0]}; move it or choose "
                          "another --out")
    taken = [name for name in known if (out / name).exists()]
    if taken and not force:
        raise OutputError(
            f"{out} already holds {', '.join(taken)}; pass --force to overwrite, or choose "
            "another --out"
        )
    return out


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C (SIGINT) while a few renames run, and raise it after them, so that an
    interrupt cannot split the swap of the old run for the new one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _swap_in(stage, out, names):
    """Replace the known outputs in ``out`` by the files ``names`` of ``stage``.

    Old outputs move to a backup folder first; if anything fails, the moves are undone
    in reverse order, so ``out`` holds either the old run or the new one.
    """
    if not out.exists():
        os.rename(stage, out)  # one atomic step: the folder appears complete
        return
    backup = FilePath(tempfile.mkdtemp(prefix=".shrinkage-old.", dir=out))
    done = []  # (source, destination) of each move, to undo
    with _interrupts_deferred():
        try:
            for name in names.old:
                os.rename(out / name, backup / name)
                done.append((out / name, backup / name))
            for name in names.new:
                os.rename(stage / name, out / name)
                done.append((stage / name, out / name))
        except BaseException:
            try:
                for src, dst in reversed(done):
                    os.rename(dst, src)
            except OSError as exc:  # keep the backup: it may hold the old run
                raise OutputError(f"could not restore the old outputs of {out} ({exc}); "
                                  f"they are in {backup}") from exc
            backup.rmdir()
            raise
    shutil.rmtree(backup, ignore_errors=True)  # the replaced outputs, nothing else


class _Moves:
    def __init__(self, old, new):
        self.old, self.new = old, new


@contextlib.contextmanager
def staged_output(out, force, known=OUTPUTS):
    """Write a run into a temporary folder (inside ``out`` when it exists, else next to
    it: the same file system either way), then swap it in.

    Yields the temporary folder. When the block ends normally, the known outputs
    (``known``) already in ``out`` are replaced by the files written (all of them or
    none); other files in ``out`` stay as they are. When it raises (or is interrupted),
    the temporary folder is removed and ``out`` is left untouched.

    Raises
    ------
    OutputError
        If ``out`` is not a folder, or holds known outputs and ``force`` is false.
    """
    out = check_out(out, force, known)
    # The run is staged inside an existing --out (writable, same file system even for
    # --out . or a mount point), else next to where it will appear.
    home = out if out.exists() else out.parent
    home.mkdir(parents=True, exist_ok=True)
    stage = FilePath(tempfile.mkdtemp(prefix=".shrinkage-run.", suffix=".tmp", dir=home))
    try:
        yield stage
        written = sorted(p.name for p in stage.iterdir())
        unknown = [n for n in written if n not in known]
        if unknown:  # a programming error: only known outputs may be swapped
            raise OutputError(f"unexpected output files {', '.join(unknown)}")
        check_out(out, force, known)  # the folder may have changed while we worked
        old = [n for n in known if (out / n).exists()] if out.exists() else []
        _swap_in(stage, out, _Moves(old, written))
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


# --------------------------------------------------------------------------- run
def command_line(data, opts):
    """The ``shrinkage fit`` command that reproduces a run (every option that matters)."""
    parts = ["shrinkage", "fit", str(data)]
    if opts["family"] == "cox":
        for role in ("time", "event", "start", "strata"):
            if opts.get(role):
                parts += [f"--{role}", opts[role]]
        parts += ["--ties", opts.get("ties") or "efron"]
    else:
        parts += ["--target", opts["target"]]
    parts += ["--family", opts["family"], "--penalty", opts["penalty"]]
    if opts["penalty"] == "elasticnet":
        parts += ["--l1-ratio", f"{opts['l1_ratio']:g}"]
    for key in ("gamma", "adaptive_exponent"):  # one number or a comma-separated list
        if opts.get(key) is not None:
            parts += [f"--{key.replace('_', '-')}",
                      ",".join(f"{float(v):g}" for v in str(opts[key]).split(","))]
    parts += ["--folds", str(opts["folds"]), "--repeats", str(opts["repeats"]),
              "--rule", str(opts["rule"]), "--seed", str(opts["seed"])]
    if opts.get("metric"):
        parts += ["--metric", opts["metric"]]
    for name in ("n_lams", "lam_min_ratio"):
        if opts.get(name) is not None:
            parts += [f"--{name.replace('_', '-')}", f"{opts[name]:g}"]
    for name in ("groups", "weights", "offset"):
        if opts.get(name):
            parts += [f"--{name}", opts[name]]
    for col in opts.get("exclude", ()):
        parts += ["--exclude", col]
    for col in opts.get("keep", ()):
        parts += ["--keep", col]
    if opts.get("impute"):
        parts.append("--impute")
    if opts.get("factor_groups"):
        parts.append("--factor-groups")
    parts += ["--out", str(opts["out"])]
    return " ".join(shlex.quote(p) for p in parts)


def write_run(stage, model, images, html, extra_files=None):
    """Every output of a run, into the staging folder."""
    from . import io as sio
    from .io import atomic_write

    def put(name, data):
        atomic_write(stage / name, lambda fh: fh.write(data))

    sio.save(model, stage / "model.npz", info={"command": model.command})
    for name, png in images.items():
        if name in ("path", "cv", "gap", "inference", "survival"):
            put(f"{name}.png", png)
    put("coefficients.csv", coefficients_csv(model))
    put("report.html", html.encode("utf-8"))
    for name, data in (extra_files or {}).items():
        put(name, data)


# --------------------------------------------------------------------------- csv
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(cell):
    """``cell`` prefixed with a single quote when a spreadsheet would run it as a formula.

    OWASP's rule for CSV injection: a text cell starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return is prefixed with ``'``. A plain number (``-1.5e3``) is
    left as it is: no spreadsheet reads it as anything but a number.
    """
    text = str(cell)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_bytes(header, rows):
    """UTF-8 CSV of ``header`` and ``rows``: floats written exactly (``repr``), every
    other cell as text made :func:`spreadsheet_safe`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([spreadsheet_safe(h) for h in header])
    for row in rows:
        w.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else
                    spreadsheet_safe(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _selection(model):
    """(selected mask, standardized sizes or None, sd or None) at the chosen lam."""
    from .plotting.paths import selected_features, standardized_sizes

    sd = model.path.extra.get("feature_sd")
    sd = None if sd is None else np.asarray(sd, dtype=float)
    keep = selected_features(model.coef, sd, model.path.tol)
    size = None if sd is None else standardized_sizes(model.coef, sd)
    return keep, size, sd


def coefficients_csv(model):
    """coefficients.csv: the intercept and every feature's coefficient at the chosen lam
    (for a Cox model: every feature's log hazard ratio, no intercept).

    A coefficient not selected (:func:`shrinkage.plotting.paths.selected_features`: at
    the solver's precision) is written as 0; the model file keeps the exact values. With
    the features' standard deviations, a last column gives the standardized coefficient
    (``b_j * sd_j``; for multinomial models its norm over classes).
    """
    keep, size, sd = _selection(model)
    coef = model.coef
    if coef.ndim == 1:
        header = ["feature", "log_hazard_ratio" if model.family == "cox" else "coefficient"]
        inter = [float(model.intercept)]
    else:
        header = ["feature"] + [f"class_{c}" for c in model.classes]
        inter = [float(v) for v in model.intercept]
    if sd is not None:
        header.append("standardized")
    rows = [] if model.family == "cox" else [  # a Cox model has no intercept
        ["(intercept)"] + inter + ([""] if sd is not None else [])]
    for j, name in enumerate(model.feature_names):
        values = np.atleast_1d(coef[j]) if keep[j] else np.zeros(np.atleast_1d(coef[j]).size)
        row = [name] + [float(v) for v in values]
        if sd is not None:
            std = (float(values[0] * sd[j]) if coef.ndim == 1 else
                   float(size[j]) if keep[j] else 0.0)
            row.append(std)
        rows.append(row)
    return csv_bytes(header, rows)


def predictions_csv(preds):
    """The CSV text of ``predict_table``'s columns."""
    names = list(preds)
    return csv_bytes(names, zip(*(preds[n] for n in names)))


# --------------------------------------------------------------------------- terminal
def _fmt(v):
    return f"{float(v):.4g}"


def _cv_table(model):
    from rich.table import Table

    from .plotting.paths import selected_features

    cv, path = model.cv, model.path
    sd = path.extra.get("feature_sd")
    t = Table()
    t.add_column("")
    t.add_column("lam", justify="right")
    t.add_column(f"CV {cv.metric}", justify="right")
    t.add_column("+- SE", justify="right")
    t.add_column("selected", justify="right")
    for label, i in (("lam_min", cv.index_min), (f"chosen ({cv.rule})", cv.index_chosen)):
        n_sel = int(selected_features(path.coefs[i], sd, path.tol).sum())
        t.add_row(label, _fmt(cv.lams[i]), _fmt(cv.mean[i]), _fmt(cv.se[i]), str(n_sel))
    return t


def _model_lines(model):
    """What the model predicts, for binomial, multinomial and cox models."""
    if model.family == "binomial":
        first, second = (str(c) for c in model.classes)
        return [f"the model gives the probability that {model.target} = {second!r} (the "
                f"other class: {first!r})"]
    if model.family == "cox":
        surv = model.extra.get("survival", {})
        lines = ["the model gives log hazard ratios: a row's hazard is the baseline hazard "
                 "(of its stratum) times exp(x . b); no intercept"]
        if "c_index" in surv:
            lines.append(f"C-index of the chosen fit on the training data: "
                         f"{_fmt(surv['c_index'])} (optimistic; the CV {model.cv.metric} is "
                         "the honest estimate)")
        return lines
    if model.family == "multinomial" and model.path.l1_ratio > 0:
        return ["the multinomial penalty is grouped: one group per feature (its "
                "coefficients for all classes enter or leave together); its Bayesian reading "
                "is a group prior, not a Laplace prior per coefficient"]
    return []


def summary_tables(console, model, n_rows, source):
    """Print the fit's summary: the CV table, what the model predicts and the largest
    selected coefficients (ranked on the standardized scale when the features' standard
    deviations are stored, shown on both scales)."""
    from rich.table import Table

    cv, path = model.cv, model.path
    # Headings are printed as lines: a table title would wrap at the table's width.
    console.print(f"shrinkage fit: {model.family}, l1_ratio={path.l1_ratio:g}, {source} "
                  f"({n_rows} rows, {path.n_features} features)")
    console.print(_cv_table(model))
    rep = cv.extra.get("repeat_lam_chosen")
    if rep is not None and np.size(rep) > 1:
        console.print(f"chosen lam over {np.size(rep)} CV repeats: from {_fmt(np.min(rep))} to "
                      f"{_fmt(np.max(rep))} (median {_fmt(np.median(rep))})")
    for line in _model_lines(model):
        console.print(line)

    keep, size, sd = _selection(model)
    coef = model.coef
    rank = size if size is not None else (
        np.abs(coef) if coef.ndim == 1 else np.sqrt(np.sum(coef**2, axis=1)))
    order = [j for j in np.argsort(-rank, kind="stable") if keep[j]][:10]
    c = Table()
    c.add_column("feature")
    if coef.ndim == 1:
        c.add_column("log hazard ratio" if model.family == "cox" else "coefficient",
                     justify="right")
    else:
        for k in model.classes:
            c.add_column(f"class {k}", justify="right")
    if sd is not None:
        c.add_column("standardized" if coef.ndim == 1 else "standardized size",
                     justify="right")
    for j in order:
        cells = [_fmt(v) for v in np.atleast_1d(coef[j])]
        if sd is not None:
            cells.append(_fmt(coef[j] * sd[j] if coef.ndim == 1 else size[j]))
        c.add_row(model.feature_names[j], *cells)
    if not order:
        console.print("no coefficient is non-zero at the chosen lam (" + (
            "every row has the baseline hazard)" if model.family == "cox"
            else "intercept-only model)"))
        return
    scale = ("ranked on the standardized scale (coefficient x feature sd); coefficients on "
             "the original scale" if sd is not None else "original scale")
    console.print(f"largest coefficients at the chosen lam ({int(keep.sum())} selected; "
                  f"{scale})")
    console.print(c)


# --------------------------------------------------------------------------- numba
def _cache_dirs(kernels):
    """Where numba keeps the kernels' cache: NUMBA_CACHE_DIR when set, else next to the
    sources or, when that folder is read-only, in the user's cache folder."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return list(FilePath(env).glob(f"{kernels.name}_*"))
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [kernels / "__pycache__"] + list(FilePath(home, "numba").glob(f"{kernels.name}_*"))


def kernels_need_compiling(kernels=None):
    """Whether the next fit compiles the numba kernels (a minute on a first run).

    True when no cache index (``*.nbi``) for this Python exists for the kernel modules,
    or one is older than its source (an edited or reinstalled module). Never raises: any
    doubt answers False, and the fit runs as usual.

    Parameters
    ----------
    kernels : path, optional
        The folder of the kernel sources (default: ``shrinkage/engine/kernels``).
    """
    try:
        if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
            return False
        if kernels is None:
            import importlib.util

            spec = importlib.util.find_spec("shrinkage.engine.kernels")
            kernels = spec.submodule_search_locations[0]
        kernels = FilePath(kernels)
        sources = {p.stem: p.stat().st_mtime for p in kernels.glob("*.py")}
        if not sources:  # not the package's layout: nothing to tell
            return False
        tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
        found = False
        for folder in _cache_dirs(kernels):
            for index in folder.glob(f"*.{tag}.nbi"):
                module = index.name.split(".", 1)[0]
                if module in sources:
                    found = True
                    if index.stat().st_mtime < sources[module]:
                        return True
        return not found
    except Exception:  # a notice is never worth a crash
        return False
