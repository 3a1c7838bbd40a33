"""Segmentation losses: weighted sums of bce, dice, lovasz, lovasz_elu and lovasz_symmetric, the
classifier BCE, and the total over a network's outputs (deep supervision included).

All take logits and float targets shaped (N, 1, H, W): binary, or probabilities for soft pseudo
labels, which BCE and Dice take as they are and the Lovasz losses (defined for sets, not
probabilities) and the image head's "has salt" round at 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from segmentation_models_pytorch.losses import DiceLoss, LovaszLoss
from torch import nn

from saltseg.nn.outputs import Outputs
from saltseg.nn.spec import NetworkSpec


def lovasz_elu(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-image Lovasz hinge with elu(x) + 1 in place of relu(x), averaged over images.

    The competition variant: errors below the margin still get a (shrinking) gradient. Batched:
    one sort over all images instead of a Python loop.
    """
    n = logits.shape[0]
    x, t = logits.reshape(n, -1).float(), targets.reshape(n, -1).float()
    errors = 1.0 - x * (2.0 * t - 1.0)
    errors_sorted, order = torch.sort(errors, dim=1, descending=True)
    gt_sorted = torch.gather(t, 1, order)
    # Gradient of the Lovasz extension of the Jaccard loss (Berman et al. 2018, Alg. 1).
    gts = gt_sorted.sum(dim=1, keepdim=True)
    intersection = gts - gt_sorted.cumsum(dim=1)
    union = gts + (1.0 - gt_sorted).cumsum(dim=1)
    jaccard = 1.0 - intersection / union
    grad = torch.cat([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], dim=1)
    return ((F.elu(errors_sorted) + 1.0) * grad).sum(dim=1).mean()


def lovasz_symmetric(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of :func:`lovasz_elu` on the salt and on the background (logits and targets negated).

    On an empty tile the salt Lovasz has no salt IoU to improve and pushes only its worst pixel;
    the background term gives such a tile the whole gradient of its background IoU.
    """
    return 0.5 * (lovasz_elu(logits, targets) + lovasz_elu(-logits, 1.0 - targets))


LOVASZ = frozenset({"lovasz", "lovasz_elu", "lovasz_symmetric"})


def _rounded(targets: torch.Tensor) -> torch.Tensor:
    return (targets >= 0.5).to(targets.dtype)


class SegLoss(nn.Module):
    """Weighted sum of pixel losses, e.g. {"bce": 1.0, "dice": 1.0}."""

    def __init__(self, weights: Mapping[str, float]):
        super().__init__()
        makers = {
            "bce": lambda: nn.BCEWithLogitsLoss(),
            "dice": lambda: DiceLoss(mode="binary", from_logits=True),
            "lovasz": lambda: LovaszLoss(mode="binary", per_image=True),
            "lovasz_elu": lambda: lovasz_elu,
            "lovasz_symmetric": lambda: lovasz_symmetric,
        }
        unknown = set(weights) - set(makers)
        if unknown:
            raise ValueError(f"unknown losses {sorted(unknown)} (choose from {sorted(makers)})")
        self.weights = {k: float(w) for k, w in weights.items() if w > 0}
        self.terms = {k: makers[k]() for k in self.weights}

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = logits.float(), targets.float()
        rounded = _rounded(targets) if LOVASZ & self.weights.keys() else targets
        total = logits.new_zeros(())
        for name, w in self.weights.items():
            total = total + w * self.terms[name](logits, rounded if name in LOVASZ else targets)
        return total


def classifier_loss(class_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE of the image-level head (N, 1) against "the mask has salt"."""
    has_salt = _rounded(targets.float()).flatten(1).amax(dim=1, keepdim=True)
    return F.binary_cross_entropy_with_logits(class_logits.float(), has_salt)


def deep_supervision_loss(
    deep: tuple[torch.Tensor, ...], targets: torch.Tensor, criterion: SegLoss
) -> torch.Tensor:
    """Mean of ``criterion`` over the per-level heads, on the images with salt only (an empty
    image would teach every level that nothing is there, which the image head already says)."""
    has_salt = targets.flatten(1).amax(dim=1) >= 0.5
    if not deep or not bool(has_salt.any()):
        return targets.new_zeros(())
    return torch.stack([criterion(d[has_salt], targets[has_salt]) for d in deep]).mean()


def total_loss(
    outputs: Outputs, targets: torch.Tensor, criterion: SegLoss, network: NetworkSpec
) -> torch.Tensor:
    """The fused map's loss on every image, plus the image head's BCE (weight
    ``classifier_weight``) and the deep-supervision loss (weight ``deep_supervision_weight``)."""
    loss = criterion(outputs.mask, targets)
    if outputs.image is not None and network.classifier_weight > 0:
        loss = loss + network.classifier_weight * classifier_loss(outputs.image, targets)
    if outputs.deep and network.deep_supervision_weight > 0:
        loss = loss + network.deep_supervision_weight * deep_supervision_loss(
            outputs.deep, targets, criterion
        )
    return loss
