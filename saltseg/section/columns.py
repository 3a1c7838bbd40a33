"""The 1st-place mosaic rules along a section's columns.

A section is a mosaic whose cells are known: its 101x101 grid from the top-left corner (partial
cells at the right and bottom edges are left alone). In the competition, train tiles with known
masks govern the test tiles below them; in a section nothing is known, so the confidently
predicted cells take the train tiles' part (confidence as for pseudo labels: the share of pixels
with p < 0.2 or p > 0.8 at least 0.9) and :func:`saltseg.mosaic.rules.apply_mosaic_rules` changes
the other cells: below a vertical or half-vertical cell, its last row continues down the column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saltseg.data.tileset import TILE
from saltseg.mosaic.rules import apply_mosaic_rules
from saltseg.pseudo import PseudoConfig, confidence


def cells(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(rows * cols, 101, 101) grid cells of ``image`` in row-major order."""
    top = image[: rows * TILE, : cols * TILE]
    return top.reshape(rows, TILE, cols, TILE).swapaxes(1, 2).reshape(-1, TILE, TILE)


def apply_column_rules(
    prob: np.ndarray, mask: np.ndarray, pseudo: PseudoConfig | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """(the section mask with the rules applied, cells changed per rule) of a section's
    probability and mask (H, W); ``mask`` is not modified."""
    cfg = pseudo or PseudoConfig()
    rows, cols = mask.shape[0] // TILE, mask.shape[1] // TILE
    out = np.array(mask, dtype=bool, copy=True)
    grid = cells(out, rows, cols)
    sure = confidence(cells(prob, rows, cols), cfg.low, cfg.high) >= cfg.min_confidence
    r, c = np.divmod(np.arange(rows * cols), cols)
    ids = np.array([f"{i}_{j}" for i, j in zip(r, c, strict=True)])
    layout = pd.DataFrame({"id": ids, "mosaic": 0, "row": r, "col": c})
    changed, counts = apply_mosaic_rules(layout, ids[sure], grid[sure], ids[~sure], grid[~sure])
    grid[~sure] = changed
    out[: rows * TILE, : cols * TILE] = (
        grid.reshape(rows, cols, TILE, TILE).swapaxes(1, 2).reshape(rows * TILE, cols * TILE)
    )
    return out, counts
