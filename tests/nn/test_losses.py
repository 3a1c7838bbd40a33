"""Losses: finite, differentiable, and lovasz_elu right on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
from segmentation_models_pytorch.losses import LovaszLoss

from saltseg.nn.losses import (
    SegLoss,
    classifier_loss,
    deep_supervision_loss,
    lovasz_elu,
    lovasz_symmetric,
    total_loss,
)
from saltseg.nn.outputs import Outputs
from saltseg.nn.spec import NetworkSpec


def batch(seed: int = 0, scale: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.rand(4, 1, 16, 16, generator=g) * 2 - 1) * scale
    targets = torch.zeros(4, 1, 16, 16)
    targets[0, :, 8:] = 1
    targets[1, :, :, :5] = 1
    targets[3] = 1  # image 2 stays empty
    return logits, targets


@pytest.mark.parametrize("name", ["bce", "dice", "lovasz", "lovasz_elu", "lovasz_symmetric"])
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


def test_lovasz_symmetric_two_pixels_by_hand():
    # The salt term is the case above (2.25). The background term negates both: the background
    # pixel becomes salt with error 1 + 1.0 = 2.0, the salt pixel background with error 0.5;
    # sorted [2.0 (salt), 0.5], Jaccard loss 1 after each, gradient [1, 0], loss elu(2) + 1 = 3.
    logits = torch.tensor([0.5, 1.0]).view(1, 1, 1, 2)
    targets = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    assert lovasz_symmetric(logits, targets).item() == pytest.approx(0.5 * (2.25 + 3.0))


def test_lovasz_symmetric_teaches_every_pixel_of_an_empty_tile():
    # On an empty tile the salt Lovasz moves only its worst pixel; the background term all of them.
    logits = torch.linspace(-1.0, 1.0, 16).view(1, 1, 4, 4).requires_grad_(True)
    targets = torch.zeros(1, 1, 4, 4)
    lovasz_elu(logits, targets).backward()
    assert int((logits.grad != 0).sum()) == 1
    logits.grad = None
    lovasz_symmetric(logits, targets).backward()
    assert bool((logits.grad > 0).all())


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


@pytest.mark.parametrize("name", ["lovasz", "lovasz_elu", "lovasz_symmetric"])
def test_lovasz_losses_round_soft_targets_and_bce_takes_them_as_they_are(name):
    logits, targets = batch()
    soft = targets * 0.7 + (1 - targets) * 0.2  # the same sets, unsure probabilities
    assert SegLoss({name: 1.0})(logits, soft).item() == pytest.approx(
        SegLoss({name: 1.0})(logits, targets).item()
    )
    bce = SegLoss({"bce": 1.0})
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, soft)
    assert bce(logits, soft).item() == pytest.approx(expected.item())
    assert bce(logits, soft).item() != pytest.approx(bce(logits, targets).item())


def test_the_image_head_rounds_soft_targets():
    _, targets = batch()
    soft = targets * 0.7 + (1 - targets) * 0.2  # image 2: a faint 0.2 everywhere, no salt
    logits = torch.tensor([[0.0], [2.0], [1.0], [-1.0]])
    assert classifier_loss(logits, soft).item() == pytest.approx(
        classifier_loss(logits, targets).item()
    )


def test_classifier_loss_targets_non_empty_masks():
    _, targets = batch()
    right = torch.tensor([[5.0], [5.0], [-5.0], [5.0]])
    assert classifier_loss(right, targets).item() < 0.01
    assert classifier_loss(-right, targets).item() > 4.0


def test_classifier_loss_on_known_logits():
    # BCE by hand: -log(sigmoid(x)) for a non-empty mask, -log(1 - sigmoid(x)) for an empty one.
    _, targets = batch()  # image 2 is empty
    logits = torch.tensor([[0.0], [2.0], [1.0], [-1.0]])
    sig = torch.sigmoid(logits[:, 0])
    expected = (
        -(torch.log(sig[0]) + torch.log(sig[1]) + torch.log(1 - sig[2]) + torch.log(sig[3])) / 4
    )
    assert classifier_loss(logits, targets).item() == pytest.approx(expected.item(), rel=1e-6)


def test_empty_images_add_nothing_to_the_deep_supervision_loss():
    logits, targets = batch()  # image 2 is empty
    criterion = SegLoss({"bce": 1.0})
    deep = (logits, logits * 0.5)
    base = deep_supervision_loss(deep, targets, criterion)
    # Whatever the heads say about the empty image, the loss stays the same...
    changed = tuple(d.clone() for d in deep)
    for d in changed:
        d[2] = 100.0
    assert deep_supervision_loss(changed, targets, criterion).item() == pytest.approx(base.item())
    # ...and it is the mean over heads of the loss on the non-empty images alone.
    keep = [0, 1, 3]
    by_hand = (
        criterion(logits[keep], targets[keep]) + criterion(0.5 * logits[keep], targets[keep])
    ) / 2
    assert base.item() == pytest.approx(by_hand.item(), rel=1e-6)
    # A batch of empty images only: nothing at all.
    assert deep_supervision_loss(deep, torch.zeros_like(targets), criterion).item() == 0.0


def test_total_loss_weighs_the_image_and_deep_terms():
    logits, targets = batch()
    criterion = SegLoss({"lovasz_elu": 1.0})
    image = torch.tensor([[1.0], [1.0], [-1.0], [1.0]])
    network = NetworkSpec(
        arch="SaltNet", deep_supervision=True, classifier_weight=0.05, deep_supervision_weight=0.5
    )
    out = Outputs(logits, image, (logits * 2,))
    expected = (
        criterion(logits, targets)
        + 0.05 * classifier_loss(image, targets)
        + 0.5 * deep_supervision_loss(out.deep, targets, criterion)
    )
    assert total_loss(out, targets, criterion, network).item() == pytest.approx(expected.item())
    # Without heads (an smp model), the pixel loss alone.
    assert total_loss(Outputs(logits), targets, criterion, network).item() == pytest.approx(
        criterion(logits, targets).item()
    )
