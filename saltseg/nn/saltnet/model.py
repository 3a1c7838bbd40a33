"""SaltNet: the 1st place's model B and stage-3 network on any smp/timm encoder.

encoder (optional scSE after every stage, optional stride-1 stem) -> centre (identity or Feature
Pyramid Attention) -> U-Net decoder (bilinear or transposed upsampling, optional scSE) -> pixel
head on the last level or on the hypercolumn of all levels. Optional heads: an image-level
empty/non-empty logit (``classifier_head``), and for ``deep_supervision`` that logit plus one
pixel head per decoder level, with the image embedding fused into the final pixel head.
"""

from __future__ import annotations

import torch
from segmentation_models_pytorch.base import initialization
from torch import nn

from saltseg.nn.outputs import Outputs
from saltseg.nn.saltnet.blocks import FPA, ImageHead, PixelHead, resize_to
from saltseg.nn.saltnet.decoder import SaltNetDecoder
from saltseg.nn.saltnet.encoder import attend_stages, drop_unused_layers, stride1_stem
from saltseg.nn.spec import DEFAULT_DECODER, NetworkSpec

EMBED_CHANNELS = 32  # the image head's embedding, broadcast into the fused pixel head
PROBE_SIDE = 64  # input side of the dry run that measures the encoder's downsampling


@torch.no_grad()
def feature_reductions(encoder: nn.Module, in_channels: int) -> list[int]:
    """Downsampling factor of each feature level the encoder returns (input first)."""
    was_training = encoder.training
    encoder.eval()  # no BatchNorm statistics from the dry run
    device = next(encoder.parameters()).device
    features = encoder(torch.zeros(1, in_channels, PROBE_SIDE, PROBE_SIDE, device=device))
    encoder.train(was_training)
    return [max(PROBE_SIDE // f.shape[-1], 1) for f in features]


class SaltNet(nn.Module):
    """The network; ``encoder`` is an smp encoder built for ``in_channels`` and the spec's depth."""

    def __init__(self, encoder: nn.Module, spec: NetworkSpec, in_channels: int):
        super().__init__()
        depth = spec.encoder_depth
        if spec.stem == "stride1":
            stride1_stem(encoder, spec.encoder)
        drop_unused_layers(encoder, depth)
        self.stage_attention = (
            attend_stages(encoder, depth) if spec.encoder_attention == "scse" else None
        )
        self.encoder = encoder
        channels = list(encoder.out_channels)
        reductions = feature_reductions(encoder, in_channels)
        deepest = channels[-1]
        self.center = FPA(deepest, deepest) if spec.center == "fpa" else nn.Identity()
        decoder_channels = spec.decoder_channels
        if decoder_channels is None:
            decoder_channels = list(DEFAULT_DECODER[-depth:])
        elif isinstance(decoder_channels, int):
            decoder_channels = [decoder_channels] * depth
        self.decoder = SaltNetDecoder(
            channels, deepest, decoder_channels, reductions,
            upsample=spec.decoder_upsample, attention=spec.decoder_attention == "scse",
        )  # fmt: skip
        self.hypercolumn = spec.hypercolumn
        self.deep_supervision = spec.deep_supervision
        self.classification_head = None
        if spec.classifier_head or spec.deep_supervision:
            self.classification_head = ImageHead(deepest, EMBED_CHANNELS)
        if spec.deep_supervision:
            self.deep_heads = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in decoder_channels)
        self.segmentation_head = PixelHead(
            list(decoder_channels) if spec.hypercolumn else [decoder_channels[-1]],
            decoder_channels[-1],
            EMBED_CHANNELS if spec.deep_supervision else 0,
        )
        for part in (self.center, self.decoder, self.stage_attention):
            if part is not None:
                initialization.initialize_decoder(part)
        for part in (self.segmentation_head, self.classification_head):
            if part is not None:
                initialization.initialize_head(part)

    def forward(self, x: torch.Tensor) -> Outputs:
        size = tuple(x.shape[-2:])
        features = self.encoder(x)
        if self.stage_attention is not None:
            features = self.stage_attention(features)
        center = self.center(features[-1])
        levels = self.decoder(center, features)
        image = embedding = None
        if self.classification_head is not None:
            image, embedding = self.classification_head(center)
        mask = self.segmentation_head(
            levels if self.hypercolumn else levels[-1:],
            size,
            embedding if self.deep_supervision else None,
        )
        deep: tuple[torch.Tensor, ...] = ()
        if self.deep_supervision and self.training:  # the per-level heads only shape training
            deep = tuple(
                resize_to(h(v), size) for h, v in zip(self.deep_heads, levels, strict=True)
            )
        return Outputs(mask, image, deep)
