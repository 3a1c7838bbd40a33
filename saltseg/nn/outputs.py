"""What a network returns: mask logits, optionally image-level and deep-supervision logits."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Outputs(NamedTuple):
    mask: torch.Tensor  # (N, 1, H, W) logits of the final map
    image: torch.Tensor | None = None  # (N, 1) empty/non-empty logits
    deep: tuple[torch.Tensor, ...] = ()  # (N, 1, H, W) logits per decoder level, training only


def split_outputs(out: torch.Tensor | tuple) -> Outputs:
    """Outputs from whatever a model returns: a tensor (smp), (mask, label) (smp with aux_params)
    or Outputs (SaltNet)."""
    if isinstance(out, Outputs):
        return out
    if isinstance(out, tuple | list):
        return Outputs(out[0], out[1])
    return Outputs(out)
