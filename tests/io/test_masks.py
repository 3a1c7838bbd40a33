import numpy as np
import pytest

from saltseg.io.masks import load_masks, save_masks


def test_round_trip_including_an_empty_set(tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((3, 101, 101)) < 0.3
    save_masks(tmp_path / "m.npz", ["a", "b", "c"], masks)
    ids, back = load_masks(tmp_path / "m.npz")
    assert ids.tolist() == ["a", "b", "c"] and np.array_equal(back, masks)
    save_masks(tmp_path / "e.npz", [], np.zeros((0, 101, 101), bool))
    ids, back = load_masks(tmp_path / "e.npz")
    assert len(ids) == 0 and back.shape == (0, 101, 101)


def test_soft_masks_round_trip_in_steps_of_1_255(tmp_path):
    probs = np.random.default_rng(1).random((2, 101, 101)).astype(np.float32)
    save_masks(tmp_path / "s.npz", ["a", "b"], probs)
    ids, back = load_masks(tmp_path / "s.npz")
    assert ids.tolist() == ["a", "b"] and back.dtype == np.float32
    assert np.abs(back - probs).max() <= 0.5 / 255 + 1e-6
    assert back.min() >= 0.0 and back.max() <= 1.0


@pytest.mark.parametrize("value", [1.5, -0.1, np.nan])
def test_soft_masks_must_be_probabilities(tmp_path, value):
    probs = np.full((1, 4, 4), 0.5, np.float32)
    probs[0, 0, 0] = value
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        save_masks(tmp_path / "s.npz", ["a"], probs)
    assert not (tmp_path / "s.npz").exists()
