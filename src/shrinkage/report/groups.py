"""The report's reading of a path whose penalty acts on groups of coefficients."""

import numpy as np

__all__ = ["group_sentence"]


def group_sentence(path, index):
    """Which groups (factors) are in the model at ``index`` (a path index, or a CVResult:
    its chosen index), for a group-penalised path (``path.extra["group_labels"]``); None
    for any other path."""
    index = getattr(index, "index_chosen", index)
    labels = path.extra.get("group_labels")
    if labels is None:
        return None
    order = np.asarray(path.extra["group_order"])
    starts = np.asarray(path.extra["group_starts"])
    coefs = np.asarray(path.coefs[index])
    nz = np.any(coefs != 0, axis=1) if coefs.ndim == 2 else coefs != 0
    inside = [str(labels[g]) for g in range(starts.size - 1)
              if np.any(nz[order[starts[g]:starts[g + 1]]])]
    shown = ", ".join(inside[:20]) + (", ..." if len(inside) > 20 else "")
    mix = float(path.extra.get("group_mix", 0.0))
    how = ("each group (a factor's indicators, or a group given by feature_groups) enters "
           "or leaves the model as a whole" if mix == 0.0 else
           f"sparse-group lasso (group_mix {mix:g}): groups enter as a whole, and "
           "coefficients inside them can still be zero")
    return (f"The penalty acts on groups of coefficients: {how}. {len(inside)} of "
            f"{starts.size - 1} groups are in the model at the chosen lam"
            + (f": {shown}." if inside else "."))
