"""Map 101x101 tiles to the network's input size and network outputs back to 101x101.

Forward: optional bilinear resize 101 -> R, then reflect-pad R -> P (the extra pixel of an odd
margin goes to the bottom/right). Inverse: crop the R x R centre, then resize R -> 101
(bilinear sampling at the 101-grid pixel centres, like cv2.INTER_LINEAR). Cropping is exact;
with no resize the round trip is the identity, with a resize it is within a fraction of a pixel.
``probabilities`` maps a network's logits to 101x101 probabilities in the order its training
loss saw them (``train.loss_at``).
All functions work on (N, C, H, W) tensors on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from saltseg.data.tileset import TILE
from saltseg.nn.spec import InputSpec, ModelSpec


@dataclass(frozen=True)
class Geometry:
    pad: int
    resize: int | None = None
    # Probabilities: map the logits back, then the sigmoid (for a model trained with the loss on
    # the tile, which saw its logits mapped back), or the sigmoid on the network's grid, then map.
    # With a resize the two place a boundary differently: bilinear logits cross 0 elsewhere
    # than bilinear probabilities cross 0.5 when the logits either side differ in size.
    map_logits: bool = False

    @classmethod
    def from_spec(cls, spec: InputSpec) -> Geometry:
        return cls(pad=spec.pad, resize=spec.resize)

    @classmethod
    def of_model(cls, spec: ModelSpec) -> Geometry:
        """A model's geometry: its ``input`` section, and the logits mapped back before the
        sigmoid where it trained with ``train.loss_at: tile``."""
        return cls(spec.input.pad, spec.input.resize, map_logits=spec.train.loss_at == "tile")

    @property
    def inner(self) -> int:
        return self.resize or TILE

    @property
    def margins(self) -> tuple[int, int]:
        """Reflected pixels (before, after) on each axis."""
        total = self.pad - self.inner
        return total // 2, total - total // 2

    def to_network(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, 101, 101) float -> (N, C, P, P): resize (bilinear) then reflect-pad."""
        _check(x, TILE)
        if self.resize:
            x = F.interpolate(
                x, size=(self.resize, self.resize), mode="bilinear", align_corners=False
            )
        before, after = self.margins
        if before or after:
            x = F.pad(x, (before, after, before, after), mode="reflect")
        return x

    def mask_to_network(self, m: torch.Tensor) -> torch.Tensor:
        """(N, 1, 101, 101) mask -> float (N, 1, P, P), aligned with the image. A bool or integer
        (0/1) mask stays binary; a float mask (soft pseudo labels: probabilities) is resized as
        it is."""
        binary = not m.is_floating_point()
        m = m.float()
        if self.resize:
            m = F.interpolate(
                m, size=(self.resize, self.resize), mode="bilinear", align_corners=False
            )
            if binary:
                m = (m >= 0.5).float()
        before, after = self.margins
        if before or after:
            m = F.pad(m, (before, after, before, after), mode="reflect")
        return m

    def from_network(self, y: torch.Tensor) -> torch.Tensor:
        """(N, C, P, P) map -> (N, C, 101, 101): crop the tile, then undo the resize."""
        _check(y, self.pad)
        before, _ = self.margins
        y = y[..., before : before + self.inner, before : before + self.inner]
        if self.resize:
            # No antialiasing: it would blur the map; plain bilinear samples it exactly at the
            # positions of the 101x101 pixel centres.
            y = F.interpolate(y.float(), size=(TILE, TILE), mode="bilinear", align_corners=False)
        return y

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """(N, C, P, P) logits -> (N, C, 101, 101) float32 probabilities (see ``map_logits``)."""
        if self.map_logits:
            return torch.sigmoid(self.from_network(logits.float()))
        return self.from_network(torch.sigmoid(logits.float()))


def _check(x: torch.Tensor, side: int) -> None:
    if x.ndim != 4 or x.shape[-2:] != (side, side):
        raise ValueError(f"expected an (N, C, {side}, {side}) tensor, got {tuple(x.shape)}")
