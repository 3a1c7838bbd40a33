"""Amplitudes to grey: the training tiles' mean and spread, or a percentile stretch."""

import numpy as np
import pytest

from saltseg.section.grey import to_grey


def test_standardised_amplitudes_take_the_tiles_grey_mean_and_spread():
    a = np.random.default_rng(0).normal(3.0, 1000.0, (300, 400))
    grey = to_grey(a, mean=120.0, std=30.0)
    assert grey.dtype == np.uint8 and grey.shape == a.shape
    assert grey.mean() == pytest.approx(120.0, abs=0.5)
    assert grey.std() == pytest.approx(30.0, abs=0.5)
    # the mapping is monotonic: the order of amplitudes survives (up to rounding)
    order = np.argsort(a.ravel())
    assert (np.diff(grey.ravel()[order].astype(int)) >= 0).all()


def test_percentile_stretch_and_degenerate_sections():
    a = np.linspace(-1, 1, 10_001)
    grey = to_grey(a, clip_percentile=1.0)
    assert grey[:100].max() == 0 and grey[-100:].min() == 255  # the outer 1% clipped
    assert to_grey(np.zeros((5, 5)), mean=100.0).tolist() == [[100] * 5] * 5
    assert (to_grey(np.ones((5, 5)), clip_percentile=1.0) == 128).all()
    with pytest.raises(ValueError, match="clip_percentile"):
        to_grey(a, clip_percentile=50.0)
