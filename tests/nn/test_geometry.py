"""Resize/pad to the network size and back: exact for padding, faithful for resizing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saltseg.nn.geometry import Geometry


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


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="expected an"):
        Geometry(pad=128).from_network(torch.zeros(1, 1, 101, 101))
    assert np.isclose(Geometry(pad=128, resize=110).inner, 110)
