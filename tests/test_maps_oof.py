"""benchmarks/maps_oof.py --against: the baseline's maps paired with the variant's, tile by tile."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from saltseg.errors import SaltsegError

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "maps_oof.py"
spec = importlib.util.spec_from_file_location("maps_oof", SCRIPT)
maps_oof = importlib.util.module_from_spec(spec)
spec.loader.exec_module(maps_oof)


def write_fold(d: Path, ids: list[str], value: float) -> str:
    d.mkdir()
    probs = np.full((len(ids), 101, 101), value, dtype=np.float32)
    probs[:, 0, 0] = np.arange(len(ids)) / 10  # each tile's own mark
    np.savez(d / "m.npz", ids=np.array(ids), probs=probs)
    return str(d)


def test_the_baseline_is_put_in_the_variants_tile_order(tmp_path: Path) -> None:
    variant = [
        write_fold(tmp_path / "v0", ["a", "b"], 0.9),
        write_fold(tmp_path / "v1", ["c"], 0.9),
    ]
    base = [write_fold(tmp_path / "b0", ["b", "a"], 0.1), write_fold(tmp_path / "b1", ["c"], 0.1)]
    ids, _, folds = maps_oof.load_maps(variant, None)
    probs = maps_oof.baseline_maps(base, variant, None, ids, folds)
    assert ids.tolist() == ["a", "b", "c"]
    assert probs[:, 0, 0].tolist() == pytest.approx([0.1, 0.0, 0.0])  # a was b0's second tile


def test_folds_given_in_another_order_are_refused(tmp_path: Path) -> None:
    variant = [
        write_fold(tmp_path / "v0", ["a", "b"], 0.9),
        write_fold(tmp_path / "v1", ["c"], 0.9),
    ]
    base = [write_fold(tmp_path / "b1", ["c"], 0.1), write_fold(tmp_path / "b0", ["a", "b"], 0.1)]
    ids, _, folds = maps_oof.load_maps(variant, None)
    with pytest.raises(SaltsegError, match="3 tiles are in other folds"):
        maps_oof.baseline_maps(base, variant, None, ids, folds)


def test_a_baseline_of_other_tiles_is_refused(tmp_path: Path) -> None:
    variant = [write_fold(tmp_path / "v0", ["a", "b"], 0.9)]
    base = [write_fold(tmp_path / "b0", ["a", "x"], 0.1)]
    ids, _, folds = maps_oof.load_maps(variant, None)
    with pytest.raises(SaltsegError, match="1 of the variant's tiles not in the baseline"):
        maps_oof.baseline_maps(base, variant, None, ids, folds)
    with pytest.raises(SaltsegError, match="1 baseline folds for 2 folds"):
        maps_oof.baseline_maps(base, variant + variant, None, ids, folds)
