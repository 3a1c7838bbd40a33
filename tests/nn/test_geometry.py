"""Resize/pad to the network size and back: exact for padding, faithful for resizing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saltseg.nn.geometry import Geometry
from saltseg.nn.spec import ModelSpec


def smooth_maps(n: int = 3) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 1, 101), torch.linspace(0, 1, 101), indexing="ij")
    maps = [torch.sin(3 * x + k) * torch.cos(2 * y - k) for k in range(n)]
    return torch.stack(maps)[:, None]


@pytest.mark.parametrize("pad", [101, 128, 160])
def test_pad_round_trip_is_exact(pad):
    g = Geometry(pad=pad)
    x = torch.rand(2, 3, 101, 101)
    y = g.to_network(x)
    assert y.shape == (2, 3, pad, pad)
    assert torch.equal(g.from_network(y), x)


def test_padding_reflects_and_centres():
    g = Geometry(pad=128)
    assert g.margins == (13, 14)
    x = torch.arange(101.0).view(1, 1, 1, 101).expand(1, 1, 101, 101)
    y = g.to_network(x)
    # Reflection without repeating the edge pixel: ... 2 1 | 0 1 2 ... 100 | 99 98 ...
    assert y[0, 0, 50, 12].item() == 1.0 and y[0, 0, 50, 13].item() == 0.0
    assert y[0, 0, 50, 113].item() == 100.0 and y[0, 0, 50, 114].item() == 99.0


# Tolerance in units of the largest change between neighbouring pixels: a one-pixel shift would
# be off by about 1; downscaling to 56 loses detail that cannot come back.
@pytest.mark.parametrize(
    ("resize", "pad", "tol"), [(202, 256, 0.15), (192, 224, 0.15), (128, 128, 0.15), (56, 64, 0.45)]
)
def test_resize_round_trip_recovers_smooth_maps(resize, pad, tol):
    g = Geometry(pad=pad, resize=resize)
    x = smooth_maps()
    step = (x[..., 1:] - x[..., :-1]).abs().max().item()
    y = g.to_network(x)
    assert y.shape == (3, 1, pad, pad)
    back = g.from_network(y)
    assert back.shape == x.shape
    assert (back - x).abs().max().item() < tol * step
    shifted = torch.roll(x, 1, dims=-1)[..., 1:]
    assert (shifted - x[..., 1:]).abs().max().item() > 0.9 * step


def test_image_and_mask_stay_aligned():
    g = Geometry(pad=256, resize=202)
    mask = torch.zeros(1, 1, 101, 101)
    mask[..., 40:, 30:70] = 1
    image = mask * 200.0 + 20.0
    img_net = g.to_network(image)
    mask_net = g.mask_to_network(mask.bool())
    assert set(mask_net.unique().tolist()) == {0.0, 1.0}
    agree = ((img_net > 120) == (mask_net > 0.5)).float().mean().item()
    assert agree > 0.995
    recovered = g.from_network(mask_net) > 0.5
    assert (recovered == mask.bool()).float().mean().item() > 0.995


def test_a_soft_mask_is_resized_as_it_is_and_a_binary_one_stays_binary():
    g = Geometry(pad=64, resize=56)
    mask = torch.zeros(1, 1, 101, 101)
    mask[..., :, 50:] = 1
    binary = g.mask_to_network(mask.to(torch.uint8))
    assert set(binary.unique().tolist()) == {0.0, 1.0}
    soft = g.mask_to_network(mask * 0.8)
    assert soft.max().item() == pytest.approx(0.8)
    between = soft[(soft > 0.01) & (soft < 0.79)]
    assert between.numel() > 0  # the boundary column keeps its blend
    assert torch.equal(soft > 0.4, binary > 0.5)


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="expected an"):
        Geometry(pad=128).from_network(torch.zeros(1, 1, 101, 101))
    assert np.isclose(Geometry(pad=128, resize=110).inner, 110)


def test_probabilities_map_logits_or_probabilities_back():
    # Confident salt (large logits) next to weak sediment (small negative ones), as a network
    # trained with BCE often gives: the two orders draw the boundary differently.
    raw = torch.randn(2, 1, 64, 64, generator=torch.manual_seed(0))
    logits = torch.where(raw > 0, 12 * raw, raw)
    sigmoid_first = Geometry(pad=64, resize=56).probabilities(logits)
    logits_first = Geometry(pad=64, resize=56, map_logits=True).probabilities(logits)
    assert sigmoid_first.shape == logits_first.shape == (2, 1, 101, 101)
    g = Geometry(pad=64, resize=56)
    assert torch.equal(logits_first, torch.sigmoid(g.from_network(logits)))
    # Bilinear logits reach further into the weak side than bilinear probabilities.
    assert (logits_first > 0.5).sum() > (sigmoid_first > 0.5).sum()
    # Without a resize mapping back is a crop, and the order does not matter.
    a = Geometry(pad=128).probabilities(torch.randn(2, 1, 128, 128, generator=torch.manual_seed(0)))
    b = Geometry(pad=128, map_logits=True).probabilities(
        torch.randn(2, 1, 128, 128, generator=torch.manual_seed(0))
    )
    assert torch.allclose(a, b)


def test_a_model_trained_on_the_tile_maps_its_logits_back():
    spec = {
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_weights": None},
        "input": {"resize": 56, "pad": 64},
        "train": {"phases": [{"loss": {"bce": 1.0}, "epochs": 1}]},
    }
    assert Geometry.of_model(ModelSpec.from_dict(spec)) == Geometry(64, 56, map_logits=False)
    spec["train"]["loss_at"] = "tile"
    assert Geometry.of_model(ModelSpec.from_dict(spec)) == Geometry(64, 56, map_logits=True)
