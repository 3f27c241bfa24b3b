"""Survival data spread over many files: the blocked design of ``shrinkage fit --family
cox --time COL --event COL [--start COL] [--strata COL]``.

The features are encoded as :func:`shrinkage.tabular_blocked.blocked_design` encodes
them (the time column standing in as its target, the other survival columns left out);
the survival columns of each file become a second row block, ``[start, stop, event,
stratum]`` (:func:`encode_survival_file`: events 0/1 or true/false as in memory, text
strata coded by their place among every file's labels in sorted order, numeric strata
as they are). A missing survival value is refused: blocked fits do not drop rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tabular_blocked import BlockedDesign, blocked_design, read_file, survey
from .tabular_read import DataError, label_text
from .tabular_survival import event_indicator

__all__ = ["SurvivalDesign", "survival_design", "encode_survival_file"]

_ROLES = ("time", "event", "start", "strata")


@dataclass
class SurvivalDesign(BlockedDesign):
    """A :class:`~shrinkage.tabular_blocked.BlockedDesign` whose ``y`` is the dask
    ``[time, event]`` or ``[start, time, event]`` array, with ``strata`` (a dask vector
    of codes, or None) and ``strata_levels`` (the text labels in code order)."""

    strata: object = None
    strata_levels: list = field(default_factory=list)


def _check_roles(merged, opts):
    names = list(merged["columns"])
    roles = {r: opts.get(r) for r in _ROLES if opts.get(r)}
    for role, col in roles.items():
        if col not in names:
            raise DataError(f"--{role} column {col!r} is not in the files (columns: "
                            f"{', '.join(names)})")
        summary = merged["columns"][col]
        if summary["missing"]:
            raise DataError(f"--{role} column {col!r} has {summary['missing']} missing "
                            "values; remove those rows (blocked fits do not drop rows)")
        if role in ("time", "start") and summary["kind"] != "numeric":
            raise DataError(f"--{role} column {col!r} is not numeric")
        if col in opts["exclude"]:
            raise DataError(f"column {col!r} is given to both --{role} and --exclude")
    taken = [*roles.values(), *(opts.get(r) for r in ("weights", "offset") if opts.get(r))]
    if len(set(taken)) < len(taken):
        raise DataError("--time, --event, --start, --strata, --weights and --offset must "
                        "name different columns")
    return roles


def survival_design(files, opts, compute):
    """The :class:`SurvivalDesign` of ``files`` under the options of ``shrinkage fit``
    (``compute`` runs the first pass, a summary of every file)."""
    import dask
    import dask.array as da

    merged, lengths = survey(files, compute)
    roles = _check_roles(merged, opts)
    levels = None
    if "strata" in roles and merged["columns"][roles["strata"]]["kind"] != "numeric":
        levels = sorted({label_text(v) for v in merged["columns"][roles["strata"]]["counts"]})
    left_out = [roles[r] for r in ("event", "start", "strata") if r in roles]
    inner = blocked_design(files, {**opts, "target": roles["time"], "family": "gaussian",
                                   "exclude": list(opts["exclude"]) + left_out},
                           compute, summary=(merged, lengths))
    notes = [n for n in inner.notes if not n.startswith("excluded columns")]
    if opts["exclude"]:
        notes.insert(0, f"excluded columns: {', '.join(opts['exclude'])}")
    if levels is not None:
        notes.append(f"strata from {roles['strata']!r}: {len(levels)} levels, each with its "
                     "own baseline hazard")
    S = da.concatenate([da.from_delayed(dask.delayed(encode_survival_file)(f, roles, levels),
                                        shape=(m, 4), dtype=np.float64)
                        for f, m in zip(files, lengths) if m > 0], axis=0)
    fields = {k: getattr(inner, k) for k in BlockedDesign.__dataclass_fields__}
    return SurvivalDesign(**{**fields, "y": S[:, :3] if "start" in roles else S[:, 1:3],
                             "family": "cox", "notes": notes},
                          strata=S[:, 3] if "strata" in roles else None,
                          strata_levels=[] if levels is None else levels)


def encode_survival_file(path, roles, levels):
    """One file's ``[start, time, event, stratum]`` block (``start = 0`` when not given,
    ``stratum = 0`` without strata)."""
    table = read_file(path, set(roles.values()))
    n = table.n_rows
    out = np.zeros((n, 4))
    out[:, 1] = np.asarray(table.columns[roles["time"]], dtype=float)
    out[:, 2] = event_indicator(table, roles["event"])
    if "start" in roles:
        out[:, 0] = np.asarray(table.columns[roles["start"]], dtype=float)
    if "strata" in roles:
        col = table.columns[roles["strata"]]
        if levels is None:
            out[:, 3] = np.asarray(col, dtype=float)
        else:
            code = {v: i for i, v in enumerate(levels)}
            out[:, 3] = [code[label_text(v)] for v in col]
    return out
