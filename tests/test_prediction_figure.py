"""The predictions picture: which tiles it shows, and one row of panels per tile."""

import numpy as np

from saltseg.prediction_figure import pick_examples, predictions_figure


def masks_with_coverage(coverages):
    masks = np.zeros((len(coverages), 10, 10), bool)
    for k, c in enumerate(coverages):
        masks[k].flat[: round(100 * c)] = True
    return masks


def test_examples_span_empty_tiles_and_the_coverage_range():
    truth = masks_with_coverage([0.5, 0, 0.1, 0.9, 0, 0.3, 0, 1.0])
    picked = pick_examples(truth, 5, n_empty=2)
    assert picked.tolist() == [1, 6, 2, 0, 7]  # first and last empty; lowest, median, full
    assert pick_examples(truth, 20).tolist() == [1, 6, 2, 5, 0, 3, 7]  # n_empty=2, all salt
    assert pick_examples(masks_with_coverage([0, 0]), 3).tolist() == [0, 1]


def test_figure_has_three_panels_per_tile():
    truth = masks_with_coverage([0, 0.2, 0.6])
    probs = truth * 0.8 + 0.1
    images = np.zeros((3, 10, 10), np.uint8)
    fig = predictions_figure(images, truth, probs, np.array(["a", "b", "c"]), columns=2)
    axes = fig.get_axes()
    assert len(axes) == 12  # 2 rows x 2 tiles x 3 panels, the unused ones hidden
    titles = [ax.get_title() for ax in axes if ax.get_title()]
    assert titles[:3] == ["a", "truth, coverage 0.00", "p(salt); score 1.00 at 0.5"]
    assert sum(ax.axison for ax in axes) == 0
