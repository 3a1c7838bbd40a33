"""SaltNet: shapes for the recipe's geometries, every option alone and combined, gradients,
checkpoints, and the spec's checks."""

from __future__ import annotations

import pytest
import torch

from saltseg.errors import SaltsegError
from saltseg.nn.checkpoint import load_checkpoint, save_checkpoint
from saltseg.nn.network import build_model
from saltseg.nn.outputs import split_outputs
from saltseg.nn.saltnet.blocks import FPA, PixelHead, resize_to
from saltseg.nn.spec import ModelSpec, NetworkSpec

SMALL = {"arch": "SaltNet", "encoder": "resnet18", "decoder_channels": [32, 16, 16, 16, 16]}
OPTIONS = {
    "plain": {},
    "encoder_attention": {"encoder_attention": "scse"},
    "center": {"center": "fpa"},
    "hypercolumn": {"hypercolumn": True},
    "stem": {"stem": "stride1"},
    "transpose": {"decoder_upsample": "transpose", "decoder_attention": "scse"},
    "deep_supervision": {"deep_supervision": True},
    "classifier": {"classifier_head": True},
}
ALL = {k: v for o in OPTIONS.values() for k, v in o.items()}
# The recipe's geometries: 101 -> pad 128 (stage 3), 101 -> 202 -> 256 (B), 101 -> 192 -> 224 (A).
SIDES = (128, 256, 224)


def saltnet(**options) -> torch.nn.Module:
    return build_model(NetworkSpec(**{**SMALL, **options}), in_channels=3)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("name", [*OPTIONS, "all"])
def test_output_shapes(name, side):
    options = ALL if name == "all" else OPTIONS[name]
    model = saltnet(**options)
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        train_out = model(x)
        eval_out = model.eval()(x)
    assert train_out.mask.shape == eval_out.mask.shape == (2, 1, side, side)
    image_head = options.get("deep_supervision") or options.get("classifier_head")
    assert (eval_out.image is not None) == bool(image_head)
    if image_head:
        assert eval_out.image.shape == (2, 1)
    # Deep-supervision maps, one per decoder level at full size, only while training.
    n_deep = 5 if options.get("deep_supervision") else 0
    assert len(train_out.deep) == n_deep and eval_out.deep == ()
    assert all(d.shape == (2, 1, side, side) for d in train_out.deep)


@pytest.mark.parametrize("name", [*OPTIONS, "all"])
def test_gradients_reach_every_parameter(name):
    model = saltnet(**(ALL if name == "all" else OPTIONS[name]))
    out = split_outputs(model(torch.randn(2, 3, 64, 64)))
    loss = out.mask.square().mean() + sum(d.square().mean() for d in out.deep)
    if out.image is not None:
        loss = loss + out.image.square().mean()
    loss.backward()
    # (None: not in the graph at all; a zero gradient can be a unit ReLU switched off by chance.)
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    assert sum(bool(p.grad.any()) for p in model.parameters()) > 0.9 * len(list(model.parameters()))


def test_options_change_the_network():
    modules = {type(m).__name__ for m in saltnet(**ALL).modules()}
    assert {"FPA", "Attended", "SCSEModule", "ConvTranspose2d", "ImageHead"} <= modules
    plain = saltnet()
    assert not any(
        type(m).__name__ in {"FPA", "Attended", "ConvTranspose2d"} for m in plain.modules()
    )
    # The stride-1 stem keeps the first two levels at the input's resolution.
    stem = saltnet(stem="stride1").encoder
    assert stem.conv1.kernel_size == (3, 3) and stem.conv1.stride == (1, 1)
    features = stem(torch.zeros(1, 3, 64, 64))
    assert [f.shape[-1] for f in features] == [64, 64, 64, 32, 16, 8]


def test_scse_follows_every_resnet_stage():
    encoder = saltnet(encoder_attention="scse").encoder
    assert all(type(getattr(encoder, f"layer{k}")).__name__ == "Attended" for k in range(1, 5))


@pytest.mark.parametrize("encoder", ["mobilenet_v2", "tu-resnet18"])
def test_other_encoders_work_with_every_option_but_the_stem(encoder):
    options = {k: v for k, v in ALL.items() if k != "stem"}
    model = build_model(
        NetworkSpec(**{**SMALL, "encoder": encoder, **options}), in_channels=2
    ).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 2, 128, 128)).mask.shape == (1, 1, 128, 128)
    with pytest.raises(SaltsegError, match="stride1 needs a ResNet-style encoder"):
        build_model(NetworkSpec(**{**SMALL, "encoder": encoder, "stem": "stride1"}), 2)


