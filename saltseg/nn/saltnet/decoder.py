"""SaltNet's decoder: U-Net blocks from the deepest feature up to the input's size, returning
every level (for the hypercolumn and the deep-supervision heads)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from saltseg.nn.saltnet.blocks import DecoderBlock


class SaltNetDecoder(nn.Module):
    """One block per encoder level: the first ``depth - 1`` take the encoder's skips (deepest
    first), the last upsamples to the input's size without a skip. ``reductions`` are the
    encoder features' downsampling factors, input first (e.g. 1, 2, 4, 8, 16, 32); they decide
    each block's upsampling factor."""

    def __init__(
        self,
        encoder_channels: Sequence[int],
        center_channels: int,
        decoder_channels: Sequence[int],
        reductions: Sequence[int],
        *,
        upsample: str = "bilinear",
        attention: bool = False,
    ):
        super().__init__()
        depth = len(encoder_channels) - 1
        if len(decoder_channels) != depth:
            raise ValueError(f"{len(decoder_channels)} decoder channels for {depth} levels")
        skips = list(encoder_channels[1:-1])[::-1] + [0]
        # The level each block ends at: the skips' levels, then the input's.
        targets = list(reductions[1:-1])[::-1] + [reductions[0]]
        sources = [reductions[-1], *targets[:-1]]
        blocks, in_ch = [], center_channels
        for skip, out_ch, src, dst in zip(skips, decoder_channels, sources, targets, strict=True):
            blocks.append(
                DecoderBlock(
                    in_ch, skip, out_ch, factor=max(src // dst, 1), upsample=upsample,
                    attention=attention,
                )
            )  # fmt: skip
            in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = list(decoder_channels)

    def forward(self, center: torch.Tensor, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Every block's output, coarsest first; ``features`` as the encoder returns them."""
        skips = list(features[1:-1])[::-1] + [None]
        sizes = [tuple(f.shape[-2:]) for f in features[1:-1]][::-1] + [
            tuple(features[0].shape[-2:])
        ]
        levels, x = [], center
        for block, skip, size in zip(self.blocks, skips, sizes, strict=True):
            x = block(x, skip, size)
            levels.append(x)
        return levels
