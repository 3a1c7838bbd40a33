"""Tiles by texture kind, and placement beside the cut test per kind."""

import cv2
import numpy as np
import pandas as pd
import pytest

from saltseg.mosaic.coverage import coverage, fine_texture_share, texture_kinds

T = 101


def smooth_tile(seed: int) -> np.ndarray:
    coarse = np.random.default_rng(seed).normal(size=(6, 6))
    big = cv2.resize(coarse, (T, T), interpolation=cv2.INTER_CUBIC)
    return np.clip(128 + 40 * big, 0, 255).astype(np.uint8)


def rough_tile(seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(128, 40, size=(T, T))
    return np.clip(noise, 0, 255).astype(np.uint8)


def test_fine_texture_share_tells_smooth_from_rough_and_flat():
    tiles = np.stack([smooth_tile(0), rough_tile(1), np.full((T, T), 90, np.uint8)])
    share = fine_texture_share(tiles, chunk=2)  # chunks must not change anything
    assert share[0] < 0.01 and share[1] > 0.3  # white noise: about half its power is fine
    assert np.isnan(share[2])
    assert np.allclose(share[:2], fine_texture_share(tiles[:2]))
    assert texture_kinds(tiles).tolist() == ["smooth", "rough", "flat"]
    # brightness and contrast do not change the kind (each real tile was stretched on its own)
    assert texture_kinds(np.stack([smooth_tile(0) // 3 + 40])).tolist() == ["smooth"]
    assert texture_kinds(tiles, smooth_below=1.0).tolist() == ["smooth", "smooth", "flat"]
    assert texture_kinds(tiles, flat_std=100.0).tolist() == ["flat"] * 3
    # horizontal layers: no variation along the rows, so no fine texture across them either
    layers = np.repeat(np.linspace(0, 250, T).astype(np.uint8)[:, None], T, axis=1)
    assert np.isnan(fine_texture_share(layers[None]))[0]
    assert texture_kinds(layers[None]).tolist() == ["smooth"]
    assert texture_kinds(tiles[:0]).tolist() == []


def test_coverage_counts_placed_tiles_and_cut_recall_per_group():
    groups = np.array(["a", "a", "b", "b", "b", "c"])
    placed = np.array([True, False, False, False, True, False])
    cuts = pd.DataFrame(  # rows out of order: the table must follow "row", not position
        {
            "row": [5, 2, 0, 3, 1],
            "h_usable": [True, True, True, False, True],
            "h_linked": [True, True, True, False, False],
            "h_chance": [False] * 5,
            "v_usable": [False, True, True, True, True],
            "v_linked": [False, False, True, False, True],
            "v_chance": [False] * 5,
        }
    )
    table = coverage(groups, placed, cuts).set_index("group")
    assert table["tiles"].to_dict() == {"a": 2, "b": 3, "c": 1}
    assert table["placed"].to_dict() == {"a": 1, "b": 1, "c": 0}
    assert table.loc["b", "placed_share"] == pytest.approx(1 / 3)
    assert table.loc["a", "cut_h_recall"] == 0.5 and table.loc["a", "cut_v_recall"] == 1.0
    assert table.loc["b", "cut_h_recall"] == 1.0 and table.loc["b", "cut_h_cuts"] == 1
    assert table.loc["b", "cut_v_recall"] == 0.0 and table.loc["b", "cut_v_cuts"] == 2
    assert table.loc["c", "cut_h_recall"] == 1.0 and table.loc["c", "cut_h_cuts"] == 1
    assert np.isnan(table.loc["c", "cut_v_recall"]) and table.loc["c", "cut_v_cuts"] == 0
    with pytest.raises(ValueError, match="3 group labels for 6 tiles"):
        coverage(groups[:3], placed, cuts)
