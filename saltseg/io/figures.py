"""Pictures: matplotlib figures saved atomically (PNG or JPEG, from the suffix)."""

from __future__ import annotations

import os

from matplotlib.figure import Figure

from saltseg.io.atomic import atomic_path


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 100) -> None:
    """Write ``fig`` to ``path``; nothing is left under that name if saving fails."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
