"""The penalty of a path in a few words, for the report's headline."""

from __future__ import annotations

__all__ = ["penalty_kind"]


def penalty_kind(path):
    """The penalty in a few words: lasso, ridge, elastic-net, MCP/SCAD with gamma, adaptive."""
    if path.penalty in ("mcp", "scad"):
        return f"{path.penalty.upper()} (gamma = {path.gamma:g})"
    if "adaptive_weights" in path.extra:
        return "adaptive lasso"
    return {1.0: "lasso", 0.0: "ridge"}.get(float(path.l1_ratio), "elastic-net")
