"""The mosaic rules down a section's columns: confident cells govern the others."""

import numpy as np

from saltseg.section.columns import apply_column_rules, cells


def test_a_confident_vertical_cell_continues_down_its_column():
    h, w = 3 * 101 + 20, 2 * 101 + 7  # partial cells at the edges stay as they are
    prob = np.full((h, w), 0.5, np.float32)  # unsure everywhere ...
    mask = np.zeros((h, w), bool)
    prob[:101, :101] = 0.05  # ... but the top-left cell: confident, salt in its left 30 columns
    prob[:101, :30] = 0.95
    mask[:101, :30] = True
    mask[150:170, 60:90] = True  # a blob in the unsure cell below
    out, counts = apply_column_rules(prob, mask)
    assert counts["vertical_down"] == 2  # the two unsure cells below the vertical one
    assert out[101:303, :30].all() and not out[101:303, 30:101].any()  # the blob is replaced
    assert (out[303:] == mask[303:]).all() and (out[:, 202:] == mask[:, 202:]).all()
    assert (out[:, 101:202] == mask[:, 101:202]).all()  # the other column had no governor
    assert mask[150, 60] and not mask[120, 10]  # the input is not modified


def test_cells_are_the_grid_in_row_major_order():
    image = np.arange(3 * 101 * 2 * 101).reshape(3 * 101, 2 * 101)
    grid = cells(image, 3, 2)
    assert grid.shape == (6, 101, 101)
    assert grid[3][0, 0] == image[101, 101] and grid[4][0, 0] == image[202, 0]
