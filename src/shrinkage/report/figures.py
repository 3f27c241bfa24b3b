"""Figures as PNG bytes, drawn without pyplot (no global state, any thread)."""

from __future__ import annotations

import io

__all__ = ["png_bytes"]


def png_bytes(draw, figsize=(6.4, 4.2)):
    """PNG bytes of a figure drawn by ``draw(ax)``, without touching pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