def test_shallow_encoders_drop_the_unused_layers():
    model = build_model(
        NetworkSpec(**{**SMALL, "encoder_depth": 3, "decoder_channels": [16, 16, 16]}), 1
    ).eval()
    assert isinstance(model.encoder.layer3, torch.nn.Identity)
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 32, 32)).mask.shape == (1, 1, 32, 32)


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    spec = ModelSpec.from_dict(
        {
            "model": {**SMALL, **ALL},
            "input": {"pad": 128, "channels": ["image", "ramp", "image_ramp"]},
            "train": {"phases": [{"loss": {"lovasz_elu": 1.0}, "epochs": 1}]},
        }
    )
    model = build_model(spec.model, spec.in_channels).eval()
    save_checkpoint(tmp_path / "m.pt", {"final": model.state_dict()}, spec, spec.in_channels)
    ckpt = load_checkpoint(tmp_path / "m.pt")  # torch.load(weights_only=True) inside
    assert ckpt.spec == spec
    again = build_model(ckpt.spec.model, ckpt.in_channels, pretrained=False).eval()
    again.load_state_dict(ckpt.snapshots["final"])  # strict: every key fits
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(model(x).mask, again(x).mask)


def test_fpa_keeps_the_shape_of_small_and_odd_maps():
    fpa = FPA(8, 4).eval()
    for side in (1, 4, 7, 16):
        with torch.no_grad():
            assert fpa(torch.randn(2, 8, side, side)).shape == (2, 4, side, side)


def test_fpa_runs_in_float32_under_bf16_autocast():
    # bf16 weight gradients of its one-channel convolutions on 1x1 maps were not always finite
    # on an AMX CPU; the centre stays in float32 while the rest of the network autocasts.
    torch.manual_seed(0)
    fpa = FPA(8, 4).train()
    x = torch.randn(4, 8, 2, 2, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fpa(x)
        assert torch.nn.Conv2d(4, 2, 1)(out).dtype == torch.bfloat16  # what follows still autocasts
    assert out.dtype == torch.float32
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in fpa.parameters())


def test_hypercolumn_head_equals_a_conv_over_the_concatenation():
    # The head sums per-level 1x1 convs, upsampled: the same as one 1x1 conv over the
    # concatenation of the upsampled levels (both steps are linear).
    torch.manual_seed(0)
    head = PixelHead([4, 2], 3).eval()
    levels = [torch.randn(1, 4, 4, 4), torch.randn(1, 2, 8, 8)]
    weight = torch.cat([conv.weight for conv in head.levels], dim=1)
    stacked = torch.cat([resize_to(v, (16, 16)) for v in levels], dim=1)
    direct = torch.nn.functional.conv2d(stacked, weight)
    fused = sum(resize_to(conv(v), (16, 16)) for conv, v in zip(head.levels, levels, strict=True))
    assert torch.allclose(direct, fused, atol=1e-5)
    with torch.no_grad():
        assert head(levels, (16, 16)).shape == (1, 1, 16, 16)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"arch": "Unet", "center": "fpa"}, "center: only the SaltNet architecture has it"),
        ({"arch": "FPN", "hypercolumn": True}, "hypercolumn: only the SaltNet"),
        ({"arch": "Unet", "stem": "stride1"}, "stem: only the SaltNet"),
        ({"arch": "Unet", "deep_supervision": True}, "deep_supervision: only the SaltNet"),
        ({**SMALL, "stem": "stride1", "encoder_depth": 1, "decoder_channels": [16]}, "depth >= 2"),
        ({**SMALL, "center": "pyramid"}, "center"),
        ({**SMALL, "decoder_upsample": "nearest"}, "decoder_upsample"),
    ],
)
def test_spec_rejects_saltnet_keys_where_they_do_not_apply(model, message):
    with pytest.raises(SaltsegError, match=message):
        ModelSpec.from_dict(
            {"model": model, "train": {"phases": [{"loss": {"bce": 1}, "epochs": 1}]}}
        )


def test_the_stride1_stem_relaxes_the_pad_check():
    phases = {"phases": [{"loss": {"bce": 1}, "epochs": 1}]}
    stem = {**SMALL, "stem": "stride1"}
    assert ModelSpec.from_dict({"model": stem, "input": {"pad": 104}, "train": phases})
    with pytest.raises(SaltsegError, match="not a multiple of 32"):
        ModelSpec.from_dict({"model": SMALL, "input": {"pad": 104}, "train": phases})
