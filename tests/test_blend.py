"""Blends: fold averages, OOF assembly, weighted blends, threshold search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saltseg import metric
from saltseg.blend import (
    assemble_oof,
    best_empty_below,
    best_threshold,
    normalise_weights,
    threshold_scores,
    weighted_mean,
)
from saltseg.errors import SaltsegError
from saltseg.postprocess import binarise

H = 4  # tiny maps keep the arithmetic readable


def const_maps(values) -> np.ndarray:
    return np.stack([np.full((H, H), v, dtype=np.float32) for v in values])


def labelled(preds):
    return [(f"fold {k}", ids, p) for k, (ids, p) in enumerate(preds)]


def fold_average(preds):
    return weighted_mean(labelled(preds), [1 / len(preds)] * len(preds))


def blend(preds, weights):
    return weighted_mean(labelled(preds), normalise_weights(weights))


def test_fold_average_aligns_ids_to_the_first() -> None:
    ids = np.array(["a", "b", "c"])
    first = (ids, const_maps([0.2, 0.4, 0.6]))
    second = (ids[::-1], const_maps([1.0, 0.8, 0.0]))  # c, b, a
    out_ids, out = fold_average([first, second])
    assert out_ids.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(out[:, 0, 0], [0.1, 0.6, 0.8], atol=1e-6)


def test_fold_average_rejects_different_id_sets() -> None:
    a = (np.array(["a", "b"]), const_maps([0, 0]))
    b = (np.array(["a", "x"]), const_maps([0, 0]))
    with pytest.raises(SaltsegError, match="fold 1: 1 id"):
        fold_average([a, b])


def test_assemble_oof_takes_each_id_from_its_own_fold() -> None:
    folds = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "fold": [1, 0, -1, 1, 0]})
    all_ids = np.array(["a", "b", "c", "d", "e"])
    # Fold k's model predicts value 10*k + position for every id, so the source is visible.
    preds = [(all_ids, const_maps([10 * k + i for i in range(5)]) / 100) for k in range(2)]
    ids, oof = assemble_oof(labelled(preds), folds)
    assert ids.tolist() == ["a", "b", "d", "e"]  # folds order, fold -1 left out
    np.testing.assert_allclose(oof[:, 0, 0] * 100, [10, 1, 13, 4], atol=1e-4)


def test_assemble_oof_needs_validation_ids_and_all_folds() -> None:
    folds = pd.DataFrame({"id": ["a", "b"], "fold": [0, 1]})
    only_a = (np.array(["a"]), const_maps([0.5]))
    with pytest.raises(SaltsegError, match="fold 1"):
        assemble_oof(labelled([only_a, only_a]), folds)
    with pytest.raises(SaltsegError, match="1 fold input"):
        assemble_oof(labelled([only_a]), folds)


def test_blend_normalises_weights() -> None:
    ids = np.array(["a", "b"])
    _, out = blend([(ids, const_maps([0.0, 1.0])), (ids, const_maps([1.0, 0.0]))], [3, 1])
    np.testing.assert_allclose(out[:, 0, 0], [0.25, 0.75], atol=1e-6)
    with pytest.raises(SaltsegError, match="weights"):
        blend([(ids, const_maps([0.0, 1.0]))], [0.0])
    with pytest.raises(SaltsegError, match="weights"):
        blend([(ids, const_maps([0.0, 1.0])), (ids, const_maps([0.0, 1.0]))], [1.0, -1.0])


def planted_problem(best: float, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Truth squares whose probabilities sit just above ``best``; background just below it.

    Every threshold below ``best - 0.005`` adds the background ring, every one above
    ``best + 0.005`` loses the square: ``best`` scores 1.0 and every other grid value less.
    """
    truth = np.zeros((n, 20, 20), dtype=bool)
    probs = np.zeros((n, 20, 20), dtype=np.float32)
    for i in range(n):
        if i % 3 == 0:
            continue  # empty images: no pixel above `best`
        truth[i, 5:15, 5:15] = True
        probs[i, 3:17, 3:17] = best - 0.004  # the ring around the square
        probs[i, 5:15, 5:15] = best + 0.004
    return truth, probs


def test_best_threshold_finds_the_planted_value() -> None:
    truth, probs = planted_problem(0.62)
    t, s = best_threshold(truth, probs)
    assert t == pytest.approx(0.62) and s == pytest.approx(1.0)
    grid = np.round(np.arange(0.30, 0.705, 0.01), 2)
    scores = threshold_scores(truth, probs, grid)
    assert scores[np.isclose(grid, 0.62)] == pytest.approx(1.0)
    assert (scores[~np.isclose(grid, 0.62)] < 1.0).all()
    assert scores[0] == pytest.approx(metric.score(truth, probs > 0.30))


def test_best_threshold_ties_prefer_one_half() -> None:
    truth, probs = planted_problem(0.62)
    grid = [0.30, 0.45, 0.55, 0.62, 0.70]
    assert best_threshold(truth, probs, grid)[0] == pytest.approx(0.62)
    flat = np.zeros_like(probs)  # all-empty prediction: every threshold scores the same
    assert best_threshold(truth, flat, grid)[0] == pytest.approx(0.45)


def test_threshold_scores_binarise_as_post_processing_does() -> None:
    # float32 maps at exactly a grid value (uint8 102 / 255 is 0.4): the tuned threshold must
    # score the masks that post-processing will make with it, not a float64 comparison's.
    truth = np.zeros((2, H, H), dtype=bool)
    truth[0] = True
    probs = np.where(truth, np.float32(0.4), np.float32(0.05)).astype(np.float32)
    grid = np.round(np.arange(0.30, 0.705, 0.01), 2)
    scores = threshold_scores(truth, probs, grid)
    at = np.isclose(grid, 0.40)
    assert scores[at] == pytest.approx(metric.score(truth, binarise(probs, float(grid[at][0]))))
    assert scores[at] == pytest.approx(0.5)  # 0.4 is not above 0.4
    t, s = best_threshold(truth, probs, grid)
    assert (t, s) == (pytest.approx(0.39), pytest.approx(1.0))
    assert best_empty_below(truth, probs, t) == (None, pytest.approx(1.0))


def test_best_empty_below_empties_the_tiles_without_a_confident_pixel() -> None:
    truth = np.zeros((4, H, H), dtype=bool)
    truth[2:, :2] = True  # tiles 2 and 3 have salt
    probs = np.zeros((4, H, H), dtype=np.float32)
    probs[0, 0, 0] = 0.6  # a weak speck on an empty tile
    probs[1, :2] = 0.75  # a weaker false body
    probs[2, :2] = 0.9  # confident salt
    probs[3, :2] = 0.8
    level, score = best_empty_below(truth, probs, 0.5)
    # 0.8 empties tiles 0 and 1 and keeps 2 and 3; the lowest level that does it wins.
    assert level == pytest.approx(0.8) and score == pytest.approx(1.0)
    assert best_empty_below(truth, probs, 0.5, levels=[0.65, 0.7])[1] == pytest.approx(0.75)
    # No level beats the plain threshold: no rule (and its score is the plain one).
    probs[:2] = 0.0
    level, score = best_empty_below(truth, probs, 0.5)
    assert level is None and score == pytest.approx(metric.score(truth, probs > 0.5))
    # Levels at or under the threshold change nothing and are not tried.
    assert best_empty_below(truth, probs, 0.85, levels=[0.6, 0.85])[0] is None
