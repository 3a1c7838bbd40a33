import numpy as np
import pytest

from saltseg.errors import SaltsegError
from saltseg.io.probs import load_probs, save_probs


def test_saved_maps_come_back_quantized_with_their_ids(tmp_path) -> None:
    probs = np.array([[[0.0, 0.49], [0.51, 1.0]]], np.float32)
    save_probs(tmp_path / "p.npz", ["a"], probs)
    ids, back = load_probs(tmp_path / "p.npz")
    assert ids.tolist() == ["a"] and back.dtype == np.float32
    assert np.abs(back - probs).max() <= 0.5 / 255 + 1e-7
    assert (back > 0.5).tolist() == (probs > 0.5).tolist()


def test_unquantized_maps_load_as_they_are(tmp_path) -> None:
    # benchmarks/recipe_fold.py --save-maps keeps float maps in the same two arrays
    probs = np.array([[[0.1, 0.52], [0.7, 0.99]]], np.float64)
    np.savez(tmp_path / "m.npz", ids=np.array(["a"]), probs=probs)
    ids, back = load_probs(tmp_path / "m.npz")
    assert ids.tolist() == ["a"] and back.dtype == np.float32
    assert np.allclose(back, probs)


def test_a_file_without_maps_is_one_error_naming_it(tmp_path) -> None:
    np.savez(tmp_path / "x.npz", other=np.zeros(2))
    with pytest.raises(SaltsegError, match="x.npz: not a saltseg probability file"):
        load_probs(tmp_path / "x.npz")
