"""Build the network's input channels from uint8 tiles and depths.

- image: grey value standardised with fixed TGS statistics (fixed, so a checkpoint needs nothing
  else to predict);
- depth: the tile's depth z (feet), standardised, as a constant plane;
- ramp: the row position 0 (top) .. 1 (bottom), coordconv style;
- image_ramp: grey value in [0, 1] times the ramp (1st-place model B);
- image_tile: grey value standardised with the tile's own mean and spread (the real tiles'
  brightness and contrast differ even between neighbours of one section).
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
            mean = grey.mean(dim=(1, 2), keepdim=True)
            std = grey.std(dim=(1, 2), keepdim=True).clamp_min(TILE_STD_FLOOR)
            planes.append((grey - mean) / std)
        else:
            raise ValueError(f"unknown channel {name!r} (choose from {', '.join(CHANNELS)})")
    return torch.stack(planes, dim=1).contiguous()
