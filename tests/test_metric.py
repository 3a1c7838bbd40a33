import numpy as np
import pytest

from saltseg import metric


def mask_with(n_pixels: int) -> np.ndarray:
    m = np.zeros(101 * 101, bool)
    m[:n_pixels] = True
    return m.reshape(101, 101)


def test_both_empty_scores_one():
    e = np.zeros((101, 101), bool)
    assert metric.score(e, e) == 1.0


def test_truth_nonempty_prediction_empty_is_zero_even_at_high_coverage():
    # The popular histogram2d kernel returns the coverage here; the competition gives 0.
    truth = mask_with(9000)
    assert metric.score(truth, np.zeros_like(truth)) == 0.0


def test_prediction_nonempty_truth_empty_is_zero():
    assert metric.score(np.zeros((101, 101), bool), mask_with(1)) == 0.0


def test_iou_exactly_at_threshold_is_not_a_hit():
    truth = mask_with(100)
    pred = mask_with(50)  # IoU = 0.5 exactly: not > 0.5
    assert metric.score(truth, pred) == 0.0
    pred = mask_with(75)  # IoU = 0.75: hits 0.50..0.70 (5 of 10), 0.75 is not > 0.75
    assert metric.score(truth, pred) == pytest.approx(0.5)


def test_hand_computed_cases():
    truth = mask_with(100)
    assert metric.score(truth, truth) == 1.0
    assert metric.score(truth, mask_with(94)) == pytest.approx(0.9)  # IoU 0.94: 0.50..0.90
    assert metric.score(truth, mask_with(51)) == pytest.approx(0.1)  # IoU 0.51
    # batch mean: 1 + 0 + 0.5 over three images
    t = np.stack([truth, truth, truth])
    p = np.stack([truth, np.zeros_like(truth), mask_with(75)])
    assert metric.score(t, p) == pytest.approx(0.5)
    assert metric.image_scores(t, p).tolist() == pytest.approx([1.0, 0.0, 0.5])


def test_iou_above_all_thresholds_scores_one():
    assert metric.image_scores(mask_with(100), mask_with(96))[0] == 1.0  # 0.96 > 0.95


def test_scores_22000_masks():
    rng = np.random.default_rng(0)
    truth = rng.random((2000, 101, 101)) < 0.5
    scores = metric.image_scores(truth, truth)
    assert scores.shape == (2000,) and (scores == 1.0).all()
