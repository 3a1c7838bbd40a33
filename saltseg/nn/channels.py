"""Build the network's input channels from uint8 tiles and depths.

- image: grey value standardised with fixed TGS statistics (fixed, so a checkpoint needs nothing
  else to predict);
- depth: the tile's depth z (feet), standardised, as a constant plane;
- ramp: the row position 0 (top) .. 1 (bottom), coordconv style;
- image_ramp: grey value in [0, 1] times the ramp (1st-place model B);
- image_tile: grey value standardised with the tile's own mean and spread (the real tiles'
  brightness and contrast differ even between neighbours of one section);
- envelope: the amplitude envelope of each trace (column), a classic seismic attribute (salt
  interiors reflect weakly, its top strongly), standardised per tile like image_tile.
Channels are built per batch on the compute device from uint8 (4x less to transfer than float).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from saltseg.nn.spec import CHANNELS

# Mean/std of the public TGS training tiles (grey values in [0, 1]) and of their depths.
IMAGE_MEAN, IMAGE_STD = 0.478, 0.158
DEPTH_MEAN, DEPTH_STD = 506.0, 207.0
TILE_STD_FLOOR = 0.02  # about 5 grey levels: a flat tile is not blown up into noise


def build_channels(images: torch.Tensor, z: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
    """uint8 (N, H, W) tiles and float (N,) depths -> float32 (N, len(names), H, W)."""
    if images.ndim != 3:
        raise ValueError(f"expected (N, H, W) images, got {tuple(images.shape)}")
    n, h, w = images.shape
    grey = images.float().div_(255.0)
    ramp = torch.linspace(0.0, 1.0, h, device=images.device).view(1, h, 1).expand(n, h, w)
    planes = []
    for name in names:
        if name == "image":
            planes.append((grey - IMAGE_MEAN) / IMAGE_STD)
        elif name == "depth":
            zn = (z.to(images.device, torch.float32) - DEPTH_MEAN) / DEPTH_STD
            planes.append(zn.view(n, 1, 1).expand(n, h, w))
        elif name == "ramp":
            planes.append(ramp)
        elif name == "image_ramp":
            planes.append(grey * ramp)
        elif name == "image_tile":
            planes.append(_standardise_per_tile(grey))
        elif name == "envelope":
            planes.append(_standardise_per_tile(trace_envelope(grey)))
        else:
            raise ValueError(f"unknown channel {name!r} (choose from {', '.join(CHANNELS)})")
    return torch.stack(planes, dim=1).contiguous()


def _standardise_per_tile(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2), keepdim=True)
    std = x.std(dim=(1, 2), keepdim=True).clamp_min(TILE_STD_FLOOR)
    return (x - mean) / std


def trace_envelope(grey: torch.Tensor) -> torch.Tensor:
    """(N, H, W) grey values -> the magnitude of each column's analytic signal (Hilbert transform
    along H). Each trace is centred, and mirrored below itself before the FFT so that its ends do
    not wrap onto each other."""
    x = grey - grey.mean(dim=1, keepdim=True)
    h = x.shape[1]
    x = torch.cat([x, x.flip(1)], dim=1)
    n = 2 * h
    weights = torch.zeros(n, device=x.device)
    weights[0] = weights[n // 2] = 1.0
    weights[1 : n // 2] = 2.0
    analytic = torch.fft.ifft(torch.fft.fft(x, dim=1) * weights.view(1, n, 1), dim=1)
    return analytic[:, :h].abs()
