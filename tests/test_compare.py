"""Paired fold-by-fold comparison of two sets of OOF maps."""

from __future__ import annotations

import numpy as np
import pytest

from saltseg.compare import paired_fold_differences, tuned_image_scores
from saltseg.errors import SaltsegError

H = 4


def tiles(n_folds: int = 3, per_fold: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Masks (every other tile all salt, the rest empty) and their fold labels."""
    n = n_folds * per_fold
    truth = np.zeros((n, H, H), dtype=bool)
    truth[::2] = True
    return truth, np.repeat(np.arange(n_folds), per_fold)


def confident(truth: np.ndarray) -> np.ndarray:
    return np.where(truth, 0.95, 0.05).astype(np.float32)


def test_a_miss_in_one_fold_shows_in_that_fold_only() -> None:
    truth, folds = tiles()
    baseline = confident(truth)
    variant = baseline.copy()
    variant[4] = 0.05  # fold 1's first tile, all salt, predicted empty: scores 0
    table = paired_fold_differences(truth, baseline, variant, folds)
    assert list(table["fold"]) == ["0", "1", "2", "all"]
    assert table["diff_05"].iloc[:3].tolist() == pytest.approx([0.0, -0.25, 0.0])
    total = table.iloc[-1]
    assert total["baseline_05"] == pytest.approx(1.0)
    assert total["diff_05"] == pytest.approx(-1 / 12)
    assert total["se_05"] == pytest.approx(np.std([0, -0.25, 0], ddof=1) / np.sqrt(3))
    assert total["ahead_05"] == 0
    # the lost tile is all salt with no confident pixel, so no tuning wins it back
    assert total["diff_tuned"] == pytest.approx(-1 / 12)


def test_the_same_maps_differ_by_nothing() -> None:
    truth, folds = tiles()
    maps = confident(truth)
    total = paired_fold_differences(truth, maps, maps, folds).iloc[-1]
    assert (total["diff_05"], total["se_05"], total["ahead_05"]) == (0.0, 0.0, 0)


def test_tuned_scores_use_the_best_threshold_on_all_maps() -> None:
    truth, _ = tiles()
    shy = np.where(truth, 0.4, 0.05).astype(np.float32)  # all salt under 0.5
    assert (shy > 0.5).sum() == 0
    assert tuned_image_scores(truth, shy).mean() == pytest.approx(1.0)


def test_maps_of_other_lengths_are_refused() -> None:
    truth, folds = tiles()
    maps = confident(truth)
    with pytest.raises(SaltsegError, match="12 masks, 12 and 11 maps"):
        paired_fold_differences(truth, maps, maps[:11], folds)
