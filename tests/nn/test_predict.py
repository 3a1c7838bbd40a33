"""Prediction: TTA is undone exactly, snapshots are averaged, maps come back at 101x101."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saltseg.errors import SaltsegError
from saltseg.nn.checkpoint import save_checkpoint
from saltseg.nn.network import build_model
from saltseg.nn.predict import predict
from saltseg.nn.samples import Samples
from tests.nn.test_train import tiles, tiny_spec


def random_checkpoint(path, spec, names=("best", "final"), seed=0):
    """A checkpoint of randomly initialised (hence not flip-equivariant) networks."""
    snaps = {}
    for k, name in enumerate(names):
        torch.manual_seed(seed + k)
        model = build_model(spec.model, spec.in_channels)
        snaps[name] = model.state_dict()
    save_checkpoint(path, snaps, spec, spec.in_channels)


def constant_checkpoint(path, spec, logits: dict[str, float]):
    """Each snapshot outputs one known logit everywhere (zero head weights, bias = the logit)."""
    model = build_model(spec.model, spec.in_channels)
    snaps = {}
    for name, value in logits.items():
        head = model.segmentation_head[0]
        with torch.no_grad():
            head.weight.zero_()
            head.bias.fill_(value)
        snaps[name] = {k: v.clone() for k, v in model.state_dict().items()}
    save_checkpoint(path, snaps, spec, spec.in_channels)


def flipped(samples: Samples) -> Samples:
    return Samples(np.ascontiguousarray(samples.images[:, :, ::-1]), None, samples.z)


@pytest.mark.parametrize("geometry", [{"pad": 32, "resize": 32}, {"pad": 128}])
def test_hflip_tta_is_the_mean_of_direct_and_flipped_back(tmp_path, geometry):
    spec = tiny_spec(input={**geometry, "channels": ["image", "ramp", "depth"]})
    random_checkpoint(tmp_path / "m.pt", spec)
    data = tiles(5)
    data = Samples(data.images, None, data.z)
    kw = {"threads": 1, "snapshots": "final", "batch_size": 2}
    direct = predict(tmp_path / "m.pt", data, tta=[], **kw)
    mirrored = predict(tmp_path / "m.pt", flipped(data), tta=[], **kw)[:, :, ::-1]
    with_tta = predict(tmp_path / "m.pt", data, tta=["hflip"], **kw)
    assert direct.shape == (5, 101, 101) and direct.dtype == np.float32
    assert not np.allclose(direct, mirrored, atol=1e-3)  # the network is not flip-equivariant
    np.testing.assert_allclose(with_tta, (direct + mirrored) / 2, atol=1e-5)


def test_snapshots_are_averaged(tmp_path):
    spec = tiny_spec(input={"pad": 64, "resize": 56, "channels": ["image"]})
    constant_checkpoint(tmp_path / "c.pt", spec, {"best": 0.0, "final": 2.0, "cycle1_1": -1.0})
    data = tiles(3)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    kw = {"threads": 1, "tta": ["hflip"]}
    both = predict(tmp_path / "c.pt", data, snapshots=["best", "final"], **kw)
    np.testing.assert_allclose(both, (sig(0.0) + sig(2.0)) / 2, atol=1e-6)
    single = predict(tmp_path / "c.pt", data, snapshots="final", **kw)
    np.testing.assert_allclose(single, sig(2.0), atol=1e-6)
    cycles = predict(tmp_path / "c.pt", data, snapshots="cycles", **kw)
    np.testing.assert_allclose(cycles, sig(-1.0), atol=1e-6)
    everything = predict(tmp_path / "c.pt", data, snapshots="all", **kw)
    np.testing.assert_allclose(everything, (sig(0.0) + sig(2.0) + sig(-1.0)) / 3, atol=1e-6)


def test_defaults_come_from_the_checkpoint_spec(tmp_path):
    spec = tiny_spec(predict={"snapshots": ["final"], "tta": [], "batch_size": 2})
    constant_checkpoint(tmp_path / "c.pt", spec, {"best": 0.0, "final": 3.0})
    out = predict(tmp_path / "c.pt", tiles(3), threads=1)
    np.testing.assert_allclose(out, 1.0 / (1.0 + np.exp(-3.0)), atol=1e-6)


def test_prediction_errors(tmp_path):
    spec = tiny_spec()
    constant_checkpoint(tmp_path / "c.pt", spec, {"best": 0.0, "final": 1.0})
    data = tiles(2)
    with pytest.raises(SaltsegError, match="no snapshot 'cycle9_9'"):
        predict(tmp_path / "c.pt", data, snapshots=["cycle9_9"], threads=1)
    with pytest.raises(SaltsegError, match="unknown TTA 'vflip'"):
        predict(tmp_path / "c.pt", data, tta=["vflip"], threads=1)
    with pytest.raises(SaltsegError, match="checkpoint not found"):
        predict(tmp_path / "none.pt", data, threads=1)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SaltsegError, match="not a readable checkpoint"):
        predict(tmp_path / "bad.pt", data, threads=1)
    assert predict(tmp_path / "c.pt", Samples(data.images[:0], None, data.z[:0])).shape == (
        0,
        101,
        101,
    )


def test_classifier_threshold_empties_tiles(tmp_path):
    spec = tiny_spec(
        model={"encoder": "resnet18", "encoder_depth": 3, "decoder_channels": [16, 16, 16],
               "classifier_head": True},
        predict={"classifier_threshold": 0.5, "snapshots": "final", "tta": []},
    )  # fmt: skip
    model = build_model(spec.model, spec.in_channels)
    with torch.no_grad():
        model.segmentation_head[0].weight.zero_()
        model.segmentation_head[0].bias.fill_(4.0)
        model.classification_head[-2].weight.zero_()  # pool, flatten, dropout, linear, act
        model.classification_head[-2].bias.fill_(-4.0)
    save_checkpoint(tmp_path / "c.pt", {"final": model.state_dict()}, spec, spec.in_channels)
    assert predict(tmp_path / "c.pt", tiles(2), threads=1).max() == 0.0
    # the workflow's predict settings override the checkpoint's (which training leaves out)
    low = predict(tmp_path / "c.pt", tiles(2), threads=1, classifier_threshold=0.001)
    assert low.min() > 0.9


def test_bf16_prediction_is_close_to_float32(tmp_path):
    spec = tiny_spec(input={"pad": 64, "resize": 56, "channels": ["image", "ramp"]})
    random_checkpoint(tmp_path / "m.pt", spec)
    data = tiles(4)
    data = Samples(data.images, None, data.z)
    kw = {"threads": 1, "snapshots": "final", "tta": ["hflip"], "device": "cpu"}
    full = predict(tmp_path / "m.pt", data, precision="fp32", **kw)
    half = predict(tmp_path / "m.pt", data, precision="bf16", **kw)
    assert half.shape == (4, 101, 101) and half.dtype == np.float32
    assert not np.array_equal(full, half)  # bf16 really ran
    np.testing.assert_allclose(half, full, atol=0.03)


def test_compiled_prediction_matches_the_plain_network(tmp_path, caplog):
    # 5 tiles in batches of 2: the last batch is padded to the compiled graph's size.
    spec = tiny_spec(input={"pad": 32, "resize": 32, "channels": ["image", "ramp"]})
    random_checkpoint(tmp_path / "m.pt", spec)
    data = tiles(5)
    data = Samples(data.images, None, data.z)
    kw = {"threads": 1, "snapshots": "all", "batch_size": 2, "tta": ["hflip"]}
    plain = predict(tmp_path / "m.pt", data, **kw)
    compiled = predict(tmp_path / "m.pt", data, compile=True, **kw)
    assert "torch.compile failed" not in caplog.text
    np.testing.assert_allclose(compiled, plain, atol=1e-4)


def test_a_failing_compiler_falls_back_to_the_plain_network(tmp_path, monkeypatch, caplog):
    def broken(model, **_):
        def run(x):
            raise RuntimeError("InductorError: no C++ compiler found\nmore detail")

        return run

    monkeypatch.setattr(torch, "compile", broken)
    spec = tiny_spec(input={"pad": 32, "resize": 32, "channels": ["image"]})
    random_checkpoint(tmp_path / "m.pt", spec)
    data = tiles(3)
    data = Samples(data.images, None, data.z)
    kw = {"threads": 1, "snapshots": "final", "batch_size": 2, "tta": []}
    plain = predict(tmp_path / "m.pt", data, **kw)
    with caplog.at_level("WARNING"):
        fallback = predict(tmp_path / "m.pt", data, compile=True, **kw)
    assert caplog.text.count("torch.compile failed (InductorError: no C++ compiler found)") == 1
    np.testing.assert_array_equal(fallback, plain)
