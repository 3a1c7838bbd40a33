"""SaltNet's encoder: any smp/timm encoder, optionally with scSE after every stage and, for
ResNet-style encoders, the stride-1 stem of the 1st place's "resnet_34_pad_128"."""

from __future__ import annotations

import torch
from torch import nn

from saltseg.errors import SaltsegError
from saltseg.nn.saltnet.blocks import Attended, scse

RESNET_LAYERS = ("layer1", "layer2", "layer3", "layer4")


def is_resnet_like(encoder: nn.Module) -> bool:
    """torchvision-style ResNet/ResNeXt encoders: conv1, bn1, relu, maxpool, layer1..layer4."""
    return all(hasattr(encoder, a) for a in ("conv1", "bn1", "maxpool", *RESNET_LAYERS))


def stride1_stem(encoder: nn.Module, name: str) -> None:
    """Replace the 7x7/2 first convolution by a 3x3/1 one and drop the first max-pool, so that
    the first two feature levels keep the input's resolution."""
    if not is_resnet_like(encoder):
        raise SaltsegError(
            f"model spec: model.stem: stride1 needs a ResNet-style encoder (conv1, maxpool, "
            f"layer1..4), not {name}"
        )
    old = encoder.conv1
    encoder.conv1 = nn.Conv2d(old.in_channels, old.out_channels, 3, stride=1, padding=1, bias=False)
    encoder.maxpool = nn.Identity()


def drop_unused_layers(encoder: nn.Module, depth: int) -> None:
    """smp keeps a ResNet's deeper layers when encoder_depth < 5; without them every parameter
    of the network takes part in the forward pass (and checkpoints hold only what is used)."""
    if is_resnet_like(encoder):
        for name in RESNET_LAYERS[max(depth - 1, 0) :]:
            setattr(encoder, name, nn.Identity())


class StageAttention(nn.Module):
    """scSE on each feature level an encoder returns (for encoders whose stages are not
    separate modules, e.g. timm's): attention on the skips and the centre's input."""

    def __init__(self, channels: list[int]):
        super().__init__()
        self.attention = nn.ModuleList(scse(c) for c in channels)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [features[0], *(a(f) for a, f in zip(self.attention, features[1:], strict=True))]


def attend_stages(encoder: nn.Module, depth: int) -> StageAttention | None:
    """Put scSE after every residual stage of a ResNet-style encoder (so deeper stages see the
    attended maps); for other encoders return a StageAttention for the returned features."""
    channels = list(encoder.out_channels)
    if is_resnet_like(encoder):
        for k, name in enumerate(RESNET_LAYERS[: max(depth - 1, 0)], start=2):
            setattr(encoder, name, Attended(getattr(encoder, name), channels[k]))
        return None
    return StageAttention(channels[1:])
