"""``saltseg predict-section`` end to end with a known bundle: outputs, headers, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
import segyio
import torch

from saltseg.bundle.manifest import Member, write_manifest
from saltseg.data.kaggle import read_tiles
from saltseg.errors import SaltsegError
from saltseg.nn.checkpoint import save_checkpoint
from saltseg.nn.network import build_model
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec
from saltseg.nn.train import train
from saltseg.section.segy import write_segy_line
from saltseg.steps.section import predict_section_file, synth_section_files
from saltseg.synth.generate import generate
from tests.nn.test_train import tiny_spec
from tests.section.test_segy import volume


def half_bundle(folder):
    """A bundle whose one model outputs probability 0.5 everywhere (all weights zero), with
    threshold 0.4: every pixel is salt."""
    spec = tiny_spec(input={"resize": 32, "pad": 32, "channels": ["image"]})
    model = build_model(spec.model, spec.in_channels)
    folder.mkdir()
    rel = "models/stage1/a/fold0.pt"
    (folder / rel).parent.mkdir(parents=True)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    save_checkpoint(folder / rel, {"final": model.state_dict()}, spec, spec.in_channels)
    member = Member("stage1", "a", 1.0, (rel,), {"tta": [], "snapshots": "final"})
    extra = {"depth_fill": 500.0, "grey": {"mean": 100, "std": 20}}
    write_manifest(
        folder, [member], threshold=0.4, postprocess={"min_component": 0}, oof_scores=[],
        extra=extra,
    )  # fmt: skip
    return folder


def test_a_segy_line_gives_every_output_with_the_inputs_headers(tmp_path):
    bundle = half_bundle(tmp_path / "bundle")
    amplitudes = np.random.default_rng(0).normal(0, 1000, (160, 230)).astype(np.float32)
    write_segy_line(amplitudes, tmp_path / "line.sgy")
    out = tmp_path / "out"
    summary = predict_section_file(bundle, tmp_path / "line.sgy", out, stride=60, device="cpu")
    # A zeroed network outputs logit 0 everywhere: probability 0.5 > threshold 0.4.
    prob = np.load(out / "probability.npy")
    mask = np.load(out / "mask.npy")
    assert prob.shape == mask.shape == (160, 230)
    np.testing.assert_allclose(prob, 0.5, atol=1e-5)
    assert mask.all() and summary["salt_fraction"] == 1.0 and summary["line"] == "2-D line"
    assert json.loads((out / "summary.json").read_text())["shape"] == [160, 230]
    with segyio.open(out / "mask.sgy", ignore_geometry=True) as f:
        assert f.tracecount == 230
        assert f.header[17][segyio.TraceField.CDP] == 18
        np.testing.assert_array_equal(f.trace.raw[:].T, np.ones((160, 230), np.float32))
    assert (out / "overlay.png").stat().st_size > 1000


def test_npy_and_png_sections_and_the_cli(tmp_path):
    bundle = half_bundle(tmp_path / "bundle")
    section = np.random.default_rng(1).integers(0, 256, (120, 150)).astype(np.uint8)
    np.save(tmp_path / "s.npy", section)
    predict_section_file(bundle, tmp_path / "s.npy", tmp_path / "a", device="cpu")
    assert not (tmp_path / "a" / "mask.sgy").exists()
    cmd = [
        sys.executable, "-m", "saltseg.cli", "predict-section", str(bundle),
        str(tmp_path / "s.npy"), str(tmp_path / "b"), "--device", "cpu", "--stride", "33",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert np.load(tmp_path / "b" / "mask.npy").shape == (120, 150)


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (lambda d: np.save(d / "s.npy", np.zeros((3, 200, 200))), {}, "expected a 2-D section"),
        (lambda d: np.save(d / "s.npy", np.zeros((90, 200))), {}, "at least 101x101"),
        (lambda d: np.save(d / "s.npy", np.full((200, 200), np.nan)), {}, "NaN or infinite"),
        (lambda d: np.save(d / "s.npy", np.zeros((200, 200))), {"inline": 3}, "for SEG-Y volumes"),
        (lambda d: np.save(d / "s.npy", np.zeros((200, 200))), {"stride": 0}, "--stride"),
        (
            lambda d: np.save(d / "s.npy", np.zeros((200, 200))),
            {"clip_percentile": 50},
            "--clip-percentile must be in",
        ),
        (
            lambda d: np.save(d / "s.npy", np.zeros((200, 200))),
            {"batch_windows": 0},
            "--batch-windows",
        ),
        (lambda d: (d / "s.sgy").write_bytes(b"\0" * 500), {}, "not a readable SEG-Y"),
        (lambda d: volume(d / "s.sgy"), {}, "a 3-D volume .* choose one line with --inline"),
        (lambda d: volume(d / "s.sgy"), {"inline": 99}, r"no inline 99 \(inlines 10..12\)"),
        (lambda d: None, {}, "file not found"),
    ],
)
def test_bad_sections_are_one_line_errors_and_write_nothing(tmp_path, make, kwargs, message):
    bundle = half_bundle(tmp_path / "bundle")
    make(tmp_path)
    source = tmp_path / ("s.sgy" if (tmp_path / "s.sgy").exists() else "s.npy")
    with pytest.raises(SaltsegError, match=message):
        predict_section_file(bundle, source, tmp_path / "out", device="cpu", **kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_trained_bundle_finds_the_salt_of_an_unseen_section(tmp_path):
    # A small U-Net trained for 6 epochs (about 40 s) on 192 labelled synthetic tiles, then a
    # section of another seed, written as SEG-Y, predicted window by window.
    generate(tmp_path / "data", seed=1, sections=4, rows=4, cols=12, train_fraction=1.0,
             contact_sheet=False)  # fmt: skip
    tiles = read_tiles(tmp_path / "data").split("train")
    spec = ModelSpec.from_dict({
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_weights": None,
                  "encoder_depth": 3, "decoder_channels": [32, 16, 16]},
        "input": {"resize": 64, "pad": 64, "channels": ["image"]},
        "augment": {"hflip": 0.5},
        "train": {"batch_size": 16, "phases": [{
            "name": "a", "loss": {"bce": 1.0, "dice": 1.0}, "epochs": 6,
            "optimizer": {"name": "adam", "lr": 3.0e-3},
            "schedule": {"name": "cosine", "cycles": 1, "min_lr": 1.0e-4}}]},
    })  # fmt: skip
    bundle = tmp_path / "bundle"
    (bundle / "models").mkdir(parents=True)
    samples = Samples(tiles.images, tiles.masks, tiles.depths())
    train(spec, samples, samples, bundle / "models" / "a.pt", tmp_path / "h.csv",
          tmp_path / "c.png", seed=0, device="cpu", threads=2)  # fmt: skip
    member = Member("stage1", "a", 1.0, ("models/a.pt",), {"snapshots": "final", "tta": []})
    grey = {"mean": float(tiles.images.mean()), "std": float(tiles.images.std())}
    write_manifest(
        bundle, [member], threshold=0.5, postprocess={"min_component": 10}, oof_scores=[],
        extra={"depth_fill": 500.0, "grey": grey},
    )  # fmt: skip
    info = synth_section_files(tmp_path / "section", seed=7, rows=4, cols=9)
    summary = predict_section_file(
        bundle, tmp_path / "section" / "section.sgy", tmp_path / "out", device="cpu",
        truth=tmp_path / "section" / "salt.npy", depth_top=info["depth_top"],
        depth_step=info["depth_step"],
    )  # fmt: skip
    # Chance: the IoU of a mask as salty as the prediction placed independently of the truth.
    p, q = summary["salt_fraction"], info["salt_fraction"]
    chance = p * q / (p + q - p * q)
    assert summary["iou"] > max(2.5 * chance, 0.4), (summary, chance)
