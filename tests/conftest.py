"""Shared fixtures: tiny Kaggle-layout folders in the exact quirky formats of the real files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from saltseg import postprocess, rle
from saltseg.nn import device


@pytest.fixture(autouse=True)
def _float32_on_any_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """precision "auto" keeps float32 in tests on every CPU, AMX or not, so that tolerances hold
    on any machine; tests/nn/test_device.py checks the AMX choice itself."""
    monkeypatch.setattr(device, "cpu_has_amx_bf16", lambda: False)


@pytest.fixture(autouse=True)
def _seeded_torch() -> None:
    """Every test starts from the same torch random state, whichever tests a pytest-xdist worker
    ran before it: a random initialisation can switch off a squeeze-excitation unit (16 channels
    with reduction 16 leave it one ReLU) and zero its gradients by chance."""
    torch.manual_seed(0)


def write_image(path: Path, image: np.ndarray, rgb: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.repeat(image[:, :, None], 3, axis=2) if rgb else image
    assert cv2.imwrite(str(path), data)


def write_mask(path: Path, mask: np.ndarray) -> None:
    """Salt masks as 16-bit 0/65535, empty masks as 8-bit zeros, like Kaggle's files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (mask.astype(np.uint16) * 65535) if mask.any() else np.zeros(mask.shape, np.uint8)
    assert cv2.imwrite(str(path), data)


def make_kaggle_dir(
    root: Path,
    n_train: int = 6,
    n_test: int = 3,
    depths: str = "all",
    seed: int = 0,
    gray_images: bool = False,
) -> dict:
    """A small Kaggle-layout folder; returns the arrays written, keyed by id."""
    rng = np.random.default_rng(seed)
    train, test = {}, {}
    rows = ["id,rle_mask"]
    for i in range(n_train):
        tid = f"tr{i:04d}"
        image = rng.integers(0, 256, (101, 101), dtype=np.uint8)
        mask = np.zeros((101, 101), bool)
        if i % 2:
            mask[rng.integers(10, 60) :, : rng.integers(20, 101)] = True
        write_image(root / "train" / "images" / f"{tid}.png", image, rgb=not gray_images)
        write_mask(root / "train" / "masks" / f"{tid}.png", mask)
        rows.append(f"{tid},{rle.encode(mask)}")
        train[tid] = (image, mask)
    for i in range(n_test):
        tid = f"te{i:04d}"
        image = rng.integers(0, 256, (101, 101), dtype=np.uint8)
        if i == 0:
            image[:] = 117  # a blank tile
        write_image(root / "test" / "images" / f"{tid}.png", image)
        test[tid] = image
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    ids = list(train) + (list(test) if depths == "all" else [])
    z = {tid: 100 + 7 * k for k, tid in enumerate(ids)}
    (root / "depths.csv").write_text("id,z\n" + "".join(f"{k},{v}\n" for k, v in z.items()))
    return {"train": train, "test": test, "z": z}


@pytest.fixture
def kaggle_dir(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "kaggle"
    return root, make_kaggle_dir(root)


@pytest.fixture
def fake_mosaic(monkeypatch):
    """A stand-in for the mosaic rules recording its calls; it fills the first test tile."""
    calls = []

    def apply_mosaic_rules(layout, train_ids, train_masks, test_ids, test_masks, **kw):
        calls.append((layout, train_ids, train_masks, test_ids, test_masks.copy(), kw))
        out = test_masks.copy()
        out[0] = True
        return out, {"filled": 1}

    monkeypatch.setattr(postprocess, "apply_mosaic_rules", apply_mosaic_rules)
    return calls
