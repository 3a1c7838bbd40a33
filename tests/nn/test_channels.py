"""Input channels: image, depth, ramp, image x ramp, the tile-standardised image and the trace
envelope."""

from __future__ import annotations

import pytest
import torch

from saltseg.nn.channels import (
    DEPTH_MEAN,
    DEPTH_STD,
    IMAGE_MEAN,
    IMAGE_STD,
    TILE_STD_FLOOR,
    build_channels,
    trace_envelope,
)


def test_each_channel_has_the_documented_values():
    images = torch.full((2, 101, 101), 255, dtype=torch.uint8)
    images[1] = 0
    z = torch.tensor([DEPTH_MEAN, DEPTH_MEAN + DEPTH_STD])
    x = build_channels(images, z, ["image", "depth", "ramp", "image_ramp"])
    assert x.shape == (2, 4, 101, 101) and x.dtype == torch.float32
    assert x[0, 0].allclose(torch.tensor((1.0 - IMAGE_MEAN) / IMAGE_STD))
    assert x[1, 0].allclose(torch.tensor(-IMAGE_MEAN / IMAGE_STD))
    assert x[0, 1].allclose(torch.tensor(0.0)) and x[1, 1].allclose(torch.tensor(1.0))
    ramp = x[0, 2]
    assert ramp[0].eq(0).all() and ramp[-1].eq(1).all()
    assert torch.equal(ramp[:, 0], ramp[:, 50])  # constant along each row
    assert (ramp[1:, 0] > ramp[:-1, 0]).all()  # grows downwards
    assert torch.allclose(x[0, 3], ramp) and x[1, 3].eq(0).all()


def test_image_tile_is_standardised_per_tile_and_blind_to_brightness_and_contrast():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(60, 120, (2, 101, 101), dtype=torch.uint8, generator=g)
    images[1] = images[0] * 2 + 10  # the same tile, brighter and with twice the contrast
    x = build_channels(images, torch.zeros(2), ["image_tile"])[:, 0]
    assert x[0].mean().abs() < 1e-4 and (x[0].std() - 1).abs() < 1e-4
    assert torch.allclose(x[0], x[1], atol=1e-4)
    flat = torch.full((1, 101, 101), 200, dtype=torch.uint8)
    flat[0, 0, 0] = 201  # nearly blank: the floor keeps one grey level small
    y = build_channels(flat, torch.zeros(1), ["image_tile"])[0, 0]
    assert y.abs().max() <= 1 / 255 / TILE_STD_FLOOR + 1e-4


def test_trace_envelope_follows_each_traces_amplitude_and_not_its_phase():
    rows = torch.arange(101, dtype=torch.float32).view(101, 1)
    amplitude = 0.05 + 0.3 * rows / 100 * torch.ones(1, 3)  # growing downwards, 3 columns
    amplitude[:, 1] = 0.35 - 0.3 * rows[:, 0] / 100  # shrinking downwards
    phase = torch.tensor([0.0, 1.0, 2.5])  # the traces' reflectors at different depths
    grey = (0.5 + amplitude * torch.cos(2 * torch.pi * rows / 8 + phase)).unsqueeze(0)
    envelope = trace_envelope(grey)[0]
    inner = slice(10, 91)  # the ends see the mirrored trace
    assert (envelope[inner] - amplitude[inner]).abs().max() < 0.02
    # a constant trace has no envelope; a brighter copy of a tile has the same one
    assert trace_envelope(torch.full((1, 101, 4), 0.7)).abs().max() < 1e-6
    assert torch.allclose(trace_envelope(grey + 0.1), envelope, atol=1e-5)


def test_envelope_channel_is_standardised_per_tile_and_blind_to_contrast():
    g = torch.Generator().manual_seed(1)
    images = torch.randint(60, 120, (2, 101, 101), dtype=torch.uint8, generator=g)
    images[1] = images[0] * 2 + 10
    x = build_channels(images, torch.zeros(2), ["envelope"])[:, 0]
    assert x[0].mean().abs() < 1e-4 and (x[0].std() - 1).abs() < 1e-4
    assert torch.allclose(x[0], x[1], atol=1e-3)


def test_channel_order_follows_the_names():
    images = torch.randint(0, 256, (1, 101, 101), dtype=torch.uint8)
    a = build_channels(images, torch.zeros(1), ["ramp", "image"])
    b = build_channels(images, torch.zeros(1), ["image", "ramp"])
    assert torch.equal(a[:, 0], b[:, 1]) and torch.equal(a[:, 1], b[:, 0])


def test_unknown_channel_is_rejected():
    with pytest.raises(ValueError, match="unknown channel"):
        build_channels(torch.zeros(1, 101, 101, dtype=torch.uint8), torch.zeros(1), ["rgb"])
