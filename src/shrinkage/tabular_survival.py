"""Survival tables for a Cox fit: time, event, entry-time and strata columns.

``encode_survival`` reads the survival columns of a table (``--time``, ``--event``,
optionally ``--start`` and ``--strata``), none of which is a feature, and encodes the
other columns with ``shrinkage.tabular_encode.encode_for_fit`` (same rules: one-hot
levels, identifiers left out, imputation). The response is the engine's structured
survival array (``shrinkage.model.cox.survival_response``), which carries the strata
into every cross-validation fold.

An event column holds 0 / 1 (numbers) or true / false (text, any case); a row with a
missing survival value is refused, or dropped with ``impute`` (a guessed time or event
would change the model silently).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .tabular_encode import encode_for_fit
from .tabular_read import DataError, Table, absent_values, check_columns, label_text

__all__ = ["SURVIVAL_ROLES", "SurvivalColumns", "encode_survival", "event_indicator"]

#: The options naming survival columns, in the order they are checked.
SURVIVAL_ROLES = ("time", "event", "start", "strata")
_TRUE, _FALSE = frozenset({"1", "true"}), frozenset({"0", "false"})


@dataclasses.dataclass(frozen=True)
class SurvivalColumns:
    """The survival columns of a Cox fit (None for a role not given).

    Attributes
    ----------
    time, event : str
        Columns of the observed (stop) times and of the event indicators.
    start : str or None
        Column of entry times (at risk on ``(start, time]``).
    strata : str or None
        Column of strata, each with its own baseline hazard.
    """

    time: str
    event: str
    start: str | None = None
    strata: str | None = None

    def named(self):
        """``{option: column}`` of the roles given, e.g. ``{"--time": "week", ...}``."""
        return {f"--{role}": getattr(self, role) for role in SURVIVAL_ROLES
                if getattr(self, role) is not None}


def event_indicator(table, name, rows=slice(None)):
    """The event column as floats 0.0 / 1.0.

    Accepts the numbers 0 and 1, or the text 0 / 1 / true / false in any case.

    Raises
    ------
    DataError
        Naming the first value that is none of those.
    """
    col = table.columns[name][rows]
    if table.is_numeric(name):
        bad = ~np.isin(col, (0.0, 1.0))
        if bad.any():
            raise DataError(f"event column {name!r} must hold 0 (censored) or 1 (event), "
                            f"got {label_text(col[bad][0])}")
        return np.asarray(col, dtype=float)
    text = np.array([str(v).strip().lower() for v in col], dtype=object)
    bad = ~np.isin(text, list(_TRUE | _FALSE))
    if bad.any():
        raise DataError(f"event column {name!r} must hold 0/1 or true/false, got "
                        f"{col[bad][0]!r}")
    return np.isin(text, list(_TRUE)).astype(float)


def _check_roles(table, cols, exclude, groups, weights, offset):
    named = cols.named()
    for option, name in named.items():
        check_columns(table, [name], option)
        if name in exclude:
            raise DataError(f"column {name!r} is given to both {option} and --exclude")
    others = {"--groups": groups, "--weights": weights, "--offset": offset}
    taken = {**named, **{k: v for k, v in others.items() if v is not None}}
    if len(set(taken.values())) < len(taken):
        raise DataError(f"{', '.join(taken)} must name different columns")
    for option in ("--time", "--start"):
        name = named.get(option)
        if name is not None and not table.is_numeric(name):
            raise DataError(f"{option} column {name!r} is not numeric")


def _rows_used(table, cols, impute, notes):
    """The rows with every survival value present (all of them unless ``impute``)."""
    miss = np.zeros(table.n_rows, dtype=bool)
    for option, name in cols.named().items():
        gap = table.missing(name)
        if gap.any() and not impute:
            raise DataError(f"{option} column {name!r} has "
                            f"{absent_values(table.columns[name], gap)}; remove them, or "
                            "pass --impute to drop those rows")
        miss |= gap
    if miss.all():
        raise DataError("no row has every survival column present")
    if miss.any():
        notes.append(f"dropped {int(miss.sum())} rows with a missing survival value "
                     f"({int((~miss).sum())} of {table.n_rows} rows used)")
        return np.flatnonzero(~miss)
    return slice(None)


def encode_survival(table, cols, *, exclude=(), groups=None, impute=False, keep=(),
                    weights=None, offset=None):
    """Encode a table for a Cox fit.

    Parameters
    ----------
    table : Table
    cols : SurvivalColumns
    exclude, groups, impute, keep, weights, offset
        As in ``shrinkage.tabular_encode.encode_for_fit``.

    Returns
    -------
    Encoded
        ``family="cox"``, ``y`` the structured survival response (strata codes
        ``0..S-1``) and ``strata_levels`` the strata labels in the order of their codes.
    """
    from .model.cox import survival_response

    exclude = list(exclude)
    _check_roles(table, cols, exclude, groups, weights, offset)
    notes = []
    rows = _rows_used(table, cols, impute, notes)
    drop = set(cols.named().values()) - {cols.time}
    features = Table({k: v if isinstance(rows, slice) else v[rows]
                      for k, v in table.columns.items() if k not in drop}, table.source)
    # The time column stands in as the target: never a feature, checked numeric above.
    enc = encode_for_fit(features, cols.time, family="gaussian", exclude=exclude,
                         groups=groups, impute=impute, keep=keep, weights=weights,
                         offset=offset)
    event = event_indicator(table, cols.event, rows)
    stop = np.asarray(table.columns[cols.time][rows], dtype=float)
    strata = None
    if cols.strata is not None:
        strata = np.array([label_text(v) for v in table.columns[cols.strata][rows]], dtype=str)
    try:
        if cols.start is None:
            y = survival_response(np.c_[stop, event], strata=strata)
        else:
            start = np.asarray(table.columns[cols.start][rows], dtype=float)
            y = survival_response(np.c_[start, stop, event], strata=strata)
    except (ValueError, TypeError) as exc:
        raise DataError(f"survival columns: {exc}") from None
    levels = np.unique(strata) if strata is not None else np.array([], dtype=str)
    if strata is not None:
        shown = ", ".join(levels[:8]) + (", ..." if levels.size > 8 else "")
        notes.append(f"strata from {cols.strata!r}: {levels.size} levels, each with its own "
                     f"baseline hazard ({shown})")
    return dataclasses.replace(enc, y=y, family="cox", notes=notes + list(enc.notes),
                               n_read=table.n_rows, strata_levels=[str(v) for v in levels])
