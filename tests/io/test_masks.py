import numpy as np

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
