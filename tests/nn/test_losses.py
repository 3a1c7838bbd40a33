"""Losses: finite, differentiable, and lovasz_elu right on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
from segmentation_models_pytorch.losses import LovaszLoss

from saltseg.nn.losses import SegLoss, classifier_loss, lovasz_elu


def batch(seed: int = 0, scale: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.rand(4, 1, 16, 16, generator=g) * 2 - 1) * scale
    targets = torch.zeros(4, 1, 16, 16)
    targets[0, :, 8:] = 1
    targets[1, :, :, :5] = 1
    targets[3] = 1  # image 2 stays empty
    return logits, targets


@pytest.mark.parametrize("name", ["bce", "dice", "lovasz", "lovasz_elu"])
def test_each_loss_is_finite_and_differentiable(name):
    logits, targets = batch()
    logits.requires_grad_(True)
    loss = SegLoss({name: 1.0})(logits, targets)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_lovasz_elu_one_pixel_by_hand():
    # One salt pixel with logit x: error 1 - x, Lovasz gradient [1], loss elu(1 - x) + 1.
    t = torch.ones(1, 1, 1, 1)
    assert lovasz_elu(torch.zeros(1, 1, 1, 1), t).item() == pytest.approx(2.0)
    assert lovasz_elu(torch.full((1, 1, 1, 1), 3.0), t).item() == pytest.approx(math.exp(-2.0))


def test_lovasz_elu_two_pixels_by_hand():
    # Salt pixel with logit 0.5 (hinge error 0.5), background pixel with logit 1.0 (error 2.0).
    # Sorted errors [2.0 (bg), 0.5 (salt)]; Jaccard loss after each: 1 - 1/2 = 0.5, then
    # 1 - 0/2 = 1.0, so the Lovasz gradient is [0.5, 0.5] and the loss
    # 0.5 * (elu(2.0) + 1) + 0.5 * (elu(0.5) + 1) = 0.5 * 3 + 0.5 * 1.5.
    logits = torch.tensor([0.5, 1.0]).view(1, 1, 1, 2)
    targets = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    assert lovasz_elu(logits, targets).item() == pytest.approx(0.5 * 3.0 + 0.5 * 1.5)


def test_lovasz_elu_equals_lovasz_hinge_plus_one_below_the_margin():
    # With |logits| < 1 every hinge error is positive, where elu(e) + 1 = relu(e) + 1 and the
    # Lovasz gradient sums to 1 per image.
    logits, targets = batch(scale=0.9)
    expected = LovaszLoss(mode="binary", per_image=True)(logits, targets) + 1.0
    assert lovasz_elu(logits, targets).item() == pytest.approx(expected.item(), rel=1e-5)


def test_lovasz_elu_averages_images():
    logits, targets = batch(seed=3)
    each = [lovasz_elu(logits[i : i + 1], targets[i : i + 1]) for i in range(4)]
    assert lovasz_elu(logits, targets).item() == pytest.approx(torch.stack(each).mean().item())


def test_weighted_sum():
    logits, targets = batch()
    combo = SegLoss({"bce": 0.5, "dice": 2.0})(logits, targets)
    parts = 0.5 * SegLoss({"bce": 1})(logits, targets) + 2.0 * SegLoss({"dice": 1})(logits, targets)
    assert combo.item() == pytest.approx(parts.item())
    with pytest.raises(ValueError, match="unknown losses"):
        SegLoss({"focal": 1.0})


def test_classifier_loss_targets_non_empty_masks():
    _, targets = batch()
    right = torch.tensor([[5.0], [5.0], [-5.0], [5.0]])
    assert classifier_loss(right, targets).item() < 0.01
    assert classifier_loss(-right, targets).item() > 4.0
