"""Pseudo-label selection: confidence arithmetic, blank tiles, thresholds, modes."""

from __future__ import annotations

import numpy as np
import pytest

from saltseg.errors import SaltsegError
from saltseg.io.masks import load_masks, save_masks
from saltseg.pseudo import PseudoConfig, confidence, select_pseudo


def maps_with_unsure(n_unsure: list[int], size: int = 10) -> np.ndarray:
    """Maps of ``size`` x ``size`` with the first ``k`` pixels at 0.5 (unsure), salt on the left."""
    probs = np.zeros((len(n_unsure), size, size), dtype=np.float32)
    probs[:, :, : size // 2] = 0.95
    for i, k in enumerate(n_unsure):
        probs[i].reshape(-1)[:k] = 0.5
    return probs


def test_confidence_counts_pixels_outside_the_unsure_band() -> None:
    p = np.array([[[0.1, 0.2, 0.5, 0.8], [0.81, 0.19, 0.9, 0.0]]], dtype=np.float32)
    # confident: 0.1, 0.81, 0.19, 0.9, 0.0 (0.2 and 0.8 themselves are not) -> 5 of 8
    assert confidence(p, 0.2, 0.8)[0] == pytest.approx(5 / 8)
    assert confidence(p, 0.3, 0.7)[0] == pytest.approx(7 / 8)


def test_selection_thresholds_and_blank() -> None:
    ids = np.array(["a", "b", "c", "d"])
    probs = maps_with_unsure([0, 5, 10, 20])  # confidence 1.0, 0.95, 0.9, 0.8
    blank = np.array([True, False, False, False])
    kept, masks, counts = select_pseudo(ids, probs, blank, PseudoConfig(min_confidence=0.9))
    assert kept.tolist() == ["b", "c"]  # a is blank, d is unsure
    np.testing.assert_array_equal(masks, probs[1:3] > 0.5)
    assert masks.dtype == bool
    assert counts["total"] == 4 and counts["blank"] == 1
    assert counts["confident"] == 2 and counts["kept"] == 2
    assert counts["mean_confidence"] == pytest.approx(0.925)
    assert counts["empty_fraction"] == 0.0

    kept, _, _ = select_pseudo(ids, probs, blank, PseudoConfig(min_confidence=0.95))
    assert kept.tolist() == ["b"]


def test_all_mode_keeps_every_non_blank_image() -> None:
    ids = np.array(["a", "b", "c", "d"])
    probs = maps_with_unsure([0, 5, 10, 60])
    blank = np.array([False, False, True, False])
    kept, masks, counts = select_pseudo(ids, probs, blank, PseudoConfig(all=True))
    assert kept.tolist() == ["a", "b", "d"]
    assert counts["confident"] == 2 and counts["kept"] == 3
    assert len(masks) == 3


def test_max_images_keeps_a_seeded_subset_with_the_confident_mix() -> None:
    # 40 confident empty maps and 20 confident salt maps: a cap of 30 keeps about the same mix,
    # not the 30 most confident (the empty maps, all of whose pixels are sure).
    ids = np.array([f"t{i:02d}" for i in range(60)])
    probs = np.zeros((60, 10, 10), dtype=np.float32)
    probs[40:, :5] = 0.9
    probs[40:, 5, :5] = 0.5  # 5 unsure pixels of 100: confidence 0.95 < 1.0
    cfg = PseudoConfig(max_images=30)
    kept, masks, counts = select_pseudo(ids, probs, np.zeros(60, bool), cfg)
    assert len(kept) == 30 and counts["kept"] == 30 and counts["confident"] == 60
    assert kept.tolist() == sorted(kept.tolist())  # input order
    salt = int(masks.reshape(30, -1).any(axis=1).sum())
    assert 5 <= salt <= 15
    again, _, _ = select_pseudo(ids, probs, np.zeros(60, bool), cfg)
    assert again.tolist() == kept.tolist()
    other, _, _ = select_pseudo(ids, probs, np.zeros(60, bool), PseudoConfig(max_images=30, seed=1))
    assert other.tolist() != kept.tolist()


def test_empty_fraction_and_nothing_kept() -> None:
    probs = np.zeros((3, 6, 6), dtype=np.float32)
    probs[0, :2] = 0.9
    _, _, counts = select_pseudo(np.array(["a", "b", "c"]), probs, np.zeros(3, bool))
    assert counts["empty_fraction"] == pytest.approx(2 / 3)
    _, masks, counts = select_pseudo(np.array(["a"]), probs[:1], np.ones(1, bool))
    assert counts["kept"] == 0 and masks.shape == (0, 6, 6)
    assert counts["mean_confidence"] is None


def test_config_validation() -> None:
    with pytest.raises(SaltsegError, match="low <= 0.5 <= high"):
        PseudoConfig.parse({"low": 0.6, "high": 0.8})
    with pytest.raises(SaltsegError, match="min_confidence"):
        PseudoConfig.parse({"min_confidence": 1.5})
    with pytest.raises(SaltsegError, match="max_images"):
        PseudoConfig.parse({"max_images": 0})


def test_mask_set_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    masks = rng.random((5, 101, 101)) < 0.3
    save_masks(tmp_path / "m.npz", ["a", "b", "c", "d", "e"], masks)
    ids, back = load_masks(tmp_path / "m.npz")
    assert ids.tolist() == ["a", "b", "c", "d", "e"]
    np.testing.assert_array_equal(back, masks)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(SaltsegError, match="bad.npz"):
        load_masks(tmp_path / "bad.npz")


def test_soft_pseudo_labels_keep_the_probabilities_of_the_same_tiles():
    ids = np.array(["a", "b", "c", "d"])
    probs = maps_with_unsure([0, 5, 10, 20])
    blank = np.array([True, False, False, False])
    hard_ids, hard, hard_counts = select_pseudo(ids, probs, blank, PseudoConfig())
    kept, soft, counts = select_pseudo(ids, probs, blank, PseudoConfig(soft=True))
    assert kept.tolist() == hard_ids.tolist() == ["b", "c"]
    assert soft.dtype == np.float32 and np.array_equal(soft, probs[1:3])
    assert np.array_equal(soft > 0.5, hard)
    # The counts judge emptiness by p > 0.5 either way: a faint map is an empty tile.
    faint = np.full((1, 10, 10), 0.05, np.float32)
    _, _, faint_counts = select_pseudo(["e"], faint, np.array([False]), PseudoConfig(soft=True))
    assert faint_counts["empty_fraction"] == 1.0 and faint_counts["soft"] is True
    assert {k: v for k, v in counts.items() if k != "soft"} == {
        k: v for k, v in hard_counts.items() if k != "soft"
    }
