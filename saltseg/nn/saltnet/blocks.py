"""SaltNet's building blocks: scSE attention, the Feature Pyramid Attention centre, decoder blocks
and the output heads. Each block maps (N, C, H, W) tensors and works for any H, W >= 1 (the
network's deepest maps are 4x4 for a 128-px input)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from segmentation_models_pytorch.base.modules import Conv2dReLU, SCSEModule
from torch import nn


def resize_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize to ``size`` (a no-op when it already has it)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def scse(channels: int) -> nn.Module:
    """Concurrent spatial and channel squeeze-excitation (smp's module; needs >= 16 channels)."""
    return SCSEModule(channels)


class Attended(nn.Module):
    """A module followed by scSE on its output (an encoder stage with attention)."""

    def __init__(self, module: nn.Module, channels: int):
        super().__init__()
        self.module = module
        self.attention = scse(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(self.module(x))


class FPA(nn.Module):
    """Feature Pyramid Attention (Li et al. 2018): a 7-5-3 conv pyramid weights a 1x1 projection,
    plus a global-pooling branch."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.project = Conv2dReLU(in_channels, out_channels, 1)
        self.pooled = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), Conv2dReLU(in_channels, out_channels, 1)
        )
        # Strided convolutions halve the map at each level (down to 1x1 for small maps).
        self.down1 = Conv2dReLU(in_channels, 1, 7, padding=3, stride=2)
        self.down2 = Conv2dReLU(1, 1, 5, padding=2, stride=2)
        self.down3 = Conv2dReLU(1, 1, 3, padding=1, stride=2)
        self.same1 = Conv2dReLU(1, 1, 7, padding=3)
        self.same2 = Conv2dReLU(1, 1, 5, padding=2)
        self.same3 = Conv2dReLU(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Always in float32, also under bf16 autocast: on a CPU with AMX, oneDNN's bf16 weight
        # gradient of the pyramid's one-channel convolutions on 1x1 maps came out non-finite
        # now and then, and training on real tiles diverged within a few steps. The centre
        # works on the deepest, smallest maps, so float32 costs next to nothing here.
        with torch.autocast(x.device.type, enabled=False):
            return self._pyramid(x.float())

    def _pyramid(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(d1)
        d3 = self.same3(self.down3(d2))
        up = resize_to(d3, d2.shape[-2:]) + self.same2(d2)
        up = resize_to(up, d1.shape[-2:]) + self.same1(d1)
        attention = resize_to(up, x.shape[-2:])
        return self.project(x) * attention + self.pooled(x)


class Upsample(nn.Module):
    """Scale a map up by an integer factor: a learned 2x transposed convolution (repeated for
    4x, 8x, ...) or bilinear interpolation; factor 1 is the identity."""

    def __init__(self, channels: int, factor: int, mode: str):
        super().__init__()
        self.factor = factor
        self.transposed = None
        if mode == "transpose" and factor > 1:
            steps = max(factor.bit_length() - 1, 1)
            self.transposed = nn.Sequential(
                *(nn.ConvTranspose2d(channels, channels, 2, stride=2) for _ in range(steps))
            )

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if self.transposed is not None:
            x = self.transposed(x)
        return resize_to(x, size)  # exact sizes for odd maps (and the bilinear mode)


class DecoderBlock(nn.Module):
    """Upsample to the skip's size, concatenate the skip, two 3x3 conv-BN-ReLU, optional scSE."""

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        *,
        factor: int,
        upsample: str,
        attention: bool,
    ):
        super().__init__()
        self.upsample = Upsample(in_channels, factor, upsample)
        self.conv1 = Conv2dReLU(in_channels + skip_channels, out_channels, 3, padding=1)
        self.conv2 = Conv2dReLU(out_channels, out_channels, 3, padding=1)
        self.attention = scse(out_channels) if attention else nn.Identity()

    def forward(
        self, x: torch.Tensor, skip: torch.Tensor | None, size: tuple[int, int]
    ) -> torch.Tensor:
        x = self.upsample(x, size)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.attention(self.conv2(self.conv1(x)))


class ImageHead(nn.Module):
    """Empty/non-empty logit from the deepest features: pool, dropout, linear; also returns the
    pooled embedding that the fused pixel head sees."""

    def __init__(self, in_channels: int, embed_channels: int, dropout: float = 0.2):
        super().__init__()
        self.embed = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(in_channels, embed_channels),
            nn.ReLU(inplace=True),
        )
        self.logit = nn.Linear(embed_channels, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.embed(x)
        return self.logit(e), e


class PixelHead(nn.Module):
    """Mask logits from one or more decoder levels (a hypercolumn) and optionally an image
    embedding: a 1x1 conv over their concatenation at full size, BN-ReLU, a 3x3 conv-BN-ReLU,
    and a 1x1 conv to one channel.

    The 1x1 conv over the concatenation is computed as the sum of one 1x1 conv per level at the
    level's own size, upsampled (both steps are linear, so the result is the same): upsampling
    and concatenating every level at full size would cost as much as the encoder on a CPU.
    """

    def __init__(self, level_channels: list[int], mid_channels: int, embed_channels: int = 0):
        super().__init__()
        self.levels = nn.ModuleList(
            nn.Conv2d(c, mid_channels, 1, bias=False) for c in level_channels
        )
        self.embed = nn.Linear(embed_channels, mid_channels, bias=False) if embed_channels else None
        self.fuse = nn.Sequential(nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True))
        self.conv = Conv2dReLU(mid_channels, mid_channels, 3, padding=1)
        self.logit = nn.Conv2d(mid_channels, 1, 1)

    def forward(
        self,
        levels: list[torch.Tensor],
        size: tuple[int, int],
        embedding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = sum(resize_to(conv(v), size) for conv, v in zip(self.levels, levels, strict=True))
        if self.embed is not None:
            x = x + self.embed(embedding)[:, :, None, None]
        return self.logit(self.conv(self.fuse(x)))
