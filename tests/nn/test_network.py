"""Building networks from the spec, and the errors for impossible combinations."""

from __future__ import annotations

import pytest
import torch

from saltseg.errors import SaltsegError
from saltseg.nn.network import build_model, check_output_shape
from saltseg.nn.outputs import split_outputs
from saltseg.nn.spec import NetworkSpec


def tiny(**kw) -> NetworkSpec:
    base = {"encoder": "resnet18", "encoder_depth": 3, "decoder_channels": [16, 16, 16]}
    return NetworkSpec(**{**base, **kw})


def test_unet_with_scse_and_classifier_head():
    model = build_model(tiny(decoder_attention="scse", classifier_head=True), in_channels=3).eval()
    with torch.no_grad():
        mask, label, _ = split_outputs(model(torch.randn(2, 3, 32, 32)))
    assert mask.shape == (2, 1, 32, 32) and label.shape == (2, 1)
    assert any("attention" in name for name, _ in model.named_modules())


def test_default_decoder_channels_follow_the_depth():
    model = build_model(tiny(decoder_channels=None), in_channels=1).eval()
    with torch.no_grad():
        mask, label, _ = split_outputs(model(torch.randn(1, 1, 32, 32)))
    assert mask.shape == (1, 1, 32, 32) and label is None


@pytest.mark.parametrize("arch", ["Unet", "UnetPlusPlus"])
def test_shallow_smp_encoders_carry_only_the_layers_they_use(arch):
    model = build_model(tiny(arch=arch), in_channels=2)
    # resnet18 cut at depth 3: layer3 and layer4 would hold 10.5 of its 11.2M parameters.
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    split_outputs(model(torch.randn(2, 2, 32, 32))).mask.square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


def test_other_architecture():
    model = build_model(tiny(arch="FPN", decoder_channels=None, encoder_depth=5), in_channels=2)
    check_output_shape(model, 2, 64)
    assert model.training


def test_output_shape_mismatch_is_explained():
    model = build_model(tiny(arch="FPN", decoder_channels=None), in_channels=1)
    with pytest.raises(SaltsegError, match="maps a 64x64 input to 256x256"):
        check_output_shape(model, 1, 64)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (tiny(encoder="resnet19"), "unknown encoder 'resnet19'"),
        (tiny(encoder="tu-not_a_model"), "unknown timm model"),
        (tiny(arch="Linknet"), "decoder_channels: not used by Linknet"),
    ],
)
def test_bad_combinations_raise_clear_errors(spec, message):
    with pytest.raises(SaltsegError, match=message):
        build_model(spec, in_channels=1)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"arch": "FPN", "decoder_attention": "scse"}, "FPN has no decoder attention"),
        ({"decoder_channels": [32, 16, 8], "decoder_attention": "scse"}, "scse needs"),
    ],
)
def test_the_spec_rejects_what_the_network_cannot_build(settings, message):
    # Checked when the config is read (snakemake -n), not when a job builds the network.
    base = {"encoder": "resnet18", "encoder_depth": 3}
    with pytest.raises(SaltsegError, match=message):
        NetworkSpec.parse({**base, **settings}, "config.yaml")


def test_imagenet_weights_offline_say_what_to_do(monkeypatch, tmp_path):
    hub = pytest.importorskip("huggingface_hub.constants")
    # An empty cache and no network: the download must fail fast and be explained.
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(SaltsegError, match="could not download") as info:
        build_model(tiny(encoder_weights="imagenet"), in_channels=1)
    assert "encoder_weights: null" in str(info.value)
    # Loading a checkpoint next does not need them.
    assert build_model(tiny(encoder_weights="imagenet"), in_channels=1, pretrained=False)
