"""Sliding-window prediction: blending, border coverage, sizes that the stride does not divide."""

import numpy as np
import pytest

from saltseg.section.window import overlap_for, predict_section, window_starts


def run(shape, predictor, stride=50, seed=0):
    grey = np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)
    depth = np.arange(shape[0], dtype=np.float32) * 2 + 100
    return grey, predict_section(grey, depth, predictor, stride=stride, progress=False)


@pytest.mark.parametrize("shape", [(101, 101), (250, 333), (404, 150)])
def test_a_constant_model_gives_a_constant_section(shape):
    calls = []

    def constant(images, z):
        calls.append(len(images))
        return np.full(images.shape, 0.7, np.float32)

    grey, prob = run(shape, constant)
    assert prob.shape == shape and prob.dtype == np.float32
    np.testing.assert_allclose(prob, 0.7, atol=1e-5)
    # one prediction per window, as the windows are laid out
    assert sum(calls) == len(window_starts(shape[0], 50)) * len(window_starts(shape[1], 50))


@pytest.mark.parametrize("stride", [50, 37, 101])
def test_every_pixel_is_covered_and_put_back_in_place(stride):
    # A model that returns its input: the blend must give back the section exactly, borders
    # included, for any stride (333 and 250 are not multiples of these strides).
    grey, prob = run((250, 333), lambda im, z: im.astype(np.float32) / 255, stride=stride)
    np.testing.assert_allclose(prob, grey / 255, atol=1e-5)


def test_each_window_is_predicted_at_its_own_depth():
    def depth_of_window(images, z):
        return np.broadcast_to(z[:, None, None], images.shape).astype(np.float32)

    _, prob = run((302, 120), depth_of_window)
    tops = window_starts(302, 50)
    centres = 100 + 2 * (np.array(tops) + 50)  # depth of each window's centre row
    # every pixel's value is a blend of the centre depths of the windows covering it
    assert prob.min() >= centres.min() - 1e-3 and prob.max() <= centres.max() + 1e-3
    assert prob[0, 0] == pytest.approx(centres[0], abs=1e-3)
    assert prob[-1, 0] == pytest.approx(centres[-1], abs=1e-3)


def test_window_layout_and_its_limits():
    assert window_starts(101, 50) == [0]
    assert window_starts(250, 50) == [0, 50, 100, 149]  # the last one flush with the end
    assert all(int(101 * (1 - overlap_for(s))) == s for s in range(1, 102))
    with pytest.raises(ValueError, match="stride must be in 1..101"):
        overlap_for(0)
    with pytest.raises(ValueError, match="at least 101x101"):
        run((100, 300), lambda im, z: im.astype(np.float32))
