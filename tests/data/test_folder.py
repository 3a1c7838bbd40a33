"""Tiles to predict from any folder: PNGs (8/16-bit, Kaggle layout or plain) or an .npy stack."""

import cv2
import numpy as np
import pytest

from saltseg.data.folder import read_tile_folder
from saltseg.errors import SaltsegError


def test_png_folders_and_npy_stacks(tmp_path):
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (3, 101, 101), dtype=np.uint8)
    plain = tmp_path / "plain"
    plain.mkdir()
    for i, t in enumerate(tiles):
        cv2.imwrite(str(plain / f"t{i}.png"), t)
    cv2.imwrite(str(plain / "t2.png"), tiles[2].astype(np.uint16) * 257)  # 16-bit
    ids, images = read_tile_folder(plain)
    assert ids.tolist() == ["t0", "t1", "t2"]
    np.testing.assert_array_equal(images, tiles)
    kaggle = tmp_path / "kaggle" / "test" / "images"
    kaggle.parent.mkdir(parents=True)
    plain.rename(kaggle)
    assert read_tile_folder(tmp_path / "kaggle")[0].tolist() == ["t0", "t1", "t2"]
    np.save(tmp_path / "s.npy", tiles)
    ids, images = read_tile_folder(tmp_path / "s.npy")
    assert ids.tolist() == ["0", "1", "2"] and np.array_equal(images, tiles)


def test_tiles_of_another_size_point_to_predict_section(tmp_path):
    (tmp_path / "f").mkdir()
    cv2.imwrite(str(tmp_path / "f" / "big.png"), np.zeros((300, 500), np.uint8))
    with pytest.raises(SaltsegError, match="big.png: expected 101x101 pixels, got 300x500; for a "
                       "whole section use saltseg predict-section"):  # fmt: skip
        read_tile_folder(tmp_path / "f")
    np.save(tmp_path / "s.npy", np.zeros((300, 500), np.uint8))
    with pytest.raises(SaltsegError, match=r"got \(1, 300, 500\); for a whole section"):
        read_tile_folder(tmp_path / "s.npy")
    with pytest.raises(SaltsegError, match="no such folder"):
        read_tile_folder(tmp_path / "missing")
