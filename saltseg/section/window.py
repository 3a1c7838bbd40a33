"""Sliding-window prediction of a whole section with MONAI's ``sliding_window_inference``.

101x101 windows at a configurable stride (the last window of a row or column sits flush with
the border, so every pixel is covered), predicted in batches, and blended with a Gaussian weight
centred on each window: pixels near a window's edge, where the network saw the least context,
count least. MONAI keeps the section's size and pads none (sections smaller than a tile are
rejected by the caller). The depth of every pixel row rides along as a second channel, so each
window is predicted with its own depth.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from saltseg.data.tileset import TILE

# (uint8 windows (n, 101, 101), depths (n,)) -> float32 probabilities (n, 101, 101)
WindowPredictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


def overlap_for(stride: int, size: int = TILE) -> float:
    """MONAI's overlap fraction whose scan interval, int(size * (1 - overlap)), is ``stride``."""
    if not 1 <= stride <= size:
        raise ValueError(f"stride must be in 1..{size}, got {stride}")
    return max(0.0, (size - stride - 1e-6) / size)


def window_starts(length: int, stride: int, size: int = TILE) -> list[int]:
    """Where the windows along one axis start (as MONAI places them): every ``stride``, and a
    last one flush with the end."""
    if length <= size:
        return [0]
    n = -(-(length - size) // stride) + 1
    return [min(k * stride, length - size) for k in range(n)]


def predict_section(
    grey: np.ndarray,
    depth: np.ndarray,
    predictor: WindowPredictor,
    *,
    stride: int = TILE // 2,
    batch_windows: int = 64,
    sigma_scale: float = 0.125,
    progress: bool = True,
) -> np.ndarray:
    """Float32 (H, W) salt probability of the uint8 section ``grey`` (H, W >= 101) whose pixel
    rows lie at ``depth`` (H,)."""
    from monai.inferers import sliding_window_inference  # slow to import; only needed here

    grey = np.asarray(grey)
    h, w = grey.shape
    if h < TILE or w < TILE:
        raise ValueError(f"a section needs at least {TILE}x{TILE} pixels, got {h}x{w}")
    depth_map = np.broadcast_to(np.asarray(depth, np.float32)[:, None], (h, w))
    x = torch.from_numpy(np.stack([grey.astype(np.float32), depth_map])[None])

    def run(windows: torch.Tensor) -> torch.Tensor:
        images = windows[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()
        z = windows[:, 1, TILE // 2, TILE // 2].numpy()  # the window's centre row
        return torch.from_numpy(predictor(images, z)[:, None].astype(np.float32))

    with torch.no_grad():
        out = sliding_window_inference(
            x, roi_size=(TILE, TILE), sw_batch_size=batch_windows, predictor=run,
            overlap=overlap_for(stride), mode="gaussian", sigma_scale=sigma_scale,
            progress=progress,
        )  # fmt: skip
    return out[0, 0].numpy().astype(np.float32)
