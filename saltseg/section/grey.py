"""Seismic amplitudes to the training tiles' grey scale.

The TGS tiles are uint8 images of migrated amplitudes around mid-grey; the synthetic generator
makes its sections the same way (amplitudes scaled by their spread, centred at 128, clipped to
0..255). A section is mapped alike: its amplitudes are standardised and given the training
tiles' grey mean and spread (stored in the bundle), or, with ``clip_percentile``, the amplitudes
between that percentile and its mirror are stretched linearly over 0..255.
"""

from __future__ import annotations

import numpy as np


def to_grey(
    values: np.ndarray,
    mean: float = 128.0,
    std: float = 32.0,
    clip_percentile: float | None = None,
) -> np.ndarray:
    """uint8 grey image of the amplitudes ``values`` (any shape; finite)."""
    a = np.asarray(values, np.float64)
    if clip_percentile is not None:
        if not 0.0 <= clip_percentile < 50.0:
            raise ValueError(f"clip_percentile must be in [0, 50), got {clip_percentile}")
        lo, hi = np.percentile(a, [clip_percentile, 100.0 - clip_percentile])
        grey = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.full(a.shape, 127.5)
    else:
        spread = a.std()
        grey = mean + (a - a.mean()) * (std / spread) if spread > 0 else np.full(a.shape, mean)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)
